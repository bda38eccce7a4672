"""After an edit the step-through shows what a step-through built afresh shows: what it keeps between edits (the
channel arrangement it chose, its readable height, the pictures of its grids, the texts of their numbers)
follows the values, the layer's parameters and the step.

The view's picture is compared pixel by pixel with a new StepperView's of the same size on the same Document,
and with what the window's backing store holds (what the last real repaint left on screen).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication
from ui_support import make_window, on_screen, step_number_px, stroke

from cnnviz import core
from cnnviz.ui.arithmetic import step_painter
from cnnviz.ui.arithmetic.base import CANVAS_MIN_HEIGHT, SceneCanvas, scene_rect
from cnnviz.ui.arithmetic.step_model import StepModel
from cnnviz.ui.arithmetic.step_painter import paint_step, window_readable
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.grid_painter import MIN_TEXT_PX, Grid, cell_number_px, fit_grids, grid_cell, number_patterns


def settle():
    for _ in range(3):
        QApplication.processEvents()


def assert_as_fresh(qtbot, window, view):
    """The view's canvas height and picture equal those of a step-through made now on the same Document (its own
    model, its own search of the arrangement and the height, no picture kept), painted at the same size."""
    settle()
    step_painter._CHOICES.clear()
    fresh = StepperView(view.document)
    qtbot.addWidget(fresh)
    fresh.set_step(view.step)
    viewport = view.scroll.viewport()
    assert view.canvas.minimumHeight() == max(CANVAS_MIN_HEIGHT, fresh.readable_height(viewport.width(),
                                                                                        viewport.height()))
    canvas = SceneCanvas(fresh._paint_scene)  # the fresh view's picture on a canvas of the view's size
    qtbot.addWidget(canvas)
    canvas.resize(view.canvas.size())
    picture = view.canvas.grab().toImage()
    assert picture == canvas.grab().toImage(), "the step-through differs from a fresh one"
    shown = view.canvas.visibleRegion().boundingRect()
    assert not shown.isEmpty()
    assert on_screen(window, view.canvas, shown) == picture.copy(shown), "the screen was not repainted"


def test_painting_changing_the_step_and_the_stride_leave_the_picture_a_fresh_step_through_draws(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    window.show_panel("arithmetic_stepper")
    settle()
    doc, view = window.document, window.arithmetic_views["stepper"]
    assert_as_fresh(qtbot, window, view)

    before = view.model.x.copy()
    window.input_grid.brush.setValue(0.25)
    stroke(qtbot, window.input_grid.heatmap, [(0, 0), (1, 1), (2, 1)])
    assert not np.array_equal(view.model.x, before)
    assert_as_fresh(qtbot, window, view)

    kernel = doc.pipeline.layers[0].kernel.copy()
    window.filter_editor.brush.setValue(-0.5)
    stroke(qtbot, window.filter_editor.slices[0].heatmap, [(0, 0), (1, 2)])
    assert not np.array_equal(doc.pipeline.layers[0].kernel, kernel)
    assert_as_fresh(qtbot, window, view)

    view.set_step(5)  # another window position, then an edit there
    assert view.position.toolTip().endswith(f"step 6 of {len(view.steps)}")
    assert_as_fresh(qtbot, window, view)
    stroke(qtbot, window.input_grid.heatmap, [(2, 3)])
    assert_as_fresh(qtbot, window, view)

    assert doc.set_layer_param(1, "strides", (2, 2))  # other shapes: another arrangement may win
    settle()
    assert view.canvas.geometries[("output", view.steps[view.step].channel)].shape == view.model.y.shape[:2]
    assert_as_fresh(qtbot, window, view)
    assert doc.set_layer_param(1, "strides", (1, 1))
    assert_as_fresh(qtbot, window, view)


def test_a_painted_number_much_wider_than_the_others_gets_the_height_a_fresh_step_through_asks(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, size=(1920, 1080))
    window.show_panel("arithmetic_stepper")
    doc = window.document
    doc.set_pipeline(core.Pipeline((6, 6, 1), [core.Conv2D(1, 5, padding="same")]), np.ones((6, 6, 1), np.float32))
    doc.select_layer(1)
    settle()
    view = window.arithmetic_views["stepper"]
    assert_as_fresh(qtbot, window, view)
    narrow = view.canvas.minimumHeight()

    window.input_grid.brush.setValue(2)  # as narrow as the 1s: the same height, no search
    searches = []
    search = view._search_readable_height
    view._search_readable_height = lambda *a: searches.append(a) or search(*a)
    stroke(qtbot, window.input_grid.heatmap, [(1, 1)])
    settle()
    assert view.model.x[1, 1, 0] == 2 and searches == []
    assert view.canvas.minimumHeight() == narrow
    assert_as_fresh(qtbot, window, view)

    window.input_grid.brush.setValue(-12.25)  # "−12.25" in the window: every number of the figure gets smaller
    stroke(qtbot, window.input_grid.heatmap, [(0, 0), (0, 1)])
    settle()
    assert view.model.x[0, 0, 0] == -12.25
    assert view.canvas.minimumHeight() > narrow  # taller, so that the numbers stay readable
    assert_as_fresh(qtbot, window, view)
    assert searches

    window.input_grid.brush.setValue(1)  # narrow again: back to the first height
    stroke(qtbot, window.input_grid.heatmap, [(0, 0), (0, 1)])
    settle()
    assert view.canvas.minimumHeight() == narrow
    assert_as_fresh(qtbot, window, view)


def _picture(model, k: int = 0, size=(743, 508)) -> QImage:
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_step(painter, scene_rect(*size), model, k)
    painter.end()
    return image


def _model(layer, x) -> StepModel:
    return StepModel(layer, x, np.asarray(layer(x)), 1)


def test_the_arrangement_kept_for_a_layout_is_the_one_a_fresh_search_picks_after_a_value_or_stride_change(qtbot):
    """A 10×10×3 input in a 731×500 picture: stacked channels win at stride 1, side by side at stride 2."""
    x = np.random.default_rng(0).random((10, 10, 3)).astype(np.float32)
    dense = core.Conv2D(1, 3, strides=1, padding="same")
    strided = core.Conv2D(1, 3, strides=2, padding="same")
    strided.kernel = dense.kernel
    strided.bias = dense.bias
    _picture(_model(dense, x))  # the arrangement searched and kept for stride 1
    painted = x.copy()
    painted[4, 4, 1] = -12.25  # a value edit in the window: the kept arrangement, new numbers
    kept = _picture(_model(dense, painted), k=36)
    step_painter._CHOICES.clear()
    assert kept == _picture(_model(dense, painted), k=36)

    stacked = _model(dense, x)
    _picture(stacked)
    side = _model(strided, x)  # another stride: searched again, not the stride-1 arrangement
    after_stride = _picture(side)
    assert not stacked.arrangements[next(iter(stacked.arrangements))][2]  # stacked: a title per grid
    assert side.arrangements[next(iter(side.arrangements))][2]  # side by side: a heading per channel
    step_painter._CHOICES.clear()
    assert after_stride == _picture(_model(strided, x))


def _readable_laid_out(rect, model, k) -> bool:
    """Whether step `k` in `rect`, laid out and fitted as the paint does it, writes the input's and the filter's
    numbers, and each crop's cells hold every number of the whole map it cuts."""
    if step_number_px(rect, model, k) < MIN_TEXT_PX:
        return False
    crop = step_painter.crop_cells(rect, model, k)
    placed = step_painter._best_arrangement(rect, model, k, crop)[0]
    for key, r, g in [p for group in step_painter._grid_groups(placed) for p in fit_grids(group)]:
        if key[0] not in ("input", "output"):
            continue
        whole = model.input_plane(key[1]) if key[0] == "input" else model.y[:, :, key[1]]
        if whole.shape != g.values.shape:  # a crop: its cells hold every number of the whole map
            if cell_number_px(grid_cell(r, g), number_patterns(Grid(whole, (0.0, 1.0)))) is None:
                return False
    return True


