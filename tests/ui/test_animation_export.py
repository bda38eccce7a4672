"""Export ▸ Step-through animation, the step-through dock's button and the Backpropagation dock's: the dock's
steps, at its canvas's size times the scale asked, as the file named, drawn and encoded off the GUI thread
(the window answers meanwhile; Cancel leaves no file)."""

import threading

import numpy as np
import pytest
from PIL import Image, ImageSequence
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton, QWidget

from cnnviz import core
from cnnviz.core.presets import LECTURE
from cnnviz.ui import settings
from cnnviz.ui.arithmetic import animation_export
from cnnviz.ui.arithmetic.step_animation import frame_layout, image_array, render_frame
from cnnviz.ui.document import Document
from tests.ui.test_file_actions import FakeDialogs


class AnimationDialogs(FakeDialogs):
    def __init__(self):
        super().__init__()
        self.animation = (5.0, 1.0)
        self.offered = []

    def animation_options(self, fps, frames):
        self.offered.append((fps, frames))
        return self.animation


def open_window(qtbot, tmp_path, monkeypatch, document=None):
    settings.use_file(tmp_path / "settings.ini")
    monkeypatch.setenv("CNNVIZ_RECOVERY_DIR", str(tmp_path / "recovery"))
    from cnnviz.ui.main_window import MainWindow

    w = MainWindow(document)
    qtbot.addWidget(w)
    w.file_actions.dialogs = AnimationDialogs()
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = open_window(qtbot, tmp_path, monkeypatch)
    yield w
    w.file_actions.dialogs.changes = "discard"
    w.close()


def finish(qtbot, fa):
    """Wait for the export started to end (it runs in its own thread)."""
    job = fa.animation_job
    assert job is not None
    qtbot.waitUntil(lambda: fa.animation_job is None, timeout=120_000)


def stepper(window):
    view = window.findChild(QWidget, "arithmeticStepper")
    QApplication.processEvents()
    return view


def test_the_menu_writes_the_docks_steps_at_its_canvas_size(window, tmp_path, qtbot):
    fa, view = window.file_actions, stepper(window)
    fa.dialogs.paths = [str(tmp_path / "steps.gif")]
    fa.dialogs.animation = (4.0, 2.0)
    action = fa.export_figure_actions["animation"]
    assert action.text() == "Step-through &animation…"
    action.trigger()
    finish(qtbot, fa)
    assert fa.dialogs.errors == [] and fa.dialogs.offered == [(view.speed.value(), 32)]
    with Image.open(tmp_path / "steps.gif") as im:
        size = view.canvas.size()
        layout = frame_layout(view.model, size, 2.0)
        assert im.n_frames == 32 and im.size == (layout.pixels.width(), layout.pixels.height())
        assert im.size[0] == 2 * size.width() and im.info["duration"] == 250


def test_the_docks_button_writes_apng_frames_equal_to_the_dock(window, tmp_path, qtbot):
    fa, view = window.file_actions, stepper(window)
    fa.dialogs.paths = [str(tmp_path / "steps.apng")]
    assert view.export_action.isEnabled()
    view.export_action.trigger()
    finish(qtbot, fa)
    layout = frame_layout(view.model, view.canvas.size(), 1.0)
    with Image.open(tmp_path / "steps.apng") as im:
        got = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    assert len(got) == 32
    for k in (0, 13, 31):
        view.set_step(k)
        assert (got[k][: view.canvas.height()] == image_array(view.canvas.grab().toImage())[:, :, :3]).all()
        assert (got[k] == image_array(render_frame(view.model, k, layout))[:, :, :3]).all()


