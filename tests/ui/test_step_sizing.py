"""The step-through keeps its readable canvas height by shapes, parameters and room: a painted number does not
search it again, a changed kernel or stride does (a stale height would leave the new picture's numbers too
small, or scroll a picture that fits)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication
from ui_support import make_window, step_number_px, stroke

from cnnviz import core
from cnnviz.ui.arithmetic.base import CANVAS_MIN_HEIGHT, scene_rect
from cnnviz.ui.arithmetic.step_model import Step
from cnnviz.ui.grid_painter import MIN_TEXT_PX


def settle():
    for _ in range(3):
        QApplication.processEvents()


def fresh_height(view) -> int:
    """The canvas height a search from scratch asks for in the view's room now."""
    viewport = view.scroll.viewport()
    return max(CANVAS_MIN_HEIGHT, view._search_readable_height(viewport.width(), viewport.height()))


def test_a_kernel_or_stride_change_resizes_the_step_through_and_a_painted_cell_does_not_search_again(
        qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, size=(1920, 1080))
    window.show_panel("arithmetic_stepper")
    doc = window.document
    x = np.random.default_rng(0).random((6, 6, 1), dtype=np.float32)
    doc.set_pipeline(core.Pipeline((6, 6, 1), [core.Conv2D(1, 3, padding="same")]), x)
    doc.select_layer(1)
    settle()
    view = window.arithmetic_views["stepper"]
    assert view.canvas.minimumHeight() == fresh_height(view) == CANVAS_MIN_HEIGHT  # a 3×3 filter fits its dock
    viewport = view.scroll.viewport()
    room = (viewport.width(), viewport.height())  # asked again after the change: it must follow the kernel
    assert view.readable_height(*room) == 0

    # same shapes, another kernel: the 5×5 filter takes width from the input, whose cells need more height
    assert doc.set_layer_param(1, "kernel_size", (5, 5))
    settle()
    grown = view.canvas.minimumHeight()
    assert view.readable_height(*room) == view._search_readable_height(*room) > 0
    assert grown == fresh_height(view) > CANVAS_MIN_HEIGHT
    window.grab()
    assert view.canvas.geometries[("filter", 0)].shape == (5, 5)
    canvas = view.canvas
    assert step_number_px(scene_rect(canvas.width(), canvas.height()), view.model, view.step) >= MIN_TEXT_PX

    # a stride changes the output's shape: searched again, and the picture shows the 3×3 output
    assert doc.set_layer_param(1, "strides", (2, 2))
    settle()
    assert view.canvas.minimumHeight() == fresh_height(view)
    window.grab()
    assert view.canvas.geometries[("output", 0)].shape == (3, 3)
    assert view.canvas.geometries[("filter", 0)].shape == (5, 5)

    # painting the input changes numbers only: no search, the same height, the new number in the picture
    searches = []
    search = view._search_readable_height
    monkeypatch.setattr(view, "_search_readable_height", lambda *a: searches.append(a) or search(*a))
    height = view.canvas.minimumHeight()
    before = doc.input.copy()
    stroke(qtbot, window.input_grid.heatmap, [(0, 0), (1, 1)])
    settle()
    assert not np.array_equal(doc.input, before)
    assert searches == []
    assert view.canvas.minimumHeight() == height
    np.testing.assert_array_equal(view.model.x, doc.input)


