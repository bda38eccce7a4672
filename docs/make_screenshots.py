"""Regenerate every README screenshot (resources/screenshots/) from the shipped example sessions, offscreen.

    QT_QPA_PLATFORM=offscreen python docs/make_screenshots.py            # all of them
    python docs/make_screenshots.py main_window arithmetic_matrix        # some of them
    python docs/make_screenshots.py --list                               # their names
    python docs/make_screenshots.py --out /tmp/shots                     # somewhere else

Each picture is built from a file in resources/ (the lecture's 6×6 input with its diagonal and vertical-line
filters, the filter that learns, the digits, the way back to 6×6), never from whatever the last session
left: the script uses a private settings file and recovery folder. A picture that cannot be made (a widget
renamed, a session changed) is reported by name and the others are still written; the exit status is 1 then.
See docs/screenshots.md for what each picture shows and when to re-run it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_PRIVATE = tempfile.mkdtemp(prefix="cnnviz-screenshots-")
os.environ["CNNVIZ_RECOVERY_DIR"] = os.path.join(_PRIVATE, "recovery")

import numpy as np  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

RESOURCES = ROOT / "resources"
LECTURE = RESOURCES / "lecture.cnnviz.json"
FILTER_LEARNS = RESOURCES / "the-filter-learns.cnnviz.json"
DIGITS = RESOURCES / "digits.cnnviz.json"
WAY_BACK = RESOURCES / "transposed-back-to-6x6.cnnviz.json"
VIEW_SIZE = (1100, 560)  # a tab of the arithmetic docks, on its own

SHOTS = {}


def shot(name: str):
    def register(make):
        SHOTS[name] = make
        return make
    return register


def settle(seconds: float = 0.0) -> None:
    """Let layouts, lazy views and queued signals finish (and wait `seconds` while doing so)."""
    end = time.monotonic() + seconds
    while True:
        QApplication.processEvents()
        if time.monotonic() >= end:
            break
        time.sleep(0.02)
    QApplication.processEvents()


def load(path: Path):
    from cnnviz.io import load_session

    return load_session(path)


def check_lecture_filters(pipeline) -> None:
    """The pictures are of the lecture: its first Conv2D holds the diagonal and the vertical-line filters."""
    from cnnviz.core.layers import Conv2D
    from cnnviz.core.presets import filter_preset

    conv = next(layer for layer in pipeline.layers if isinstance(layer, Conv2D))
    kernel = conv.get_weights()[0]
    for o, name in enumerate(("lecture diagonal", "lecture vertical line")):
        expected = filter_preset(name, (3, 3))
        if not np.array_equal(kernel[:, :, 0, o], expected):
            raise SystemExit(f"{conv.label} filter {o + 1} is not the {name} filter: {kernel[:, :, 0, o].tolist()}")


def document(session_or_path, select: int = 1):
    from cnnviz.ui.document import Document

    session = load(session_or_path) if isinstance(session_or_path, Path) else session_or_path
    doc = Document(session.pipeline, session.input)
    doc.select_layer(select)
    return doc


def standalone(cls, doc, size=VIEW_SIZE):
    view = cls(doc)
    view.resize(*size)
    view.show()
    settle()
    return view


def window(session_path: Path | None, size: tuple[int, int]):
    from cnnviz.ui import settings
    from cnnviz.ui.main_window import MainWindow

    # a settings file of its own: no window inherits the docks or the tour step the previous one left
    settings.use_file(Path(tempfile.mkdtemp(dir=_PRIVATE)) / "settings.ini")
    w = MainWindow()
    w.resize(*size)
    w.show()
    if w.tour_offer is not None:
        w.tour_offer.hide()
    if session_path is not None:
        w.file_actions.open(str(session_path))
    settle()
    return w


def close(w) -> None:
    w.file_actions.dialogs.save_changes = lambda name: "discard"
    w.close()
    w.deleteLater()
    settle()


# ------------------------------------------------------------------------------------------ the windows
@shot("main_window")
def main_window(out: Path) -> None:
    w = window(LECTURE, (1400, 900))
    check_lecture_filters(w.document.pipeline)
    w.document.select_layer(1)
    stepper = w.arithmetic_views["stepper"]
    stepper.set_step(0)  # y[0,0] = 3: the lecture's inner product
    settle()
    w.grab().save(str(out))
    close(w)


def _tour_at(w, step_id: str) -> None:
    tour = w.tour
    tour.start(0)
    index = [s.id for s in tour.steps].index(step_id)
    tour.go(index)
    settle(0.2)


@shot("lecture_tour")
def lecture_tour(out: Path) -> None:
    w = window(None, (1366, 768))
    _tour_at(w, "stride")
    check_lecture_filters(w.document.pipeline)
    w.grab().save(str(out))
    close(w)


@shot("side_by_side")
def side_by_side(out: Path) -> None:
    w = window(None, (1366, 768))
    _tour_at(w, "stride")  # stride 1 kept beside the live stride 2, as the tour sets it
    if not w.side_by_side.export(str(out)):
        raise RuntimeError("the side-by-side view had nothing to export")
    close(w)


@shot("training_dock")
def training_dock(out: Path) -> None:
    w = window(DIGITS, (1920, 1080))
    dock = w.training_dock
    index = dock.data_box.findData("digits")
    dock.data_box.setCurrentIndex(index)
    if not dock.choose_data():
        raise RuntimeError("the digits would not load")
    dock.epochs.setValue(4)
    w.show_panel("training")
    holder = w.docks["learning"]
    w.resizeDocks([holder], [620], Qt.Orientation.Vertical)  # the whole plot, not its top half
    settle()
    if not dock.train():
        raise RuntimeError(f"training did not start: {dock.message.text()}")
    deadline = time.monotonic() + 300
    while dock.run.active and time.monotonic() < deadline:
        settle(0.1)
    if dock.run.active:
        raise RuntimeError("training took more than 5 minutes")
    w.document.select_layer(1)
    settle(0.3)
    w.grab().save(str(out))
    close(w)


@shot("training_backprop")
def training_backprop(out: Path) -> None:
    w = window(FILTER_LEARNS, (1920, 1080))
    if not w.training_dock.choose_data():
        raise RuntimeError("the teacher task would not load")
    w.show_panel("backprop")
    dock = w.docks["learning"]
    w.resizeDocks([dock], [720], Qt.Orientation.Vertical)  # tall enough for the step-through under the maps
    w.document.select_layer(1)
    settle()
    view = w.backprop_view
    view.pick_weight(0, 2)
    view.stepper.set_step(5)  # dL/dw[0,2] being summed: window 6 of 16
    settle(0.2)
    w.grab().save(str(out))
    close(w)


# ------------------------------------------------------------------------------------------ the arithmetic tabs
@shot("arithmetic_stepper_conv2d")
def stepper_conv2d(out: Path) -> None:
    from cnnviz.ui.arithmetic.stepper import StepperView

    doc = document(LECTURE, 1)
    check_lecture_filters(doc.pipeline)
    view = standalone(StepperView, doc)
    view.set_step(0)  # y[0,0] = 3
    settle()
    view.grab().save(str(out))


@shot("arithmetic_stepper_max_pooling")
def stepper_max_pooling(out: Path) -> None:
    from cnnviz.ui.arithmetic.stepper import StepperView

    view = standalone(StepperView, document(LECTURE, 2))
    view.set_step(0)  # the 3 kept from the top-left window
    settle()
    view.grab().save(str(out))


@shot("arithmetic_stepper_conv2d_transpose")
def stepper_transpose(out: Path) -> None:
    from cnnviz.ui.arithmetic.stepper import StepperView

    view = standalone(StepperView, document(WAY_BACK, 3))
    view.set_step(1)  # the second input cell scattered: overlaps add up
    settle()
    view.grab().save(str(out))


@shot("arithmetic_stepper_transpose_as_conv")
def stepper_transpose_as_conv(out: Path) -> None:
    from cnnviz.ui.arithmetic.stepper import StepperView

    view = standalone(StepperView, document(WAY_BACK, 3))
    view.transpose_switch.direct.click()
    settle()
    view.set_step(7)
    settle()
    view.grab().save(str(out))


@shot("arithmetic_matrix")
def matrix(out: Path) -> None:
    from cnnviz.ui.arithmetic.matrix_view import MatrixView

    standalone(MatrixView, document(LECTURE, 1)).grab().save(str(out))


@shot("arithmetic_neuron")
def neuron(out: Path) -> None:
    from cnnviz.ui.arithmetic.neuron_view import NeuronView

    doc = document(LECTURE, 1)
    doc.set_probe(1, (0, 0, 0), pinned=True)  # neuron "3" and its 9 synapses
    standalone(NeuronView, doc).grab().save(str(out))


@shot("arithmetic_upsampling")
def upsampling(out: Path) -> None:
    from cnnviz.ui.arithmetic.upsampling_view import UpsamplingView

    standalone(UpsamplingView, document(LECTURE, 3)).grab().save(str(out))


def _lecture_then(layer):
    """The lecture's input and Conv2D, then `layer` (a session of its own is not shipped for these tabs)."""
    from cnnviz.core import Pipeline
    from cnnviz.io.session import Session

    session = load(LECTURE)
    pipeline = Pipeline(session.input.shape, [session.pipeline.layers[0], layer])
    pipeline.build()
    return Session(session.input, pipeline)


