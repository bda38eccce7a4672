"""Maps and panels update only what an edit changed, and never show stale numbers for it.

A map repaints only the cells whose values changed (same colour range) and nothing when none did; a hidden
step-through catches up when it is shown. What is on screen is read from the window's backing store (the
pixels the partial repaints left), not from a fresh render.
"""

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication

from cnnviz.ui.colormaps import (
    DIVERGING,
    GREYS,
    format_value,
    input_levels,
    symmetric_levels,
)
from cnnviz.ui.heatmap import Heatmap
from tests.ui.ui_support import (
    assert_maps_equal_fresh_drawings,
    make_window,
    on_screen,
    stroke,
)


class CountingHeatmap(Heatmap):
    def __init__(self):
        super().__init__()
        self.painted: list[QRect] = []

    def paintEvent(self, ev):  # noqa: N802 (Qt name)
        self.painted.append(ev.rect())
        super().paintEvent(ev)


def _shown_map(qtbot, values):
    hm = CountingHeatmap()
    qtbot.addWidget(hm)
    hm.set_data(values, (-9, 9), DIVERGING)
    hm.fit(40)
    hm.resize(hm.sizeHint())
    hm.show()
    qtbot.waitExposed(hm)
    QApplication.processEvents()
    hm.painted.clear()
    return hm


def test_a_map_repaints_only_the_cells_that_changed_and_writes_their_new_numbers(qtbot):
    values = np.arange(36, dtype=np.float32).reshape(6, 6) / 4 - 4
    hm = _shown_map(qtbot, values)
    hm.set_data(values.copy(), (-9, 9), DIVERGING)  # the same numbers: nothing to repaint
    QApplication.processEvents()
    assert hm.painted == []
    changed = values.copy()
    changed[4, 1] = 2.5  # as long as "−2.75" was: the numbers keep their size
    hm.set_data(changed, (-9, 9), DIVERGING)
    QApplication.processEvents()
    assert len(hm.painted) == 1 and hm.painted[0].contains(hm.cell_rect(4, 1).toAlignedRect())
    assert hm.painted[0].width() < hm.width() / 2 and hm.painted[0].height() < hm.height() / 2
    _, cells = hm.overlay._cell_texts()
    assert [text for _, _, text, _ in cells] == [format_value(v) for v in changed.ravel()]


def test_a_longer_number_repaints_the_whole_map_in_its_new_size(qtbot):
    values = np.ones((6, 6), np.float32)
    hm = _shown_map(qtbot, values)
    changed = values.copy()
    changed[0, 0] = -1.25  # "−1.25" is longer than every "1": every number gets smaller
    hm.set_data(changed, (-9, 9), DIVERGING)
    QApplication.processEvents()
    assert hm.painted == [hm.rect()]


def test_a_new_colour_range_repaints_the_whole_map(qtbot):
    values = np.ones((6, 6), np.float32)
    hm = _shown_map(qtbot, values)
    changed = values.copy()
    changed[2, 2] = 0
    hm.set_data(changed, (-4, 4), DIVERGING)  # every cell's colour changes with the range
    QApplication.processEvents()
    assert hm.painted == [hm.rect()]