def test_whether_a_step_is_readable_as_worked_out_from_the_cells_its_numbers_need_is_what_the_laid_out_grids_say(
        qtbot):
    """window_readable asks the least crop's kept cells against the cell sides the numbers need; the laid-out
    grids of the crop the paint draws must say the same, small maps and cropped ones, in rooms that fit and not."""
    rng = np.random.default_rng(1)
    # (layer, a factor of its kernel): weights like −123.45 may stay bare where the input's numbers are written
    layers = [(lambda: core.Conv2D(2, 3, padding="same"), 1), (lambda: core.Conv2D(1, 5, strides=2), 1),
              (lambda: core.MaxPooling2D(2), None), (lambda: core.DepthwiseConv2D(3, padding="same"), 1),
              (lambda: core.Conv2D(1, 5), -321)]
    answers = set()
    for make, factor in layers:
        for shape in ((9, 9, 1), (9, 9, 3), (40, 36, 2)):
            layer, x = make(), rng.random(shape).astype(np.float32)
            if factor is not None:
                layer(x)  # built: a kernel to scale
                layer.kernel = layer.kernel * factor
            for scale in (1, 30, -0.01):  # every step model anew, cells kept from the scales before
                model = _model(layer, (x - 0.5) * scale)
                for width, height in ((400, 130), (731, 300), (731, 500), (860, 420), (1100, 900)):
                    rect = scene_rect(width, height)
                    for k in (0, len(model.steps) // 2, len(model.steps) - 1):
                        readable = window_readable(rect, model, k)
                        assert readable == _readable_laid_out(rect, model, k), (layer, shape, scale, rect, k)
                        answers.add(readable)
    assert answers == {True, False}


def _patches(view) -> int:
    return view.canvas.grid_cache.patches


def test_grids_drawn_again_cell_by_cell_after_edits_of_values_highlights_colours_and_size_equal_a_fresh_drawing(
        qtbot, tmp_path):
    """The canvas keeps each grid's last picture and draws into it only the cells an edit changed (GridCache):
    after every kind of edit its picture is a fresh step-through's, and the screen shows it."""
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    window.show_panel("arithmetic_stepper")
    settle()
    doc, view = window.document, window.arithmetic_views["stepper"]
    view.set_step(7)  # a window inside the input: the input, products and output grids all show painted cells
    assert_as_fresh(qtbot, window, view)

    patches = _patches(view)
    window.input_grid.brush.setValue(0)  # numbers as wide as before: the grids keep their font
    stroke(qtbot, window.input_grid.heatmap, [(2, 3)])  # one input cell under the window (rows 1–3, cols 3–5)
    assert_as_fresh(qtbot, window, view)
    assert _patches(view) > patches  # the input grid was patched, not drawn whole

    stroke(qtbot, window.input_grid.heatmap, [(4, 1)])  # outside this window: only the input grid changes
    assert_as_fresh(qtbot, window, view)

    view.set_step(8)  # the window moves: highlights and the output's next cell
    assert_as_fresh(qtbot, window, view)

    window.input_grid.brush.setValue(3)  # wider than the input's 0..1: every input cell gets another grey
    stroke(qtbot, window.input_grid.heatmap, [(0, 5)])
    assert_as_fresh(qtbot, window, view)
    window.input_grid.brush.setValue(-12.25)  # one much wider number: every input number gets smaller
    stroke(qtbot, window.input_grid.heatmap, [(3, 3)])
    assert_as_fresh(qtbot, window, view)
    window.input_grid.brush.setValue(1)
    stroke(qtbot, window.input_grid.heatmap, [(3, 3)])  # and back
    assert_as_fresh(qtbot, window, view)

    patches = _patches(view)
    kernel = doc.pipeline.layers[0].kernel[:, :, 0, 0]
    window.filter_editor.brush.setValue(0)  # one weight: the filter, the products and the output change
    stroke(qtbot, window.filter_editor.slices[0].heatmap, [tuple(int(i) for i in np.argwhere(kernel != 0)[0])])
    assert kernel.tolist() != doc.pipeline.layers[0].kernel[:, :, 0, 0].tolist()
    assert_as_fresh(qtbot, window, view)
    assert _patches(view) > patches

    doc.undo_stack.undo()  # back to values drawn before
    doc.undo_stack.undo()
    assert_as_fresh(qtbot, window, view)

    window.resize(1920, 1080)  # other cells and fonts: every grid drawn anew at its new size
    assert_as_fresh(qtbot, window, view)
    stroke(qtbot, window.input_grid.heatmap, [(3, 1)])
    assert_as_fresh(qtbot, window, view)
    window.resize(1366, 768)
    stroke(qtbot, window.input_grid.heatmap, [(4, 1)])
    assert_as_fresh(qtbot, window, view)


def test_a_128_pixel_three_channel_step_through_patched_by_input_and_weight_paints_equals_a_fresh_one(qtbot, tmp_path):
    """Three channels side by side or stacked, crops of a big input that move with the window."""
    rng = np.random.default_rng(2)
    window = make_window(qtbot, tmp_path, size=(1920, 1080))
    window.show_panel("arithmetic_stepper")
    doc = window.document
    doc.set_pipeline(core.Pipeline((40, 40, 3), [core.Conv2D(4, 3, padding="same"), core.ReLU()]),
                     rng.random((40, 40, 3), dtype=np.float32))
    doc.select_layer(1)
    settle()
    view = window.arithmetic_views["stepper"]
    view.set_step(45)
    assert_as_fresh(qtbot, window, view)
    for k in range(6):
        cell = (int(rng.integers(0, 4)), int(rng.integers(3, 8)), int(rng.integers(3)))
        doc.paint_cells([cell], float(rng.choice([0.2, 0.9])))
        assert_as_fresh(qtbot, window, view)
        doc.paint_weights(1, [(k % 3, (k + 1) % 3, k % 3, 0)], float(rng.choice([-0.4, 0.3])))
        assert_as_fresh(qtbot, window, view)
    assert _patches(view) > 0