def test_without_a_sliding_layer_it_says_what_to_add(window, tmp_path):
    fa = window.file_actions
    x = window.document.input
    window.document.set_pipeline(core.Pipeline(x.shape, [core.ReLU()]), x)
    view = stepper(window)
    assert not view.export_action.isEnabled()
    fa.dialogs.paths = [str(tmp_path / "steps.gif")]
    assert not fa.export_animation()
    assert fa.dialogs.errors == ["Add a layer the step-through shows first: Conv2D, DepthwiseConv2D, Conv2DTranspose, "
                                 "MaxPooling2D, AveragePooling2D, Dense, ZeroPadding2D and Cropping2D."]
    assert not (tmp_path / "steps.gif").exists()


def test_a_cancelled_dialog_writes_nothing(window, tmp_path):
    fa = window.file_actions
    fa.dialogs.paths = [str(tmp_path / "steps.gif")]
    fa.dialogs.animation = None
    assert not fa.export_animation() and not (tmp_path / "steps.gif").exists()
    fa.dialogs.paths = []  # no file chosen: no options asked
    assert not fa.export_animation() and len(fa.dialogs.offered) == 1


def test_options_dialog_starts_at_the_docks_speed_and_says_how_long(qtbot):
    from cnnviz.ui.arithmetic.animation_dialog import AnimationOptionsDialog

    dialog = AnimationOptionsDialog(2, 32)
    qtbot.addWidget(dialog)
    assert dialog.choice() == (2.0, 1.0) and dialog.length.text() == "32 frames, one per step: 16.0 s"
    dialog.fps.setValue(8)
    dialog.scale.setValue(2)
    assert dialog.choice() == (8.0, 2.0) and dialog.length.text().endswith(": 4.0 s")
    dialog.fps.setValue(500)
    assert dialog.fps.value() == 50  # the range io.animation accepts


def gate_frame(monkeypatch, at: int):
    """Hold the export's thread after frame `at` until the returned event is set (so a test can act while it
    is surely running)."""
    gate, reached = threading.Event(), threading.Event()
    frame = animation_export.AnimationExport._frame

    def held(self, done, count):
        frame(self, done, count)
        if done == at:
            reached.set()
            assert gate.wait(60)

    monkeypatch.setattr(animation_export.AnimationExport, "_frame", held)
    return gate, reached


def test_the_window_answers_while_the_frames_are_drawn(window, tmp_path, qtbot, monkeypatch):
    fa = window.file_actions
    gate, reached = gate_frame(monkeypatch, 3)
    fa.dialogs.paths = [str(tmp_path / "steps.gif")]
    fa.dialogs.animation = (4.0, 2.0)
    ticks, seen = [], []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(fa.animation_job is not None and fa.animation_job.isRunning()))
    timer.start(5)
    fa.export_figure_actions["animation"].trigger()
    job = fa.animation_job
    job.progressed.connect(lambda done, count: seen.append((done, count, job.isRunning())))
    assert reached.wait(60)
    qtbot.waitUntil(lambda: len(seen) >= 3 and sum(ticks) >= 3)  # the event loop runs: timers, queued progress
    assert job.isRunning() and not (tmp_path / "steps.gif").exists()
    progress = window.findChild(QProgressDialog, "animationProgress")
    assert progress is not None and progress.maximum() == 33  # 32 frames, then the encoding
    window.document.select_layer(2)  # the user goes on working: the export draws its own copy
    gate.set()
    finish(qtbot, fa)
    timer.stop()
    assert seen[:3] == [(1, 32, True), (2, 32, True), (3, 32, True)]
    with Image.open(tmp_path / "steps.gif") as im:
        assert im.n_frames == 32
    assert fa.dialogs.errors == [] and "steps.gif" in window.statusBar().currentMessage()


