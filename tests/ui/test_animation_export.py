"""Export ▸ Step-through animation and the step-through dock's button: the dock's steps, at its canvas's
size times the scale asked, as the file named."""

import numpy as np
import pytest
from PIL import Image, ImageSequence
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz import core
from cnnviz.ui import settings
from cnnviz.ui.arithmetic.step_animation import frame_layout, image_array, render_frame
from tests.ui.test_file_actions import FakeDialogs


class AnimationDialogs(FakeDialogs):
    def __init__(self):
        super().__init__()
        self.animation = (5.0, 1.0)
        self.offered = []

    def animation_options(self, fps, frames):
        self.offered.append((fps, frames))
        return self.animation


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings.use_file(tmp_path / "settings.ini")
    monkeypatch.setenv("CNNVIZ_RECOVERY_DIR", str(tmp_path / "recovery"))
    from cnnviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.file_actions.dialogs = AnimationDialogs()
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.file_actions.dialogs.changes = "discard"
    w.close()


def stepper(window):
    view = window.findChild(QWidget, "arithmeticStepper")
    QApplication.processEvents()
    return view


def test_the_menu_writes_the_docks_steps_at_its_canvas_size(window, tmp_path):
    fa, view = window.file_actions, stepper(window)
    fa.dialogs.paths = [str(tmp_path / "steps.gif")]
    fa.dialogs.animation = (4.0, 2.0)
    action = fa.export_figure_actions["animation"]
    assert action.text() == "Step-through &animation…"
    action.trigger()
    assert fa.dialogs.errors == [] and fa.dialogs.offered == [(view.speed.value(), 32)]
    with Image.open(tmp_path / "steps.gif") as im:
        size = view.canvas.size()
        layout = frame_layout(view.model, size, 2.0)
        assert im.n_frames == 32 and im.size == (layout.pixels.width(), layout.pixels.height())
        assert im.size[0] == 2 * size.width() and im.info["duration"] == 250


def test_the_docks_button_writes_apng_frames_equal_to_the_dock(window, tmp_path):
    fa, view = window.file_actions, stepper(window)
    fa.dialogs.paths = [str(tmp_path / "steps.apng")]
    assert view.export_action.isEnabled()
    view.export_action.trigger()
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
    assert fa.dialogs.errors == ["Add a Conv2D, pooling or Conv2DTranspose layer first."]
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
