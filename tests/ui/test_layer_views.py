"""Layer views: one labelled map per channel of every level, colours, ranges, and hover probes."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from cnnviz import core
from cnnviz.ui import layer_views
from cnnviz.ui.colormaps import DIVERGING, GREYS, input_levels, symmetric_levels
from ui_support import highlighted, hover, lit, make_window, stroke


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def test_every_level_and_channel_is_shown_and_labelled(window):
    views = window.findChild(QWidget, "layerViews")
    doc = window.document
    assert [c.title.text() for c in views.columns] == ["Input", "Conv2D #1", "MaxPooling2D #2", "UpSampling2D #3"]
    subtitles = [c.subtitle.text() for c in views.columns]
    assert subtitles == ["6×6×1", "output 4×4×2", "output 2×2×2", "output 6×6×2"]
    assert [len(c.cards) for c in views.columns] == [1, 2, 2, 2]
    assert views.columns[1].cards[1].caption.text() == "map 2 (filter 2)"
    for card in views.cards():
        np.testing.assert_array_equal(card.heatmap.image.image, doc.levels[card.level][:, :, card.channel])
    # greys for the input, diverging centred on 0 for outputs
    input_card = views.cards(0)[0]
    assert input_card.heatmap._lut is GREYS and input_card.heatmap.levels == input_levels(doc.input)
    for card in views.cards()[1:]:
        lo, hi = card.heatmap.levels
        assert card.heatmap._lut is DIVERGING and lo == -hi
    # small maps show their numbers; cells keep one size so 6×6 → 4×4 → 2×2 is visible
    sides = [c.cards[0].heatmap.width() for c in views.columns]
    assert sides[0] > sides[1] > sides[2] and sides[3] == sides[0]


def test_colour_range_per_map_layer_global(window):
    views = window.layer_views
    doc = window.document
    doc.paint_cells([(0, 0, 0)], 9.0)
    doc.flush()
    conv = doc.outputs[0]
    window.action_set.range["map"].trigger()
    per_map = [symmetric_levels(conv[:, :, 0]), symmetric_levels(conv[:, :, 1])]
    assert [c.heatmap.levels for c in views.cards(1)] == per_map
    assert views.cards(1)[0].colorbar.isVisibleTo(views) and not views.columns[1].colorbar.isVisibleTo(views)
    window.action_set.range["layer"].trigger()
    assert {c.heatmap.levels for c in views.cards(1)} == {symmetric_levels(conv)}
    assert views.columns[1].colorbar.isVisibleTo(views) and not views.cards(1)[0].colorbar.isVisibleTo(views)
    window.action_set.range["global"].trigger()
    expected = symmetric_levels(*doc.outputs)
    assert {c.heatmap.levels for c in views.cards()[1:]} == {expected}


def test_hovering_an_output_cell_lights_its_receptive_field_everywhere(window, qtbot):
    doc = window.document
    views = window.layer_views
    pooled = views.cards(2)[0].heatmap
    hover(qtbot, pooled, (1, 0))
    expected = core.receptive_field(doc.pipeline, doc.levels, 2, (1, 0, 0))
    assert {k: lit(v) for k, v in doc.probe.fields.items()} == expected
    for card in views.cards():
        want = {(r, c) for r, c, ch in expected.get(card.level, ()) if ch == card.channel}
        assert highlighted(card.heatmap) == want
    assert highlighted(window.input_grid.heatmap) == {(r, c) for r, c, _ in expected[0]}
    assert "MaxPooling2D #2 output: row 2, col 1, channel 1" in window.statusBar().currentMessage()
    # a click pins: moving elsewhere keeps it, clicking again releases it
    stroke(qtbot, pooled, [(1, 0)])
    hover(qtbot, views.cards(1)[0].heatmap, (0, 0))
    assert doc.probe.level == 2 and doc.probe.pinned
    assert doc.selected_layer == 2
    stroke(qtbot, pooled, [(1, 0)])
    assert doc.probe is None or not doc.probe.pinned


def test_big_session_builds_and_follows_edits(window, qtbot):
    doc = window.document
    x = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    pipeline = core.Pipeline((64, 64, 3), [core.Conv2D(8, 3, padding="same"), core.ReLU(), core.MaxPooling2D(2),
                                           core.Conv2D(8, 3), core.UpSampling2D(2, "bilinear")])
    doc.set_pipeline(pipeline, x)
    views = window.layer_views
    assert [len(c.cards) for c in views.columns] == [3, 8, 8, 8, 8, 8]
    assert views.columns[5].subtitle.text() == "output 60×60×8"
    stroke(qtbot, window.input_grid.heatmap, [(5, 5), (5, 20)])
    doc.flush()
    for card in views.cards():
        np.testing.assert_array_equal(card.heatmap.image.image, doc.levels[card.level][:, :, card.channel])


def test_clicking_a_column_selects_its_layer(window, qtbot):
    views = window.layer_views
    column = views.columns[3]
    qtbot.mouseClick(column, Qt.MouseButton.LeftButton, pos=column.title.geometry().center())
    assert window.document.selected_layer == 3
    assert "UpSampling2D #3" in window.pipeline_panel.form_box.title()
    assert window.filter_editor.slices == []


def test_the_selected_layers_level_is_tinted_and_selecting_another_polishes_no_map(window, qtbot):
    """The tint was a style sheet, and setting one re-polished every widget in the column."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    views = window.layer_views
    QApplication.processEvents()

    def tint(column):
        image = column.grab().toImage()
        return image.pixelColor(column.width() // 2, column.height() - 3).name()

    assert window.document.selected_layer == 1
    assert tint(views.columns[1]) == layer_views.SELECTED_FILL.name()
    assert tint(views.columns[2]) != layer_views.SELECTED_FILL.name()
    polished = []

    class Polishes(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 (Qt name)
            inside = isinstance(watched, QWidget) and views.isAncestorOf(watched)
            if inside and event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange):
                polished.append(type(watched).__name__)
            return False

    spy = Polishes()
    QApplication.instance().installEventFilter(spy)
    try:
        window.document.select_layer(2)
        QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(spy)
    assert polished == []
    assert tint(views.columns[2]) == layer_views.SELECTED_FILL.name()
    assert tint(views.columns[1]) != layer_views.SELECTED_FILL.name()


def cell_px(card):
    return card.heatmap.width() / card.heatmap.shape[1]


def settle(window):
    from PySide6.QtWidgets import QApplication

    for _ in range(3):  # resize events, then the layout pass they cause
        QApplication.processEvents()
    return window.layer_views


def assert_filling_the_view(views):
    """Every level in view without a horizontal scroll bar (wrapped onto rows if that gives bigger cells),
    and the maps using the room they have."""
    room = views.maximumViewportSize()
    content = views.widget().sizeHint()
    assert views.horizontalScrollBar().maximum() == 0
    assert content.width() <= room.width()
    cells = [cell_px(card) for card in views.cards()]
    assert max(cells) <= layer_views.MAX_CELL_PX
    if max(cells) < layer_views.MAX_CELL_PX:  # not at the cap: one direction is (nearly) full
        assert content.width() > room.width() - 60 or content.height() > room.height() - 40


def test_maps_grow_to_fill_the_view_and_stop_at_a_readable_maximum(window, qtbot):
    views = settle(window)
    assert_filling_the_view(views)
    small = cell_px(views.cards(0)[0])
    assert small >= 20  # the seed's 6×6 cells in the default window: numbers written
    assert views.verticalScrollBar().maximum() == 0
    for dock in window.docks.values():  # every panel closed: the maps have the whole window
        dock.hide()
    views = settle(window)
    assert cell_px(views.cards(0)[0]) > small
    assert_filling_the_view(views)
    sides = [c.cards[0].heatmap.width() for c in views.columns]
    assert sides[0] > sides[1] > sides[2] and sides[3] == sides[0]  # one cell size across the levels
    window.action_set.zoom_in.trigger()  # the user can still zoom past the fit (and scroll)
    assert cell_px(settle(window).cards(0)[0]) > small * 1.2  # once the layout has run
    assert window.layer_views.zoom_control.label.text() == "125 %"  # the zoom says where it is


def test_rgb_and_big_inputs_keep_every_level_in_view(window):
    from cnnviz.io import load_session

    session = load_session(Path(__file__).parents[2] / "resources" / "rgb-edges.cnnviz.json")
    window.document.set_pipeline(session.pipeline, session.input)
    views = settle(window)
    assert_filling_the_view(views)
    assert cell_px(views.cards(0)[0]) >= layer_views.MIN_CELL_PX
    x = core.example_input("digit", (64, 64, 1))
    pipeline = core.Pipeline((64, 64, 1), [core.Conv2D(2, 3), core.MaxPooling2D(2), core.UpSampling2D(2)])
    window.document.set_pipeline(pipeline, x)
    views = settle(window)
    assert_filling_the_view(views)
    big = views.cards(0)[0].heatmap
    assert big.width() >= layer_views.BIG_MAP_CELLS * layer_views.MIN_CELL_PX


def test_maps_paint_each_cell_in_its_colormap_colour(window):
    from cnnviz.ui.colormaps import colorize

    views = window.layer_views
    views.set_show_values(False)  # the centre pixel shows the colour, not a digit
    for card in (views.cards(0)[0], views.cards(1)[1]):
        hm = card.heatmap
        image = hm.grab().toImage()
        expected = colorize(hm.image.image, hm.levels, hm._lut)
        for r, c in np.ndindex(*hm.shape):
            p = hm.cell_center(r, c)
            got = image.pixelColor(p.x(), p.y())
            assert (got.red(), got.green(), got.blue()) == tuple(int(v) for v in expected[r, c, :3]), (r, c)


def test_a_hovered_cell_keeps_its_colour_and_gets_an_outline(window):
    """The green tint over the probe's cells hid the colour the student hovered to read."""
    from cnnviz.ui.colormaps import colorize

    views = window.layer_views
    views.set_show_values(False)
    window.document.set_probe(1, (1, 1, 0), pinned=True)  # its receptive field: 3×3 input cells
    hm = views.cards(0)[0].heatmap
    assert len(hm.overlay.highlight) == 9
    image = hm.grab().toImage()
    expected = colorize(hm.image.image, hm.levels, hm._lut)
    for r, c in hm.overlay.highlight:
        p = hm.cell_center(r, c)
        got = image.pixelColor(p.x(), p.y())
        assert (got.red(), got.green(), got.blue()) == tuple(int(v) for v in expected[r, c, :3]), (r, c)
        edge = hm.cell_rect(r, c).topLeft().toPoint() + QPoint(1, int(hm.cell_rect(r, c).height() // 2))
        assert image.pixelColor(edge).green() > image.pixelColor(edge).red()  # the outline is there



def test_refreshing_size_hints_hands_no_layout_item_to_python(qtbot):
    """PySide keeps the wrapper of a layout item it hands out (layout.itemAt) alive with the layout, and Qt deletes
    the item without telling it when its widget moves to another layout (the level columns and rows do): an object
    made later at the freed item's address came back to Python as that stale QWidgetItem (`QMenu.addActions`
    raised AttributeError in CI, and the worker segfaulted next)."""
    import shiboken6
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayoutItem, QVBoxLayout

    def items_held():
        wrappers = shiboken6.getAllValidWrappers()
        return {id(w) for w in wrappers if isinstance(w, QLayoutItem) and not isinstance(w, QObject)}

    top = QWidget()
    qtbot.addWidget(top)
    outer = QVBoxLayout(top)
    row = QHBoxLayout()
    outer.addLayout(row)  # attached while empty: Qt walks no items of it here
    inner = QWidget()
    QVBoxLayout(inner).addWidget(QLabel("a map", inner))
    for w in (QLabel("a title"), inner):
        row.addWidget(w)
    held = items_held()
    layer_views._invalidate(outer)
    assert items_held() == held


def test_re_arranged_levels_leave_no_stale_layout_item_wrapper(window, qtbot):
    """The same trap through the real window: levels re-arranged by resizes and edits. Every layout-item wrapper
    Python holds must still stand for an item of a live layout (before the fix 40-odd stood for freed items)."""
    import shiboken6
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QApplication, QLayout, QLayoutItem

    doc = window.document
    for size in ((700, 500), (1900, 1050), (1000, 700)):
        window.resize(*size)
        qtbot.wait(20)
        for strides, filters in (((2, 2), 4), ((1, 1), 2)):
            doc.set_layer_param(1, "strides", strides)
            doc.set_layer_param(1, "filters", filters)
            qtbot.wait(20)
    held = {shiboken6.getCppPointer(w)[0] for w in shiboken6.getAllValidWrappers()
            if isinstance(w, QLayoutItem) and not isinstance(w, QObject)}
    live = {shiboken6.getCppPointer(layout.itemAt(i))[0] for top in QApplication.topLevelWidgets()
            for layout in top.findChildren(QLayout) for i in range(layout.count())}
    assert held <= live
