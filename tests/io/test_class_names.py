"""A classifier's class names in the session's training section: given by the data (digits 0…9, the
patterns' names, an image folder's sub-folders) or stored in the file, kept through a save, checked on
load against the pipeline's last level."""

import json

import numpy as np
import pytest
from test_train_codegen import CASES, session_file

from cnnviz.core.training import PATTERNS
from cnnviz.io import SessionError, load_session, save_session
from cnnviz.io.training_sets import TrainingSettings, class_names_for


def test_the_data_names_its_classes(tmp_path):
    assert class_names_for({"source": "digits"}) == tuple("0123456789")
    assert class_names_for({"source": "patterns"}) == PATTERNS
    assert class_names_for({"source": "teacher"}) == ()
    for name in ("cat", "bird", "ant"):
        (tmp_path / "pets" / name).mkdir(parents=True)
    assert class_names_for({"source": "image_folder", "folder": str(tmp_path / "pets")}) == ("ant", "bird", "cat")
    # a folder that is gone names nothing: the file's own names are then used
    assert class_names_for({"source": "image_folder", "folder": str(tmp_path / "gone")}) == ()


def test_class_names_round_trip_through_the_file(tmp_path):
    path = session_file(tmp_path, "patterns_sgd_mse")
    data = json.loads(path.read_text())
    data["training"]["class_names"] = ["bars |", "bars —", "╲", "╱", "+"]
    path.write_text(json.dumps(data))
    session = load_session(path)
    assert session.training["class_names"] == ["bars |", "bars —", "╲", "╱", "+"]
    again = tmp_path / "again.cnnviz.json"
    save_session(session, again)
    assert load_session(again).training["class_names"] == ["bars |", "bars —", "╲", "╱", "+"]
    settings = TrainingSettings.from_section(session.training)
    assert settings.class_names == ("bars |", "bars —", "╲", "╱", "+")
    assert settings.to_section()["class_names"] == ["bars |", "bars —", "╲", "╱", "+"]
    assert "class_names" not in TrainingSettings(data="teacher").to_section()


@pytest.mark.parametrize("names, message", [
    (["a", "b"], "training.class_names: 2 names for the pipeline's 5 outputs"),
    ("abcde", "training.class_names: expected a list of names, got"),
    (["a", "b", "", "d", "e"], "training.class_names[2]: expected a name (text that is not empty), got \"\""),
    (["a", "b", 3, "d", "e"], "training.class_names[2]: expected a name (text that is not empty), got 3"),
    (["a", "b", "a", "d", "e"], "training.class_names: 'a' is named twice"),
])
def test_bad_class_names_are_refused_by_place(tmp_path, names, message):
    path = session_file(tmp_path, "patterns_sgd_mse")
    data = json.loads(path.read_text())
    data["training"]["class_names"] = names
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as e:
        load_session(path)
    assert message in str(e.value)


def test_class_names_need_a_vector_at_the_end(tmp_path):
    from cnnviz.core import Pipeline
    from cnnviz.core.layers import Conv2D
    from cnnviz.io import Session, session_to_dict

    pipeline = Pipeline((6, 6, 1), [Conv2D(1, 3)])
    pipeline.build()
    data = session_to_dict(Session(np.zeros((6, 6, 1), np.float32), pipeline))
    data["training"] = {**CASES["patterns_sgd_mse"][1], "class_names": ["a", "b"]}
    path = tmp_path / "map.cnnviz.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError, match="training.class_names: the pipeline ends in a 4×4×1 map, not in classes"):
        load_session(path)