@pytest.mark.parametrize("name", ["steps.gif", "steps.apng", "steps.png"])
def test_cancel_leaves_no_file(window, tmp_path, qtbot, monkeypatch, name):
    fa = window.file_actions
    gate, reached = gate_frame(monkeypatch, 2)
    fa.dialogs.paths = [str(tmp_path / name)]
    fa.export_figure_actions["animation"].trigger()
    job = fa.animation_job
    cancelled = []
    job.cancelled.connect(lambda: cancelled.append(True))
    assert reached.wait(60)
    if name == "steps.png":  # the first numbered frame is on disk while the second is drawn
        assert [p.name for p in tmp_path.glob("steps-*.png")] == ["steps-001.png"]
    window.findChild(QProgressDialog, "animationProgress").findChild(QPushButton).click()  # its Cancel
    gate.set()
    finish(qtbot, fa)
    assert cancelled == [True] and fa.dialogs.errors == []
    assert not any(p.name.startswith("steps") for p in tmp_path.iterdir())


def test_closing_the_window_stops_an_export(qtbot, tmp_path, monkeypatch):
    w = open_window(qtbot, tmp_path, monkeypatch)
    fa = w.file_actions
    gate, reached = gate_frame(monkeypatch, 1)
    fa.dialogs.paths = [str(tmp_path / "steps.apng")]
    fa.export_figure_actions["animation"].trigger()
    job = fa.animation_job
    assert reached.wait(60)
    threading.Timer(0.05, gate.set).start()  # released while close() waits for the thread
    fa.dialogs.changes = "discard"
    assert w.close()
    assert job.isFinished() and not (tmp_path / "steps.apng").exists()


def backprop_window(qtbot, tmp_path, monkeypatch):
    """The lecture's input and one 3×3 filter learning the diagonal one (the teacher task)."""
    doc = Document(core.Pipeline((6, 6, 1), [core.Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    w = open_window(qtbot, tmp_path, monkeypatch, doc)
    w.resize(1920, 1080)
    assert w.training_dock.choose_data()
    w.show_panel("backprop")
    view = w.backprop_view
    view.lazy = False
    doc.select_layer(1)
    QApplication.processEvents()
    return w, view


@pytest.mark.parametrize("pick, count", [("weight", 16), ("input", 9)])
def test_the_backprop_docks_steps_export_pixel_for_pixel(qtbot, tmp_path, monkeypatch, pick, count):
    w, view = backprop_window(qtbot, tmp_path, monkeypatch)
    fa, stepper = w.file_actions, view.stepper
    view.pick_weight(0, 2) if pick == "weight" else view.pick_input(2, 2)
    size = stepper.canvas.size()
    assert size.width() > 600 and size.height() >= 200
    assert len(stepper.steps) == count and stepper.export_action.isEnabled()
    fa.dialogs.paths = [str(tmp_path / "back.apng")]
    stepper.export_action.trigger()
    finish(qtbot, fa)
    assert fa.dialogs.errors == [] and fa.dialogs.offered == [(stepper.speed.value(), count)]
    layout = frame_layout(stepper.model, stepper.canvas.size(), 1.0)
    with Image.open(tmp_path / "back.apng") as im:
        got = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
        assert im.size == (size.width(), size.height() + int(layout.formula_h)) and layout.formula_h > 40
    assert len(got) == count
    for k in (0, count // 2, count - 1):
        stepper.set_step(k)
        shown = image_array(stepper.canvas.grab().toImage())[:, :, :3]
        assert (got[k][: size.height()] == shown).all(), k
        assert (got[k] == image_array(render_frame(stepper.model, k, layout))[:, :, :3]).all(), k
    w.file_actions.dialogs.changes = "discard"
    w.close()


def test_the_backward_export_without_a_sum_says_what_to_click(qtbot, tmp_path, monkeypatch):
    w, view = backprop_window(qtbot, tmp_path, monkeypatch)
    view.stepper.set_model(None)
    assert not view.stepper.export_action.isEnabled()
    w.file_actions.dialogs.paths = [str(tmp_path / "b.gif")]
    w.file_actions.export_figure_actions["backward_animation"].trigger()
    assert w.file_actions.dialogs.errors == ["Click a weight or an input cell to step through its gradient first."]
    assert not (tmp_path / "b.gif").exists()
    w.file_actions.dialogs.changes = "discard"
    w.close()