@shot("arithmetic_dropout")
def dropout(out: Path) -> None:
    from cnnviz.core.layers import Dropout
    from cnnviz.ui.arithmetic.dropout_view import DropoutView

    doc = document(_lecture_then(Dropout(0.25, seed=3)), 2)
    doc.set_training(True)  # the mask is drawn in training; inference passes everything
    standalone(DropoutView, doc).grab().save(str(out))


@shot("arithmetic_batchnorm")
def batchnorm(out: Path) -> None:
    from cnnviz.core.layers import BatchNormalization
    from cnnviz.ui.arithmetic.batchnorm_view import BatchNormView

    norm = BatchNormalization()
    session = _lecture_then(norm)
    # moving statistics as after training: channel 2 is scaled by −2 and shifted, so the formula shows
    norm.set_weights([np.array([1.0, -2.0], np.float32), np.array([0.0, 1.0], np.float32),
                      np.array([0.0, -1.0], np.float32), np.array([1.0, 0.25], np.float32)])
    doc = document(session, 2)
    view = standalone(BatchNormView, doc)
    doc.set_probe(2, (1, 1, 1), pinned=True)
    settle()
    view.grab().save(str(out))


def lecture_classifier():
    """The lecture's pooled maps flattened (8 numbers) into a Dense(3, softmax): the CNN's end as an ANN."""
    from cnnviz.core import Pipeline
    from cnnviz.core.layers import Dense, Flatten
    from cnnviz.io.session import Session

    session = load(LECTURE)
    conv, pool = session.pipeline.layers[:2]
    head = Dense(3, activation="softmax")
    pipeline = Pipeline(session.input.shape, [conv, pool, Flatten(), head])
    pipeline.build()
    rng = np.random.default_rng(11)  # weights as a short training might leave them: small, fixed
    head.set_weights([np.round(rng.normal(0, 0.4, (8, 3)), 2).astype(np.float32),
                      np.array([0.1, -0.2, 0.05], np.float32)])
    return document(Session(session.input, pipeline), 4)


