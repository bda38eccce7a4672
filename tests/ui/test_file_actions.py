"""The File menu driven through a real MainWindow: title marker, save/open, refused files, closing prompt,
recovery after a crash, image import with preview, Keras config, code and figure export, drag and drop."""

import ast
import json
import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from cnnviz.core import Conv2D, Pipeline, seed_input
from cnnviz.io import load_image, load_session
from cnnviz.ui import settings
from cnnviz.ui.file_dialogs import ImageImportDialog

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "resources")


class FakeDialogs:
    """Scripted answers; records what was asked."""

    def __init__(self):
        self.paths = []  # answers for open_path / save_path, in order
        self.changes = "cancel"
        self.recover_answer = True
        self.image = ((6, 6), "grey")
        self.scale = 2.0
        self.errors = []
        self.asked = []
        self.fit = "resize"
        self.channels_answer = "spread"

    def open_path(self, title, filters):
        self.asked.append(title)
        return self.paths.pop(0) if self.paths else None

    def save_path(self, title, filters, suggested=""):
        return self.open_path(title, filters)

    def save_changes(self, name):
        self.asked.append(f"save changes to {name}?")
        return self.changes

    def recover(self, when):
        self.asked.append("recover?")
        return self.recover_answer

    def error(self, title, message):
        self.errors.append(message)

    def png_scale(self):
        return self.scale

    def image_options(self, path, shape):
        return self.image

    def channels(self, layer, old, new):
        self.asked.append(f"channels {old} -> {new}?")
        return self.channels_answer

    def fit_input(self, old_shape, new_shape):
        self.asked.append(f"fit {old_shape} into {new_shape}?")
        return self.fit


def new_window(qtbot):
    """A MainWindow whose dialogs are scripted (not yet activated: no recovery offered)."""
    from cnnviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.file_actions.dialogs = FakeDialogs()
    return w


def paint_and_autosave(window, cell, value):
    """Paint one input cell and let the autosave write the work (in its worker thread)."""
    window.document.paint_cells([cell], value)
    window.document.flush()
    window.file_actions.autosave()  # the timer's job
    window.file_actions.wait_for_autosave()
    assert window.file_actions.recovery_path.exists()


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings.use_file(tmp_path / "settings.ini")
    monkeypatch.setenv("CNNVIZ_RECOVERY_DIR", str(tmp_path / "recovery"))
    w = new_window(qtbot)
    yield w
    w.file_actions.dialogs.changes = "discard"
    settings.use_file(None)


def test_a_window_built_without_activate_closes_without_asking(window):
    window.document.paint_cells([(0, 1, 0)], 0.5)
    window.document.flush()
    window.show()
    assert window.close() and window.file_actions.dialogs.asked == []


def state(doc):
    doc.flush()
    return (doc.input.copy(), json.dumps(doc.pipeline.get_config()), [[w.copy() for w in ws] for ws in doc.pipeline.get_weights()],
            doc.undo_stack.count())


def same_state(a, b):
    return (np.array_equal(a[0], b[0]) and a[1] == b[1] and a[3] == b[3]
            and all(np.array_equal(u, v) for x, y in zip(a[2], b[2]) for u, v in zip(x, y)))


def test_menu_and_title_marker(window):
    doc = window.document
    texts = [a.text() for a in window.menus["File"].actions() if a.text()]
    assert texts[:3] == ["&New", "&Open…", "Open &recent"] and texts[-1] == "&Quit"
    assert window.windowTitle() == "Untitled[*] — cnnviz" and not window.isWindowModified()
    doc.paint_cells([(0, 1, 0)], 0.5)
    doc.flush()
    assert window.isWindowModified()
    doc.undo_stack.undo()
    assert not window.isWindowModified()


