"""The `cnnviz` command in subprocesses: version, help, headless render and code export, one-line errors,
and the real GUI entry point started offscreen and closed again."""

import ast
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import cnnviz

RESOURCES = Path(__file__).parent.parent / "resources"
LECTURE = str(RESOURCES / "lecture.cnnviz.json")
SCRIPT = Path(sys.executable).parent / "cnnviz"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cnnviz.cli"]


def run(args, tmp_path, display=False, timeout=120, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    environment.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
                       CNNVIZ_RECOVERY_DIR=str(tmp_path / "recovery"), **env)
    if display:
        environment["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(COMMAND + args, capture_output=True, text=True, timeout=timeout, env=environment,
                          cwd=tmp_path)


def test_version_and_help(tmp_path):
    out = run(["--version"], tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == f"cnnviz {cnnviz.__version__}"
    out = run(["--help"], tmp_path)
    assert out.returncode == 0
    for text in ("SESSION", "cnnviz render SESSION -o figure.png|svg|pdf", "cnnviz export-code SESSION",
                 "--quit-after-start", "for testing"):
        assert text in out.stdout
    out = run(["render", "--help"], tmp_path)
    assert out.returncode == 0 and "--layer" in out.stdout and "--scale" in out.stdout


def test_render_png_svg_pdf_without_a_display(tmp_path, qapp):
    from cnnviz.io import load_session
    from cnnviz.ui.figure import session_figure

    size = session_figure(load_session(LECTURE)).size
    out = run(["render", LECTURE, "-o", "fig.png", "--scale", "2"], tmp_path)
    assert out.returncode == 0, out.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "fig.png"))
    assert (image.width(), image.height()) == (size.width() * 2, size.height() * 2)

    assert run(["render", LECTURE, "-o", "fig.svg"], tmp_path).returncode == 0
    root = ET.parse(tmp_path / "fig.svg").getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Conv2D #1 → 4×4×2" in texts and "−2" in texts

    assert run(["render", LECTURE, "-o", "fig.pdf"], tmp_path).returncode == 0
    data = (tmp_path / "fig.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and re.search(rb"/MediaBox\s*\[\s*0\s+0\s+%d(\.0+)?\s+%d(\.0+)?\s*\]" % (
        int(size.width()), int(size.height())), data)