@shot("arithmetic_dense")
def dense(out: Path) -> None:
    from cnnviz.ui.arithmetic.dense_view import DenseView

    doc = lecture_classifier()
    view = standalone(DenseView, doc)
    doc.set_probe(4, (1,), pinned=True)
    settle()
    view.grab().save(str(out))


@shot("arithmetic_stepper_dense")
def stepper_dense(out: Path) -> None:
    from cnnviz.ui.arithmetic.stepper import StepperView

    view = standalone(StepperView, lecture_classifier())
    view.set_step(1)  # unit 2: the flattened maps against the second column of the kernel
    settle()
    view.grab().save(str(out))


@shot("arithmetic_stepper_zero_padding")
def stepper_zero_padding(out: Path) -> None:
    """ZeroPadding2D(1) before the lecture's Conv2D: PyTorch's padding=1, one layer at a time."""
    from cnnviz.core import Pipeline
    from cnnviz.core.layers import ZeroPadding2D
    from cnnviz.io.session import Session
    from cnnviz.ui.arithmetic.stepper import StepperView

    session = load(LECTURE)
    pipeline = Pipeline(session.input.shape, [ZeroPadding2D(1), session.pipeline.layers[0]])
    pipeline.build()
    view = standalone(StepperView, document(Session(session.input, pipeline), 1))
    view.set_step(9)  # y[1,1] = x[0,0]: the first cell copied from inside the padding frame
    settle()
    view.grab().save(str(out))