def test_save_then_open_round_trip(window, tmp_path):
    fa, doc = window.file_actions, window.document
    doc.paint_cells([(2, 2, 0), (2, 3, 0)], 0.25)
    doc.flush()
    path = str(tmp_path / "mine")
    fa.dialogs.paths = [path]
    assert fa.save()  # untitled: asks for a name, adds the suffix
    assert window.windowTitle() == "mine.cnnviz.json[*] — cnnviz" and not window.isWindowModified()
    saved = load_session(path + ".cnnviz.json")
    assert np.array_equal(saved.input, doc.input) and saved.pipeline.get_config() == doc.pipeline.get_config()
    assert fa.recent_files() == [os.path.abspath(path + ".cnnviz.json")]

    assert fa.open(os.path.join(RESOURCES, "rgb-edges.cnnviz.json"))
    assert doc.input.shape == (8, 8, 3) and doc.undo_stack.count() == 0 and not window.isWindowModified()
    assert window.windowTitle() == "rgb-edges.cnnviz.json[*] — cnnviz"
    assert fa.open(path + ".cnnviz.json")
    assert doc.input[2, 3, 0] == np.float32(0.25)
    assert doc.selected_layer == saved.view["selected_layer"]


def test_failed_open_changes_nothing(window, tmp_path):
    fa, doc = window.file_actions, window.document
    doc.paint_cells([(0, 1, 0)], 0.5)
    before = state(doc)
    bad = tmp_path / "bad.cnnviz.json"
    data = json.loads(open(os.path.join(RESOURCES, "lecture.cnnviz.json")).read())
    data["layers"][1]["config"]["strides"] = [0, 1]
    bad.write_text(json.dumps(data))
    assert not fa.open(str(bad))
    assert fa.dialogs.errors == ["bad.cnnviz.json: layers[1].config.strides: expected two positive integers, got [0, 1]"]
    assert same_state(before, state(doc)) and window.isWindowModified() and fa.path is None
    (tmp_path / "junk.cnnviz.json").write_text("{{{")
    assert not fa.open(str(tmp_path / "junk.cnnviz.json"))
    assert fa.dialogs.errors[-1].startswith("junk.cnnviz.json: not valid JSON")
    assert same_state(before, state(doc))


def test_closing_unsaved_work_asks_first(window, tmp_path, qtbot):
    fa, doc = window.file_actions, window.document
    fa.activate()
    window.show()
    doc.paint_cells([(0, 1, 0)], 0.5)
    doc.flush()
    fa.dialogs.changes = "cancel"
    assert not window.close() and window.isVisible()
    fa.dialogs.changes = "save"
    fa.dialogs.paths = [str(tmp_path / "kept.cnnviz.json")]
    assert window.close()
    assert load_session(tmp_path / "kept.cnnviz.json").input[0, 1, 0] == np.float32(0.5)


def test_new_asks_and_resets_to_the_lecture(window):
    fa, doc = window.file_actions, window.document
    fa.open(os.path.join(RESOURCES, "rgb-edges.cnnviz.json"))
    doc.paint_cells([(0, 0, 0)], 0.5)
    fa.dialogs.changes = "cancel"
    fa.new()
    assert doc.input.shape == (8, 8, 3)
    fa.dialogs.changes = "discard"
    fa.new()
    assert np.array_equal(doc.input, seed_input()) and fa.path is None and not window.isWindowModified()


def test_unsaved_work_is_recovered_after_a_crash(window, qtbot, tmp_path):
    fa = window.file_actions
    fa.open(os.path.join(RESOURCES, "lecture.cnnviz.json"))
    paint_and_autosave(window, (5, 5, 0), 0.75)
    # "crash": a new window starts while the recovery file is still there
    again = new_window(qtbot)
    again.file_actions.activate()
    assert again.file_actions.dialogs.asked == ["recover?"]
    assert again.document.input[5, 5, 0] == np.float32(0.75)
    assert again.isWindowModified() and again.file_actions.path == os.path.abspath(
        os.path.join(RESOURCES, "lecture.cnnviz.json"))
    # saved work leaves no recovery file behind
    again.file_actions.dialogs.paths = [str(tmp_path / "recovered.cnnviz.json")]
    assert again.file_actions.save_as()
    assert not again.file_actions.recovery_path.exists()
    again.file_actions.dialogs.changes = "discard"


def test_declined_recovery_is_removed(window):
    fa = window.file_actions
    window.document.paint_cells([(0, 0, 0)], 0.5)
    fa.autosave()
    fa.wait_for_autosave()  # written in a worker thread
    fa.dialogs.recover_answer = False
    fa.activate()
    assert not fa.recovery_path.exists() and fa._autosave.isActive()


