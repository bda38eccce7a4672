"""The step-through view, driven as a student would: step, scrub, play, hover; the numbers it writes out
are checked against the document's outputs and the core's provenance."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cnnviz import core
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic.stepper import Step, StepperView
from cnnviz.ui.document import Document
from ui_support import lit


def number(text: str) -> float:
    return float(text.strip().strip("()").replace("−", "-"))


def final_value(line: str) -> float:
    """The number after the last '=' (a note after three spaces is not part of it)."""
    return number(line.rsplit("=", 1)[1].split("   ")[0])


def products(line: str) -> list[tuple[float, float]]:
    """'y[0,0] = 1·0 + 2·(−1) + … + b = y' -> [(1, 0), (2, −1), …] (the x·w pairs)."""
    rhs = line.split(":", 1)[1] if line.startswith("channel") else line.split("=", 1)[1]
    rhs = rhs.rsplit("=", 1)[0]
    pairs = [p for p in rhs.split(" + ") if "·" in p]
    return [tuple(number(v) for v in p.split("·")) for p in pairs]


@pytest.fixture
def seed(qtbot):
    document = Document()
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(1000, 560)
    return document, view


def test_every_step_writes_the_output_cell_value_and_the_core_terms(seed):
    document, view = seed
    layer = document.layer(1)
    out = document.outputs[0]
    assert view.layer_index == 1 and len(view.steps) == 4 * 4 * 2
    for k in range(len(view.steps)):
        view.set_step(k)
        step = view.steps[k]
        # filter by filter, row-major: step k fills output cell k
        assert (step.channel, *step.cell) == (k // 16, (k % 16) // 4, k % 4)
        [line] = view.formula_lines()
        assert final_value(line) == out[step.cell[0], step.cell[1], step.channel]
        prov = cell_provenance(layer, document.input, (*step.cell, step.channel))
        assert products(line) == [(t.value, t.coefficient) for t in prov.terms]
        assert view.formula.text().replace("&nbsp;", " ") == line


def test_seed_first_window_is_the_lecture_inner_product(seed):
    _, view = seed
    [line] = view.formula_lines()
    assert line.startswith("y[0,0] = ")
    assert len(products(line)) == 9  # a 3×3 window on a 1-channel input: x₁·w₁ + … + x₉·w₉ + b


def test_step_buttons_scrub_slider_and_keyboard(seed, qtbot):
    _, view = seed
    view.forward_action.trigger()
    view.forward_action.trigger()
    assert view.step == 2
    view.back_action.trigger()
    assert view.step == 1
    view.bar.filter_box.setValue(2)  # step 20 = filter 2, output row 2, col 1 (4×4 outputs, filter by filter)
    view.row_slider.setValue(1)
    view.col_slider.setValue(0)
    assert view.step == 20 and view.position.text() == "row 2/4  col 1/4"
    assert final_value(view.formula_lines()[0]) == pytest.approx(float(view.document.outputs[0][1, 0, 1]))
    view.restart_action.trigger()
    assert view.step == 0 and view.row_slider.value() == 0 and view.bar.filter_box.value() == 1
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    view.canvas.setFocus()
    qtbot.waitUntil(view.canvas.hasFocus, timeout=2000)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert view.step == 1
    view.step_by(-5)
    assert view.step == 0  # clamped, never negative


def test_play_runs_to_the_end_and_stops(seed, qtbot):
    document, view = seed
    view.speed.setValue(20)
    view.play_action.trigger()
    assert view.playing and view.play_action.text() == "Pause"
    qtbot.waitUntil(lambda: view.step >= 3, timeout=3000)
    view.bar.scrub_to(3, 1, filt=1)  # step 29
    view.play()
    qtbot.waitUntil(lambda: not view.playing, timeout=3000)
    assert view.step == 31
    assert final_value(view.formula_lines()[0]) == document.outputs[0][3, 3, 1]


def test_hover_pauses_and_moves_the_window(seed, qtbot):
    document, view = seed
    view.play()
    document.set_probe(1, (2, 3, 1))
    assert not view.playing
    assert view.steps[view.step] == Step(1, (2, 3))
    # hovering the output grid in the stepper itself sends the probe through the document
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: ("output", 1) in view.canvas.geometries, timeout=2000)
    qtbot.mouseMove(view.canvas, view.canvas.cell_center(("output", 1), (1, 2)).toPoint())
    qtbot.waitUntil(lambda: document.probe is not None and document.probe.cell == (1, 2, 1), timeout=2000)
    assert view.steps[view.step] == Step(1, (1, 2))
    # the receptive field in the input grid is exactly the window the stepper draws
    assert lit(document.probe.fields[0]) == {(r, c, 0) for r, c in view.provenance().window}
    assert lit(document.probe.fields[0]) == {(r, c, 0) for r in range(1, 4) for c in range(2, 5)}


def test_stride_padding_dilation_change_shows_at_once(seed):
    document, view = seed
    view.set_step(3)
    document.replace_layer(1, document.layer(1).replace(strides=(2, 2), padding="same"))
    assert len(view.steps) == 3 * 3 * 2
    assert view.step == 3
    step = view.steps[3]
    assert final_value(view.formula_lines()[0]) == pytest.approx(
        float(document.outputs[0][step.cell[0], step.cell[1], 0]), abs=5e-3
    )
    document.replace_layer(1, document.layer(1).replace(strides=(1, 1), padding="valid", dilation_rate=(2, 2)))
    assert len(view.steps) == 2 * 2 * 2
    view.restart()
    prov = view.provenance()
    assert prov.window == ((0, 0), (0, 2), (0, 4), (2, 0), (2, 2), (2, 4), (4, 0), (4, 2), (4, 4))


def test_multichannel_filter_sums_per_channel_then_adds_bias(qtbot):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (5, 5, 3)).astype(np.float32)
    layer = core.Conv2D(2, 3)
    document = Document(core.Pipeline(x.shape, [layer]), x)
    bias = np.array([0.5, -1.0], np.float32)
    document.set_weights(1, [document.layer(1).kernel, bias])
    document.flush()
    view = StepperView(document)
    qtbot.addWidget(view)
    view.set_step(9 + 4)  # filter 2, cell (1, 1)
    lines = view.formula_lines()
    assert [line.split(":")[0] for line in lines[:3]] == ["channel 1", "channel 2", "channel 3"]
    prov = view.provenance()
    for c, line in enumerate(lines[:3]):
        expected = [(t.value, t.coefficient) for t in prov.terms if t.cell[2] == c]
        np.testing.assert_allclose(products(line), expected, atol=5e-3)
    assert "(−1) (bias)" in lines[3]
    assert final_value(lines[3]) == pytest.approx(float(document.outputs[0][1, 1, 1]), abs=5e-3)


def test_pooling_marks_the_maximum_and_divides_by_real_cells(qtbot):
    x = -np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    document = Document(core.Pipeline(x.shape, [core.MaxPooling2D(3, strides=2, padding="same")]), x)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.set_step(8)
    [line] = view.formula_lines()
    assert line == "y[2,2] = max(−28, −29, −34, −35) = −28   (5 padding cells ignored)"
    document.replace_layer(1, core.AveragePooling2D(3, strides=1, padding="same"))
    x5 = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
    document.set_input(x5)
    document.flush()
    view.set_step(1)
    [line] = view.formula_lines()
    # docs/layers.md, pooling: first row [3, 3.5, 4.5, 5.5, 6]; the window of (0, 1) has 6 real cells
    assert line == "y[0,1] = (0 + 1 + 2 + 5 + 6 + 7) / 6 = 21 / 6 = 3.5   (3 padding cells not counted)"
    # a window with one real cell says it once: '(24) / 1 = 24 / 1 = 24' repeated itself
    document.replace_layer(1, core.AveragePooling2D(2, strides=2, padding="same"))
    document.flush()
    view.set_step(8)
    [line] = view.formula_lines()
    assert line == "y[2,2] = 24 / 1 = 24   (3 padding cells not counted)"


def test_transpose_scatters_one_input_cell_and_the_canvas_ends_as_the_output(qtbot):
    x = np.array([[1, 2], [3, 4]], np.float32)[:, :, None]
    layer = core.Conv2DTranspose(1, 3, strides=2, padding="same")
    document = Document(core.Pipeline(x.shape, [layer]), x)
    kernel = np.arange(1, 10, dtype=np.float32).reshape(3, 3, 1, 1)
    document.set_weights(1, [kernel, np.array([0.5], np.float32)])
    document.flush()
    view = StepperView(document)
    qtbot.addWidget(view)
    assert [s.cell for s in view.steps] == [(0, 0), (0, 1), (1, 0), (1, 1)]  # one step per INPUT cell
    view.set_step(1)  # x[0,1] = 2 scattered at rows 0..2, cols 2..4 of the full 5×5 canvas
    lines = view.formula_lines()
    assert lines[0].startswith("input x[0,1] = 2 ")
    # one line per kernel row; out[0,2] already held x[0,0]·W[0,2] = 3: overlapping contributions add up
    assert lines[1] == "  out[0,2]: 3 + 2·1 = 5;   out[0,3]: 0 + 2·2 = 4;   out[0,4]: 0 + 2·3 = 6 (cropped away)"
    assert len(lines) == 1 + 3 + 1
    view.set_step(3)
    canvas, touched, (top, left), (oh, ow) = view.transpose_canvas()
    assert touched.all()
    out = document.outputs[0][:, :, 0]
    np.testing.assert_allclose(canvas[top : top + oh, left : left + ow] + 0.5, out, atol=1e-5)
    # hovering an output cell moves to the step after which that cell is complete
    document.set_probe(1, (2, 2, 0))
    assert view.steps[view.step].cell == (1, 1)
    document.set_probe(0, (0, 1, 0))
    assert view.steps[view.step].cell == (0, 1)


def test_the_scene_exports_to_svg_as_on_screen(seed, tmp_path):
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    _, view = seed
    view.set_step(5)
    svg = QSvgGenerator()
    svg.setFileName(str(tmp_path / "step.svg"))
    svg.setSize(QSize(900, 400))
    painter = QPainter(svg)
    geometries = view.canvas.paint_scene(painter, QRectF(0, 0, 900, 400))
    painter.end()
    assert set(geometries) == {("input", 0), ("filter", 0), ("products", 0), ("output", 0)}
    text = (tmp_path / "step.svg").read_text()
    assert "Filter 1" in text and "x·w, sum 1" in text  # window (1, 1) of the diagonal filter


def test_a_state_the_view_cannot_explain_is_said_not_raised(seed, monkeypatch):
    from cnnviz.core import ConfigError

    document, view = seed

    def fail():
        raise ConfigError("Conv2D #1: cell (9, 9, 0) is outside the 4×4×2 output")

    monkeypatch.setattr(view, "formula_lines", fail)
    document.replace_layer(1, document.layer(1).replace(strides=(2, 2)))  # the view refreshes: no exception
    assert view.formula.text() == "Conv2D #1: cell (9, 9, 0) is outside the 4×4×2 output"


def test_a_large_input_keeps_the_filter_and_products_readable(seed, qtbot):
    """At 256×256 the filter shared the input's 1-pixel cells and vanished: the window-sized grids keep
    readable cells of their own while the big input and output fill their columns."""
    document, view = seed
    x = np.zeros((256, 256, 1), np.float32)
    x[:6, :6, 0] = document.input[:, :, 0]
    document.set_input(x)
    document.flush()
    view.canvas.grab()  # paints
    geo = view.canvas.geometries
    for key in (("filter", 0), ("products", 0)):
        assert geo[key].cell_rect(0, 0).width() >= 12, key
    assert geo[("input", 0)].grid_rect.width() >= 200
    # the small seed keeps one cell size for everything, as the lecture draws it
    x = document.input[:6, :6].copy()
    document.set_input(x)
    document.flush()
    view.canvas.grab()
    geo = view.canvas.geometries
    assert geo[("filter", 0)].cell_rect(0, 0).width() == geo[("input", 0)].cell_rect(0, 0).width()


def test_an_eight_channel_sum_leaves_the_picture_most_of_a_short_dock(qtbot):
    """Eight channel lines filled a fixed 150 px under a 340 px view and squeezed the grids to specks."""
    document = Document()
    document.set_input(np.random.default_rng(0).random((6, 6, 8), dtype=np.float32))
    document.flush()
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(760, 340)
    view.show()
    qtbot.waitExposed(view)
    assert view.formula.text().count("channel") == 8
    assert view.formula.height() <= 0.3 * view.height() + 1
    assert view.canvas.height() > view.formula.height()  # was 120 px under 150
    view.resize(1000, 700)
    qtbot.wait(1)
    assert view.formula.height() == 150  # a tall view gives the sum its full box


def test_channels_beyond_the_three_drawn_are_announced_on_the_picture(qtbot, tmp_path):
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    document = Document()
    document.set_input(np.ones((6, 6, 8), np.float32))
    document.flush()
    view = StepperView(document)
    qtbot.addWidget(view)
    svg = QSvgGenerator()
    svg.setFileName(str(tmp_path / "step.svg"))
    svg.setSize(QSize(760, 220))
    painter = QPainter(svg)
    geometries = view.canvas.paint_scene(painter, QRectF(0, 0, 760, 220))
    painter.end()
    assert {k for k in geometries if k[0] == "input"} == {("input", 0), ("input", 1), ("input", 2)}
    text = (tmp_path / "step.svg").read_text()
    assert "+ 5 more channels" in text
    # the note sits under the third channel, not over it
    assert geometries[("input", 2)].grid_rect.bottom() <= 220 - 14


def test_a_transpose_kernel_stays_readable_beside_a_big_output(qtbot):
    """In the 760×340 dock a 6×6 → 12×12 transpose drew its 3×3 kernel at the output's 7 px cells."""
    x = np.ones((6, 6, 1), np.float32)
    document = Document(core.Pipeline(x.shape, [core.Conv2DTranspose(1, 3, strides=2, padding="same")]), x)
    document.flush()
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(760, 340)
    view.show()
    qtbot.waitExposed(view)
    view.canvas.grab()
    geo = view.canvas.geometries
    assert geo[("kernel", 0)].cell_rect(0, 0).width() >= 12
    # in a roomy view the kernel keeps the output's scale (it is stamped onto it)
    view.resize(1100, 700)
    qtbot.wait(1)
    view.canvas.grab()
    geo = view.canvas.geometries
    assert geo[("kernel", 0)].cell_rect(0, 0).width() == geo[("output", 0)].cell_rect(0, 0).width()


