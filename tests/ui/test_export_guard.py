"""An export never writes over the open session file, whatever name leads to it."""

import os

import pytest
from test_file_actions import window  # noqa: F401  (the window fixture)

from cnnviz.io import load_session

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "resources")


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Relative names in the save dialog ("s.cnnviz.json", "./s.cnnviz.json") are the session's folder's."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("export", ["code", "keras", "figure"])
@pytest.mark.parametrize("alias", ["same", "dot", "absolute", "symlink"])
def test_an_export_over_the_open_session_is_refused_and_the_file_stays(window, tmp_path, export, alias):
    session = tmp_path / "s.cnnviz.json"
    session.write_bytes(open(os.path.join(RESOURCES, "lecture.cnnviz.json"), "rb").read())
    os.symlink("s.cnnviz.json", tmp_path / "link.py")
    fa = window.file_actions
    assert fa.open(str(session))
    before = session.read_bytes()
    fa.dialogs.paths = [{"same": "s.cnnviz.json", "dot": "./s.cnnviz.json", "absolute": str(session),
                         "symlink": "link.py"}[alias]]
    done = {"code": lambda: fa.export_code("pytorch"), "keras": fa.export_keras,
            "figure": lambda: fa.export_figure("pipeline")}[export]()
    assert not done
    assert fa.dialogs.errors[-1].endswith("is the open session: exporting there would replace it, so choose "
                                          "another name")
    assert session.read_bytes() == before and load_session(session).input.shape == (6, 6, 1)


def test_an_export_beside_the_session_is_written(window, tmp_path):
    session = tmp_path / "s.cnnviz.json"
    session.write_bytes(open(os.path.join(RESOURCES, "lecture.cnnviz.json"), "rb").read())
    fa = window.file_actions
    assert fa.open(str(session))
    fa.dialogs.paths = ["model.py"]
    assert fa.export_code("keras") and (tmp_path / "model.py").read_text().startswith('"""')