def make_png(tmp_path, name="pic.png"):
    pixels = np.zeros((12, 12, 3), np.uint8)
    pixels[:6, :, 0] = 255
    pixels[6:, :, 2] = 255
    Image.fromarray(pixels).save(tmp_path / name)
    return str(tmp_path / name)


def test_import_image_as_rgb_grid(window, tmp_path):
    fa, doc = window.file_actions, window.document
    path = make_png(tmp_path)
    fa.dialogs.image = ((6, 6), "rgb")
    assert fa.import_image(path)
    doc.flush()
    assert np.array_equal(doc.input, load_image(path, (6, 6), "rgb"))
    assert doc.input[0, 0].tolist() == [1, 0, 0] and doc.input[5, 0].tolist() == [0, 0, 1]
    assert doc.outputs[0].shape == (4, 4, 2)  # the pipeline follows the new channel count
    assert "channels 1 -> 3?" in fa.dialogs.asked  # asked, not a silent rescale of the filters
    doc.undo_stack.undo()
    assert np.array_equal(doc.input, seed_input())


def test_image_dialog_previews_the_grid(qtbot, tmp_path):
    dialog = ImageImportDialog(make_png(tmp_path), (6, 6, 1))
    qtbot.addWidget(dialog)
    assert dialog.choice() == ((6, 6), "grey")
    image = dialog.preview.pixmap().toImage()
    assert image.width() == image.height() == 220
    top, bottom = image.pixelColor(110, 20), image.pixelColor(110, 200)
    assert top.lightness() != bottom.lightness()  # red top half and blue bottom half as greys differ
    dialog.rgb.setChecked(True)
    dialog.proportions.check.setChecked(False)  # squashed on purpose
    dialog.rows.setValue(3)
    assert dialog.choice() == ((3, 6), "rgb")
    assert dialog.preview.pixmap().toImage().pixelColor(110, 20).red() == 255


def test_image_dialog_keeps_a_wide_pictures_proportions(qtbot, tmp_path):
    path = tmp_path / "wide.png"
    Image.new("L", (56, 28), 128).save(path)
    dialog = ImageImportDialog(str(path), (6, 6, 1))
    qtbot.addWidget(dialog)
    assert dialog.choice() == ((3, 6), "grey")


def test_keras_config_export_and_import(window, tmp_path):
    fa, doc = window.file_actions, window.document
    fa.dialogs.paths = [str(tmp_path / "model.json")]
    assert fa.export_keras()
    exported = json.loads((tmp_path / "model.json").read_text())
    assert exported["class_name"] == "Sequential"
    p = Pipeline((6, 6, 1), [Conv2D(3, 5, padding="same")])
    from cnnviz.io import export_keras_config

    export_keras_config(p, tmp_path / "other.json")
    fa.dialogs.paths = [str(tmp_path / "other.json")]
    assert fa.import_keras()
    doc.flush()
    assert doc.outputs[0].shape == (6, 6, 3) and doc.layer(1).kernel_size == (5, 5)
    (tmp_path / "dense.json").write_text(json.dumps([{"class_name": "LSTM", "config": {}}]))
    before = state(doc)
    assert not fa.import_keras(str(tmp_path / "dense.json"))
    assert "LSTM is not supported" in fa.dialogs.errors[-1] and same_state(before, state(doc))


def test_export_code_and_figures(window, tmp_path):
    fa = window.file_actions
    fa.dialogs.paths = [str(tmp_path / "model.py")]
    assert fa.export_code("pytorch")
    ast.parse((tmp_path / "model.py").read_text())
    fa.dialogs.paths = [str(tmp_path / "all.svg")]
    assert fa.export_figure("pipeline")
    assert "Conv2D #1 → 4×4×2" in (tmp_path / "all.svg").read_text()
    fa.dialogs.paths = [str(tmp_path / "layer.png")]
    assert fa.export_figure("layer")
    from PySide6.QtGui import QImage

    assert QImage(str(tmp_path / "layer.png")).width() == round(fa.figure("layer").size.width() * 2)
    window.document.select_layer(0)
    assert not fa.export_figure("layer") and "Select a layer first" in fa.dialogs.errors[-1]