@shot("arithmetic_stepper_depthwise")
def stepper_depthwise(out: Path) -> None:
    """The lecture's image and its mirror as two channels, each through its own lecture filter."""
    from cnnviz.core import Pipeline
    from cnnviz.core.layers import DepthwiseConv2D
    from cnnviz.core.presets import filter_preset
    from cnnviz.io.session import Session
    from cnnviz.ui.arithmetic.stepper import StepperView

    image = load(LECTURE).input[:, :, 0]
    x = np.stack([image, image[:, ::-1]], axis=2).astype(np.float32)
    layer = DepthwiseConv2D(3)
    pipeline = Pipeline(x.shape, [layer])
    pipeline.build()
    kernel = np.stack([filter_preset("lecture diagonal", (3, 3)), filter_preset("lecture vertical line", (3, 3))],
                      axis=2)[:, :, :, None].astype(np.float32)
    layer.set_weights([kernel, np.zeros(2, np.float32)])
    view = standalone(StepperView, document(Session(x, pipeline), 1))
    view.set_step(16)  # map 2's first window: channel 2 through its own filter, channel 1 veiled
    settle()
    view.grab().save(str(out))


# ------------------------------------------------------------------------------------------ animations
@shot("animation_conv2d")
def animation_conv2d(out: Path) -> None:
    """The lecture's Conv2D step-through as an animated GIF (what `cnnviz render --animate` writes)."""
    from cnnviz.ui.arithmetic.step_animation import export_animation, session_step_model

    session = load(LECTURE)
    check_lecture_filters(session.pipeline)
    export_animation(session_step_model(session, 1), out.with_suffix(".gif"), 2.0)


@shot("animation_backward")
def animation_backward(out: Path) -> None:
    """dL/dw[0,2] of the filter that learns, window position by window position (`--backward weight`)."""
    from cnnviz.ui.arithmetic.backward_steps import session_backward_steps
    from cnnviz.ui.arithmetic.step_animation import export_animation

    model = session_backward_steps(load(FILTER_LEARNS), None, "weight", (0, 2))
    export_animation(model, out.with_suffix(".gif"), 2.0)


ANIMATIONS = {"animation_conv2d", "animation_backward"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the README screenshots from the example sessions.")
    parser.add_argument("names", nargs="*", help="the pictures to make (default: all); see --list")
    parser.add_argument("--out", default=str(RESOURCES / "screenshots"), help="the folder to write them to")
    parser.add_argument("--list", action="store_true", help="print the pictures' names and stop")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{n}.{'gif' if n in ANIMATIONS else 'png'}" for n in SHOTS))
        return 0
    unknown = [n for n in args.names if n.removesuffix(".png").removesuffix(".gif") not in SHOTS]
    if unknown:
        parser.error(f"no such picture: {', '.join(unknown)} (see --list)")
    names = [n.removesuffix(".png").removesuffix(".gif") for n in args.names] or list(SHOTS)

    from cnnviz.ui import settings

    app = QApplication.instance() or QApplication(["cnnviz-screenshots"])
    settings.use_file(Path(_PRIVATE) / "settings.ini")  # each window gets a fresh one (window())
    from cnnviz.ui.pyqtgraph_setup import configure_pyqtgraph

    configure_pyqtgraph()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names:
        target = out_dir / f"{name}.{'gif' if name in ANIMATIONS else 'png'}"
        started = time.monotonic()
        try:
            SHOTS[name](target)
        except Exception:  # one broken picture must not stop the others
            failed.append(name)
            print(f"FAILED {target.name}:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        finally:
            for widget in app.topLevelWidgets():
                if isinstance(widget, QWidget) and widget.isVisible():
                    widget.close()
            settle()
        print(f"wrote {target} ({time.monotonic() - started:.1f} s)")
    if failed:
        print(f"{len(failed)} of {len(names)} pictures failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