def test_render_one_layer(tmp_path):
    out = run(["render", str(RESOURCES / "same-padding-stride2.cnnviz.json"), "-o", "l1.svg", "--layer", "1"], tmp_path)
    assert out.returncode == 0, out.stderr
    texts = [t.text for t in ET.parse(tmp_path / "l1.svg").getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "Filters" in texts and "66" in texts and "62" in texts


@pytest.mark.parametrize("framework", ["keras", "pytorch"])
def test_export_code(tmp_path, framework):
    out = run(["export-code", LECTURE, "--framework", framework, "-o", "model.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    tree = ast.parse((tmp_path / "model.py").read_text())
    assert "build_model" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def bad_session(tmp_path):
    data = json.loads(Path(LECTURE).read_text())
    data["layers"][1]["config"]["strides"] = [0, 1]
    (tmp_path / "bad.cnnviz.json").write_text(json.dumps(data))
    return "bad.cnnviz.json"


BAD = [
    (["render", "missing.cnnviz.json", "-o", "x.png"], "cnnviz: error: missing.cnnviz.json: no such file"),
    (["render", "BAD", "-o", "x.png"],
     "cnnviz: error: bad.cnnviz.json: layers[1].config.strides: expected two positive integers, got [0, 1]"),
    (["BAD"], "cnnviz: error: bad.cnnviz.json: layers[1].config.strides: expected two positive integers, got [0, 1]"),
    (["render", LECTURE, "-o", "x.gif"], "cnnviz: error: x.gif: cannot tell the figure format: use a .png, .svg "
                                         "or .pdf name"),
    (["render", LECTURE, "-o", "x.png", "--layer", "7"], "cnnviz: error: --layer 7: lecture.cnnviz.json has layers 1 to 3"),
    (["render", LECTURE, "-o", "x.png", "--scale", "0"], "cnnviz: error: --scale must be between 0.1 and 16, got 0"),
    (["render", LECTURE, "-o", "x.svg", "--scale", "2"],
     "cnnviz: error: --scale is for PNG only: x.svg is a vector figure, sharp at any size"),
    (["render", LECTURE, "-o", "x.png", "--layer", "two"], "cnnviz: error: argument --layer: invalid int value: 'two'"),
    (["render", LECTURE], "cnnviz: error: the following arguments are required: -o/--output"),
    (["export-code", LECTURE, "--framework", "jax", "-o", "m.py"],
     "cnnviz: error: argument --framework: invalid choice: 'jax' (choose from keras, pytorch)"),
    (["--frobnicate"], "cnnviz: error: unrecognized arguments: --frobnicate"),
    (["render", LECTURE, "-o", "no/such/folder/x.png"], None),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a)[:40] for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    args = [bad_session(tmp_path) if a == "BAD" else a for a in args]
    out = run(args, tmp_path, display=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    if message is None:  # the folder is what is missing, and the line says so
        assert lines[0] == "cnnviz: error: x.png: cannot save: there is no folder no/such/folder"
    else:
        assert lines[0].replace("'keras', 'pytorch'", "keras, pytorch") == message


@pytest.mark.parametrize("command", [["export-code", "s.cnnviz.json", "--framework", "pytorch"],
                                     ["render", "s.cnnviz.json"]], ids=["export-code", "render"])
@pytest.mark.parametrize("output", ["s.cnnviz.json", "./s.cnnviz.json", "ABSOLUTE", "link.json", "sub/../s.cnnviz.json"])
def test_no_command_writes_over_its_own_input(tmp_path, command, output):
    session = tmp_path / "s.cnnviz.json"
    session.write_bytes(Path(LECTURE).read_bytes())
    os.symlink("s.cnnviz.json", tmp_path / "link.json")
    (tmp_path / "sub").mkdir()
    output = str(session) if output == "ABSOLUTE" else output
    out = run(command + ["-o", output], tmp_path, display=True)
    assert out.returncode == 2 and out.stderr.splitlines() == [
        f"cnnviz: error: -o {output} is the session being read (s.cnnviz.json): writing it would replace the "
        "input, so choose another name"]
    assert session.read_bytes() == Path(LECTURE).read_bytes()


NAMES = [
    (["."], "cnnviz: error: .: is a folder, not a session file"),
    ([""], "cnnviz: error: SESSION is an empty name (''): give a file name"),
    (["render", "", "-o", "x.png"], "cnnviz: error: SESSION is an empty name (''): give a file name"),
    (["render", LECTURE, "-o", ""], "cnnviz: error: -o is an empty name (''): give a file name"),
    (["export-code", LECTURE, "--framework", "keras", "-o", ""],
     "cnnviz: error: -o is an empty name (''): give a file name"),
    (["render", LECTURE, "-o", "."], "cnnviz: error: -o . is a folder: give a file name"),
    (["render", ".", "-o", "x.png"], "cnnviz: error: .: is a folder, not a session file"),
]


@pytest.mark.parametrize("args,message", NAMES, ids=[repr(a) for a, _ in NAMES])
def test_a_folder_or_an_empty_name_is_named_as_given(tmp_path, args, message):
    out = run(args, tmp_path, display=True)
    assert out.returncode == 2 and out.stderr.splitlines() == [message]


def test_gui_without_a_display_says_so(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs DISPLAY")
    out = run([], tmp_path)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "cnnviz: error: no display to open the window on (set DISPLAY, or use `cnnviz render` headless)"]


def test_gui_entry_point_starts_and_quits(tmp_path):
    out = run(["--quit-after-start"], tmp_path, display=True)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "Error" not in out.stderr


def test_gui_opens_a_session_file(tmp_path):
    out = run([str(RESOURCES / "rgb-edges.cnnviz.json"), "--quit-after-start"], tmp_path, display=True)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


def test_io_and_the_command_line_do_not_import_qt(tmp_path):
    code = ("import sys, cnnviz.core, cnnviz.io, cnnviz.cli\n"
            "from cnnviz.cli import main\n"
            "main(['export-code', sys.argv[1], '--framework', 'pytorch', '-o', sys.argv[2]])\n"
            "assert 'PySide6' not in sys.modules and 'pyqtgraph' not in sys.modules, 'Qt imported'\n")
    out = subprocess.run([sys.executable, "-c", code, LECTURE, str(tmp_path / "m.py")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


# ---- cnnviz summary ---------------------------------------------------------------------------------


def test_summary_prints_the_lecture_model_as_keras_does_and_loads_no_qt(tmp_path):
    out = run(["summary", LECTURE], tmp_path)
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0] == 'Model: "lecture"'
    assert any(line.startswith("│ conv2d (Conv2D) ") and "│ (None, 4, 4, 2) " in line for line in lines)
    assert " Total params: 20 (80.00 B)" in lines and " Non-trainable params: 0 (0.00 B)" in lines
    probe = subprocess.run([sys.executable, "-c", "import sys; from cnnviz.cli import main; main(['summary', "
                            f"{LECTURE!r}]); print('PySide6' in sys.modules)"], capture_output=True, text=True)
    assert probe.stdout.splitlines()[-1] == "False"


def test_summary_of_a_bad_file_is_one_line(tmp_path):
    (tmp_path / "bad.cnnviz.json").write_text("{}")
    out = run(["summary", "bad.cnnviz.json"], tmp_path)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith("cnnviz: error: bad.cnnviz.json:")