def test_painting_the_input_asks_no_new_layout_of_the_step_through_or_the_window(qtbot, tmp_path):
    """The playback bar set its spin boxes' prefix and range on every refresh; Qt re-lays out the whole window
    for that even when nothing differs."""
    from PySide6.QtCore import QEvent, QObject

    window = make_window(qtbot, tmp_path)
    window.show_panel("arithmetic_stepper")
    settle()
    view = window.arithmetic_views["stepper"]
    stroke(qtbot, window.input_grid.heatmap, [(1, 1), (1, 2)])  # the first edit enables Undo: the toolbar's layout
    settle()
    requests = []

    class Requests(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.LayoutRequest and watched in (window, view, view.bar):
                requests.append(type(watched).__name__)
            return False

    spy = Requests()
    QApplication.instance().installEventFilter(spy)
    try:
        before = view.model.x.copy()
        stroke(qtbot, window.input_grid.heatmap, [(0, 2), (0, 3)])
        settle()
    finally:
        QApplication.instance().removeEventFilter(spy)
    assert not np.array_equal(view.model.x, before)  # the step-through shows the painted input
    assert requests == []
    assert view.bar.filter_box.prefix() == "filter " and view.bar.row_slider.maximum() == view.model.steps.dims[2] - 1


def big_session(window, shape=(128, 128, 3), decimals=None):
    """A 3×3 same Conv2D on a random `shape` input (rounded to `decimals` in 0.01..0.99), selected, at the step that
    fills output cell (40, 60)."""
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    if decimals is not None:
        x = np.round(0.01 + 0.98 * x, decimals).astype(np.float32)
    window.document.set_pipeline(core.Pipeline(shape, [core.Conv2D(4, 3, padding="same")]), x)
    window.document.select_layer(1)
    window.show_panel("arithmetic_stepper")
    settle()
    view = window.arithmetic_views["stepper"]
    view.set_step(view.steps.index(Step(0, (40, 60))))
    settle()
    window.grab()
    return x, view


def assert_readable_crop_around_the_window(x, view):
    """Every grid that crops a map has cells that hold every number of that map, the window and its neighbours
    are in the crop, and every title lies inside the canvas."""
    from PySide6.QtCore import QRectF

    from cnnviz.ui.grid_painter import Grid, cell_number_px, number_patterns

    geometries, crop = view.canvas.geometries, view.crop_cells()
    model = view.model
    maps = {("input", c): x[:, :, c] for c in range(x.shape[2])} | {("output", 0): model.y[:, :, 0]}
    for key, values in maps.items():
        geo = geometries[key]
        assert geo.shape == crop, key
        assert cell_number_px(geo.cell, number_patterns(Grid(values, (0.0, 1.0)))) is not None, (key, geo.cell)
    (r0, c0) = model.offset(view.step, "input", 0, crop)
    window = np.array(model.window(view.step))  # input rows 39–41, cols 59–61
    assert r0 < window[:, 0].min() and window[:, 0].max() < r0 + crop[0] - 1
    assert c0 < window[:, 1].min() and window[:, 1].max() < c0 + crop[1] - 1
    canvas = QRectF(view.canvas.rect())
    for key, geo in geometries.items():  # side by side, the channels' blocks have headings instead
        assert geo.title_rect.isEmpty() or canvas.contains(geo.title_rect), key
    rect = scene_rect(view.canvas.width(), view.canvas.height())
    assert step_number_px(rect, model, view.step) >= MIN_TEXT_PX


@pytest.mark.parametrize("size, decimals", [((1366, 768), None), ((1920, 1080), None), ((1024, 700), 2)])
def test_a_128_pixel_three_channel_step_through_is_a_readable_crop_around_the_window(qtbot, tmp_path, size,
                                                                                      decimals):
    """A fixed 16×16 crop gave 1–3 px input cells, bare of numbers. At 1024×700 the dock is 391 px wide: no width
    for the channels and the output in a row, so the output goes under them; numbers of two decimals fit there
    (a map with a number below 0.005, written 3e−03, needs wider cells than that dock has beside the filter)."""
    window = make_window(qtbot, tmp_path, size=size)
    x, view = big_session(window, decimals=decimals)
    assert_readable_crop_around_the_window(x, view)
    assert view.bar.row_slider.value() == 40  # the step shown is the one asked for


def test_the_crop_follows_a_resize_of_the_step_through(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    x, view = big_session(window)
    small = view.crop_cells()
    holder = window.docks["arithmetic"]
    holder.setFloating(True)  # the step-through alone in a large window: more room for cells
    holder.resize(1800, 900)
    settle()
    window.grab()
    holder.grab()
    large = view.crop_cells()
    assert large[0] >= small[0] and large[1] >= small[1] and large != small
    assert_readable_crop_around_the_window(x, view)