def drop(window, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    pos = QPoint(50, 50)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent is still built from a QPoint
def test_drag_and_drop_a_session_or_an_image(window, qtbot, tmp_path):
    doc = window.document
    drop(window, os.path.abspath(os.path.join(RESOURCES, "same-padding-stride2.cnnviz.json")))
    qtbot.waitUntil(lambda: window.file_actions.path is not None)
    assert doc.input[5, 5, 0] == 35
    window.file_actions.dialogs.image = ((4, 4), "grey")
    window.file_actions.dialogs.changes = "discard"
    drop(window, make_png(tmp_path))
    qtbot.waitUntil(lambda: doc.input.shape == (4, 4, 1))


def test_autosave_writes_only_after_new_edits(window):
    fa, doc = window.file_actions, window.document
    doc.paint_cells([(0, 0, 0)], 0.5)
    doc.flush()
    fa.autosave()
    fa.wait_for_autosave()  # written in a worker thread
    first = fa.recovery_path.stat().st_mtime_ns
    os.utime(fa.recovery_path, ns=(first - 10**9, first - 10**9))
    fa.autosave()  # nothing new: the file is left alone
    fa.wait_for_autosave()  # written in a worker thread
    assert fa.recovery_path.stat().st_mtime_ns == first - 10**9
    doc.paint_cells([(0, 0, 0)], 0.25)
    doc.flush()
    fa.autosave()
    fa.wait_for_autosave()  # written in a worker thread
    assert load_session(fa.recovery_path).input[0, 0, 0] == np.float32(0.25)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    fa.autosave()  # back at the saved state: no recovery needed
    fa.wait_for_autosave()  # written in a worker thread
    assert not fa.recovery_path.exists()


def test_a_second_window_leaves_the_first_windows_recovery_alone(window, qtbot):
    """Two windows open at once (two sessions side by side): neither offers nor deletes nor overwrites
    the other's autosaved work; only work whose window is gone is offered."""
    first = window.file_actions
    first.activate()
    paint_and_autosave(window, (0, 0, 0), 0.5)
    second = new_window(qtbot)
    second.file_actions.activate()
    assert second.file_actions.dialogs.asked == []  # the first window is alive: its work is not offered
    paint_and_autosave(second, (1, 1, 0), 0.25)
    assert second.file_actions.recovery_path != first.recovery_path
    assert load_session(first.recovery_path).input[0, 0, 0] == np.float32(0.5)
    assert load_session(second.file_actions.recovery_path).input[1, 1, 0] == np.float32(0.25)
    second.file_actions.dialogs.changes = "discard"
    assert second.close()
    assert first.recovery_path.exists() and not second.file_actions.recovery_path.exists()


CRASHING_APP = """
import sys
import cnnviz.ui
from cnnviz.ui.app import create_app
from cnnviz.ui.main_window import MainWindow
app = create_app(["cnnviz"])
window = MainWindow()
window.file_actions.activate()
window.document.paint_cells([(2, 3, 0)], 0.75)
window.document.flush()
window.file_actions.autosave()
window.file_actions.wait_for_autosave()  # written in a worker thread
print(window.file_actions.recovery_path, flush=True)
sys.stdin.read()  # wait to be killed
"""


def test_work_of_a_killed_app_is_offered_at_the_next_start(window, tmp_path):
    import signal
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "CNNVIZ_RECOVERY_DIR": str(tmp_path / "recovery")}
    child = subprocess.Popen([sys.executable, "-c", CRASHING_APP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        recovery = child.stdout.readline().strip()
        assert recovery and os.path.exists(recovery)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    fa = window.file_actions
    fa.activate()
    assert fa.dialogs.asked == ["recover?"]
    assert window.document.input[2, 3, 0] == np.float32(0.75) and window.isWindowModified()
    assert not os.path.exists(recovery)  # taken over: this window autosaves it under its own name now
    fa.wait_for_autosave()
    assert load_session(fa.recovery_path).input[2, 3, 0] == np.float32(0.75)


def test_a_recent_file_that_is_gone_leaves_the_recent_menu(window, tmp_path):
    fa = window.file_actions
    kept, gone = str(tmp_path / "kept.cnnviz.json"), str(tmp_path / "gone.cnnviz.json")
    for path in (kept, gone):
        fa.dialogs.paths = [path]
        assert fa.save_as()
    assert fa.recent_files() == [gone, kept]
    os.remove(gone)
    assert not fa.open(gone)
    assert fa.dialogs.errors == ["gone.cnnviz.json: no such file"]
    assert fa.recent_files() == [kept]
    fa._fill_recent()
    assert [a.text() for a in fa.recent_menu.actions()] == [kept]


def test_a_keras_config_with_another_input_offers_to_resize_the_image(window, tmp_path):
    """Importing a 12×12×3 model blanked the user's 6×6 picture; now it is resized into the new input."""
    from cnnviz.io import export_keras_config

    fa, doc = window.file_actions, window.document
    picture = doc.input.copy()
    export_keras_config(Pipeline((12, 12, 3), [Conv2D(1, 3)]), tmp_path / "rgb.json")
    assert fa.import_keras(str(tmp_path / "rgb.json"))
    doc.flush()
    assert fa.dialogs.asked[-1] == "fit (6, 6, 1) into (12, 12, 3)?"
    assert doc.input.shape == (12, 12, 3)
    for ch in range(3):  # each pixel became a 2×2 block in every channel
        np.testing.assert_array_equal(doc.input[::2, ::2, ch], picture[:, :, 0])
        np.testing.assert_array_equal(doc.input[1::2, 1::2, ch], picture[:, :, 0])
    doc.undo_stack.undo()
    fa.dialogs.fit = None  # cancelled: nothing changes
    before = doc.input.copy()
    assert not fa.import_keras(str(tmp_path / "rgb.json"))
    np.testing.assert_array_equal(doc.input, before)
    fa.dialogs.fit = "blank"
    assert fa.import_keras(str(tmp_path / "rgb.json"))
    doc.flush()
    assert doc.input.shape == (12, 12, 3) and not doc.input.any()


def test_the_image_import_dialog_keeps_the_picture_proportions(tmp_path, qtbot):
    from PIL import Image

    from cnnviz.ui.file_dialogs import ImageImportDialog

    Image.new("L", (40, 20), 128).save(tmp_path / "wide.png")  # 40 wide, 20 high
    dialog = ImageImportDialog(str(tmp_path / "wide.png"), (6, 6, 1))
    qtbot.addWidget(dialog)
    assert (dialog.rows.value(), dialog.cols.value()) == (3, 6)
    dialog.rows.setValue(10)
    assert dialog.cols.value() == 20
    dialog.cols.setValue(8)
    assert dialog.rows.value() == 4
    dialog.proportions.check.setChecked(False)  # the user may still squash it on purpose
    dialog.rows.setValue(7)
    assert dialog.cols.value() == 8


def test_autosave_writes_a_snapshot_in_a_worker_while_editing_goes_on(window, monkeypatch):
    """The GUI thread hands over a copy and returns; edits made while the worker writes are not in that file,
    and a second autosave during the write waits for the next turn instead of writing over it."""
    import threading

    from cnnviz.ui import recovery

    fa, doc = window.file_actions, window.document
    release, threads = threading.Event(), []
    real_save = recovery.save_session

    def slow_save(session, path):
        threads.append(threading.current_thread())
        release.wait(10)
        real_save(session, path)

    monkeypatch.setattr(recovery, "save_session", slow_save)
    doc.paint_cells([(0, 0, 0)], 0.5)
    doc.flush()
    fa.autosave()  # returns at once: the worker waits for `release`
    doc.paint_cells([(0, 0, 0)], 0.25)  # the user goes on painting
    doc.flush()
    fa.autosave()  # a save is running: nothing new is started
    release.set()
    fa.wait_for_autosave()
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert load_session(fa.recovery_path).input[0, 0, 0] == np.float32(0.5)  # the snapshot, not the live input
    fa.autosave()  # the next turn takes the newer work
    fa.wait_for_autosave()
    assert load_session(fa.recovery_path).input[0, 0, 0] == np.float32(0.25)