def paint_frame(view, width, height):
    """Paint the step-through scene into a width×height image; the geometries of its grids."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    image = QImage(width, height, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    geometries = view.canvas.paint_scene(painter, QRectF(0, 0, width, height))
    painter.end()
    return geometries


def test_a_three_channel_filter_uses_the_width_of_a_wide_short_canvas(qtbot):
    """The lecture's "a filter is 3-D" slide in the main window's 1275×187 dock: three channel rows stacked
    gave each padded 10×10 input 4 px cells beside empty width; side by side they are readable."""
    import os

    from cnnviz.io import load_session

    s = load_session(os.path.join(os.path.dirname(__file__), "..", "..", "resources", "rgb-edges.cnnviz.json"))
    document = Document(s.pipeline, s.input)
    view = StepperView(document)
    qtbot.addWidget(view)
    for width, height, least in ((1275, 187, 14), (755, 187, 9)):
        geo = paint_frame(view, width, height)
        for c in range(3):
            for kind in ("input", "filter", "products"):
                assert geo[(kind, c)].cell >= least, (width, kind, c, geo[(kind, c)].cell)
        inputs = [geo[("input", c)].grid_rect for c in range(3)]
        assert inputs[0].right() < inputs[1].left() < inputs[1].right() < inputs[2].left()  # side by side
        assert all(r.bottom() <= height for g in geo.values() for r in [g.grid_rect])
    # a tall canvas keeps them one above the other, bigger than side by side would be
    geo = paint_frame(view, 700, 900)
    inputs = [geo[("input", c)].grid_rect for c in range(3)]
    assert inputs[0].bottom() < inputs[1].top() < inputs[1].bottom() < inputs[2].top()
    assert geo[("input", 0)].cell >= 15


def test_one_channel_is_drawn_as_before(seed):
    """One channel has one layout: every grid shares the input's cells (33.4 px in a 755×238 frame, as before)."""
    _, view = seed
    geo = paint_frame(view, 755, 238)
    assert {round(g.cell, 1) for g in geo.values()} == {33.4}


def test_a_cropped_cell_probes_the_cell_it_stands_for(seed):
    document, view = seed
    x = np.zeros((64, 64, 1), np.float32)
    document.set_input(x)
    document.flush()
    view.set_step(view.steps.index(Step(0, (40, 30))))
    crop = view.crop_cells()
    offset = view.model.offset(view.step, "input", 0, crop)
    assert offset != (0, 0)  # drawn as a crop around the window
    assert view.probe_target(("input", 0), (1, 2)) == (0, (offset[0] + 1, offset[1] + 2, 0))
    out = view.model.offset(view.step, "output", 0, crop)
    assert view.probe_target(("output", 0), (0, 0)) == (1, (out[0], out[1], 0))
    assert view.position.text() == "row 41/62  col 31/62"