def test_after_a_brush_stroke_every_map_on_screen_equals_a_fresh_drawing_of_its_values(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    QApplication.processEvents()
    doc = window.document
    stroke(qtbot, window.input_grid.heatmap, [(0, 0), (1, 1), (2, 1)])  # the seed's 1s and 0s, some now −1
    doc.flush()
    QApplication.processEvents()
    for card in window.layer_views.cards():
        hm = card.heatmap
        values = doc.levels[card.level][:, :, card.channel]
        np.testing.assert_array_equal(hm.image.image, values)
        _, cells = hm.overlay._cell_texts()
        assert [text for _, _, text, _ in cells] == [format_value(v) for v in values.ravel()]
        assert on_screen(window, hm) == hm.grab().toImage(), f"map {card.level}.{card.channel} is stale"


def test_a_step_through_hidden_during_an_edit_shows_the_new_numbers_when_shown(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    doc = window.document
    stepper = window.arithmetic_views["stepper"]
    window.show_panel("arithmetic_matrix")
    qtbot.waitUntil(lambda: stepper.visibleRegion().isEmpty(), timeout=2000)
    before = stepper.formula_lines()[0]
    doc.paint_cells([(0, 0, 0), (0, 1, 0), (1, 0, 0)], 5.0)
    doc.flush()
    QApplication.processEvents()
    assert stepper.formula_lines()[0] == before  # behind the matrix page: skipped
    window.show_panel("arithmetic_stepper")
    qtbot.waitUntil(lambda: not stepper.visibleRegion().isEmpty(), timeout=2000)
    QApplication.processEvents()
    line = stepper.formula_lines()[0]
    assert line != before and "5·" in line
    assert line.endswith(f"= {format_value(doc.outputs[0][0, 0, 0])}"), line
    np.testing.assert_array_equal(stepper.model.x, doc.input)


def test_the_step_through_lays_each_step_out_once_and_keeps_only_a_few(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    stepper = window.arithmetic_views["stepper"]
    QApplication.processEvents()
    model = stepper.model
    assert len(model.arrangements) >= 1  # the sizing's layout, which the paint used too
    for k in range(len(stepper.steps)):  # the seed's 32 steps, each painted
        stepper.set_step(k)
        stepper.canvas.repaint()
    assert stepper.model is model and 1 <= len(model.arrangements) <= 16
    assert stepper.formula_lines()[0].startswith(f"y[{stepper.steps[-1].cell[0]},{stepper.steps[-1].cell[1]}]")


def _window_with(qtbot, tmp_path, shape, layers, size=(1920, 1080)):
    from cnnviz.core import Pipeline
    from cnnviz.ui.document import Document

    x = np.random.default_rng(3).random(shape, dtype=np.float32)
    return make_window(qtbot, tmp_path, Document(Pipeline(shape, layers), x), size=size)


def test_after_strokes_that_recompute_some_rows_every_map_equals_a_fresh_drawing(qtbot, tmp_path):
    from cnnviz.core.layers import Activation, Conv2D, MaxPooling2D, ReLU, UpSampling2D

    window = _window_with(qtbot, tmp_path, (10, 8, 2), [
        Conv2D(3, 3, padding="same"), ReLU(), MaxPooling2D(2), Conv2D(2, 3, padding="same"),
        UpSampling2D(2, "bilinear"), Activation("tanh")])
    doc = window.document
    QApplication.processEvents()
    grid = window.input_grid.heatmap
    for cells in ([(1, 1), (1, 3)], [(6, 2), (7, 2)], [(9, 7)], [(4, 0), (4, 1), (5, 1)]):
        stroke(qtbot, grid, cells)
        doc.flush()
        QApplication.processEvents()
        # the recompute went by rows: the painted rows, and the later levels' rows they reach
        assert doc.changed_rows(0, doc._change[0][0]) == (min(r for r, _ in cells), max(r for r, _ in cells) + 1)
        assert_maps_equal_fresh_drawings(window)


def test_strokes_on_a_large_input_leave_every_map_as_a_fresh_drawing(qtbot, tmp_path):
    from cnnviz.core.layers import Activation, Conv2D, MaxPooling2D, UpSampling2D

    window = _window_with(qtbot, tmp_path, (64, 64, 3), [
        Conv2D(4, 3, padding="same"), Activation("relu"), MaxPooling2D(2), Conv2D(2, 3, padding="same"),
        UpSampling2D(2)])
    doc = window.document
    QApplication.processEvents()
    grid = window.input_grid.heatmap
    for cells in ([(10, 10), (20, 30)], [(63, 0), (60, 5)], [(0, 63)]):
        stroke(qtbot, grid, cells)
        doc.flush()
        QApplication.processEvents()
        assert_maps_equal_fresh_drawings(window)
    doc.undo_stack.undo()  # a whole new input: every map compared whole
    doc.flush()
    QApplication.processEvents()
    assert_maps_equal_fresh_drawings(window)


def test_cells_named_since_another_array_than_the_one_shown_compare_the_whole_map(qtbot):
    from cnnviz.ui.level_changes import LevelChange

    hm = _shown_map(qtbot, np.zeros((6, 6), np.float32))
    a, b = np.zeros((6, 6, 1), np.float32), np.ones((6, 6, 1), np.float32)
    hm.set_data(a[:, :, 0], (-9, 9), DIVERGING, source=a)
    stale = np.zeros((6, 6, 1), np.float32)  # equal to `a`, but not the array the map shows
    hm.set_data(b[:, :, 0], (-9, 9), DIVERGING, b, stale, LevelChange(b, stale, (0, 1)).cells(0))
    np.testing.assert_array_equal(hm.image.image, b[:, :, 0])
    c = b.copy()
    c[2, 3] = 4
    hm.set_data(c[:, :, 0], (-9, 9), DIVERGING, c, b, LevelChange(c, b, (2, 3)).cells(0))  # it shows b: one cell
    np.testing.assert_array_equal(hm.image.image, c[:, :, 0])


def _expected_levels(views, card):
    """The colour range a map of `card` must show, from the document's levels read whole."""
    levels = views.document.levels
    level = levels[card.level]
    if card.level == 0:
        return input_levels(level)
    if views.range_mode == "map":
        return symmetric_levels(level[:, :, card.channel])
    if views.range_mode == "global":
        return symmetric_levels(*levels[1:])
    return symmetric_levels(level)


def _fresh_drawing(views, card, size):
    """A new Heatmap given the card's level values whole, drawn at `size` (what the map must look like)."""
    fresh = Heatmap()
    fresh.set_show_values(views.show_values)
    fresh.set_data(views.document.levels[card.level][:, :, card.channel], _expected_levels(views, card),
                   DIVERGING if card.level else GREYS)
    fresh.set_hatched(card.heatmap._overlay.hatched)
    fresh.resize(size)
    return fresh.grab().toImage()


def _assert_on_screen_as_fresh(window, cards):
    """Each card's map, scrolled into view, is on screen (backing store) what a fresh Heatmap draws. The pixels
    are read before anything asks the map for its values."""
    views = window.layer_views
    for card in cards:
        views.ensureWidgetVisible(card.heatmap, 0, 0)
        QApplication.processEvents()
        hm = card.heatmap
        assert hm.visibleRegion().boundingRect() == hm.rect(), f"map {card.level}.{card.channel} not in view"
        shot = on_screen(window, hm)
        assert shot == _fresh_drawing(views, card, hm.size()), f"map {card.level}.{card.channel} is stale"


def _paint_strokes(qtbot, window, strokes):
    doc = window.document
    for cells in strokes:
        stroke(qtbot, window.input_grid.heatmap, cells)
        doc.flush()
        QApplication.processEvents()


def test_maps_scrolled_away_during_strokes_show_the_new_numbers_when_scrolled_back(qtbot, tmp_path):
    from cnnviz.core.layers import Activation, Conv2D, MaxPooling2D, UpSampling2D

    window = _window_with(qtbot, tmp_path, (48, 48, 3), [
        Conv2D(4, 3, padding="same"), Activation("relu"), MaxPooling2D(2), Conv2D(3, 3, padding="same"),
        UpSampling2D(2), Activation("tanh")], size=(1366, 768))
    QApplication.processEvents()
    views = window.layer_views
    cards = views.cards()
    away = [card for card in cards if not card.heatmap.in_view()]
    assert len(away) >= len(cards) // 3  # the case in question: many maps out of view during the edits
    _paint_strokes(qtbot, window, [[(3, 3), (3, 20)], [(40, 5), (30, 6)], [(47, 47)]])
    assert any(card.heatmap._pending is not None for card in away)  # they kept only a reference
    _assert_on_screen_as_fresh(window, cards[::-1])  # from the far end back: each was out of view
    _paint_strokes(qtbot, window, [[(10, 10), (12, 30)]])  # now the first maps are out of view
    _assert_on_screen_as_fresh(window, cards)


def test_per_map_ranges_after_strokes_equal_each_channel_read_whole(qtbot, tmp_path):
    from cnnviz.core.layers import Conv2D, MaxPooling2D, ReLU

    window = _window_with(qtbot, tmp_path, (24, 24, 2), [
        Conv2D(3, 3, padding="same"), ReLU(), MaxPooling2D(2), Conv2D(2, 3)])
    views = window.layer_views
    window.set_range_mode("map")
    QApplication.processEvents()
    for cells in ([(2, 2), (2, 9)], [(20, 3)], [(11, 11), (13, 20)]):
        _paint_strokes(qtbot, window, [cells])
        for card in views.cards():
            assert card.heatmap.levels == _expected_levels(views, card)
    _assert_on_screen_as_fresh(window, views.cards())
    window.set_range_mode("layer")  # back to one range per level: the per-map extremes are dropped
    _paint_strokes(qtbot, window, [[(5, 5)]])
    window.set_range_mode("map")
    _paint_strokes(qtbot, window, [[(6, 7), (8, 7)]])
    _assert_on_screen_as_fresh(window, views.cards())


def test_the_seed_after_strokes_with_numbers_shown_and_hidden_equals_fresh_drawings(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    QApplication.processEvents()
    views = window.layer_views
    _paint_strokes(qtbot, window, [[(0, 0), (1, 1), (2, 1)], [(5, 5)]])
    assert any(card.heatmap.overlay.values_drawn for card in views.cards())
    _assert_on_screen_as_fresh(window, views.cards())
    views.set_show_values(False)
    _paint_strokes(qtbot, window, [[(3, 0), (3, 4)]])
    _assert_on_screen_as_fresh(window, views.cards())
    views.set_show_values(True)
    _paint_strokes(qtbot, window, [[(4, 4), (4, 2)]])
    _assert_on_screen_as_fresh(window, views.cards())


def test_a_weight_paint_recomputing_whole_levels_leaves_every_map_as_a_fresh_drawing(qtbot, tmp_path):
    from cnnviz.core.layers import Conv2D, MaxPooling2D, ReLU

    window = _window_with(qtbot, tmp_path, (20, 20, 2), [Conv2D(3, 3, padding="same"), ReLU(), MaxPooling2D(2),
                                                         Conv2D(2, 3, padding="same")])
    doc = window.document
    QApplication.processEvents()
    for filt, value in ((0, 0.5), (2, -1.0), (1, 0.0)):
        doc.paint_weights(1, [(1, 1, 0, filt)], value)
        doc.flush()
        QApplication.processEvents()
        _assert_on_screen_as_fresh(window, window.layer_views.cards())
