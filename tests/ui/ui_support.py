"""Helpers for the app's widget tests: a window with private settings, mouse strokes over map cells, and what
the window's backing store holds."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from cnnviz.ui import settings


def make_window(qtbot, tmp_path, document=None, size=(1400, 900)):
    from cnnviz.ui.main_window import MainWindow

    settings.use_file(tmp_path / "settings.ini")
    window = MainWindow(document)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def stroke(qtbot, heatmap, cells, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    """Press on the first cell, move through the others, release on the last (as a hand would)."""
    target = heatmap.viewport()
    points = [heatmap.cell_center(r, c) for r, c in cells]
    qtbot.mousePress(target, button, modifier, points[0])
    for p in points[1:]:
        qtbot.mouseMove(target, p)
    qtbot.mouseRelease(target, button, modifier, points[-1])
    QApplication.processEvents()


def hover(qtbot, heatmap, cell):
    qtbot.mouseMove(heatmap.viewport(), heatmap.cell_center(*cell))
    QApplication.processEvents()


def lit(mask) -> set:
    """The cells (or kernel indices) a probe mask lights, as a set of index tuples."""
    import numpy as np

    return {tuple(int(v) for v in i) for i in np.argwhere(mask)}


def highlighted(heatmap) -> set:
    """The (row, col) cells a Heatmap has lit."""
    return set() if heatmap._highlight is None else lit(heatmap._highlight)


def on_screen(window, widget, rect: QRect | None = None):
    """`rect` of the widget (default: all of it) as the window's backing store holds it: what partial repaints
    left on screen, to compare with a fresh drawing."""
    rect = widget.rect() if rect is None else rect
    shot = window.screen().grabWindow(window.winId()).toImage()
    top_left = widget.mapTo(window, rect.topLeft())
    ratio = shot.devicePixelRatio()
    return shot.copy(QRect(top_left * ratio, rect.size() * ratio))


def assert_maps_equal_fresh_drawings(window, least_in_view: float = 0.5):
    """Every map holds its level's numbers and colours, as a fresh Heatmap given them makes them; every card
    wholly in view (maps and vector strips) shows them on screen. At least `least_in_view` of the cards must be
    in view, so that the check is not passed by scrolling everything away."""
    import numpy as np

    from cnnviz.ui.colormaps import format_value, input_levels, symmetric_levels
    from cnnviz.ui.heatmap import Heatmap
    from cnnviz.ui.vector_view import VectorCard

    doc = window.document
    cards = window.layer_views.cards()
    in_view = 0
    for card in cards:
        hm = card.heatmap
        if isinstance(card, VectorCard):
            np.testing.assert_array_equal(hm.values, doc.levels[card.level].reshape(-1))
        else:
            values = doc.levels[card.level][:, :, card.channel]
            np.testing.assert_array_equal(hm.image.image, values)
            level = doc.levels[card.level]  # the colour range of the whole level, read whole
            assert hm.levels == (input_levels(level) if card.level == 0 else symmetric_levels(level))
            fresh = Heatmap()
            fresh.set_data(values, hm.levels, hm._lut)
            assert hm.image.qimage() == fresh.image.qimage()  # the colours re-made by rows are the whole ones
            if hm.overlay._texts is not None:
                _, cells = hm.overlay._cell_texts()
                assert [text for _, _, text, _ in cells] == [format_value(v) for v in values.ravel()]
        if hm.isVisible() and hm.visibleRegion().boundingRect() == hm.rect():  # wholly in view
            in_view += 1
            assert on_screen(window, hm) == hm.grab().toImage(), f"card {card.level}.{card.channel} is stale"
    assert in_view >= int(len(cards) * least_in_view)


def step_number_px(rect, model, k: int) -> float:
    """The smallest number step `k` of a sliding layer writes in `rect`, from its grids laid out and fitted as the
    paint fits them (0 when a grid of the input or the filter stays bare)."""
    from cnnviz.ui.arithmetic import step_painter
    from cnnviz.ui.grid_painter import fit_grids, number_px

    placed = step_painter._best_arrangement(rect, model, k, step_painter.crop_cells(rect, model, k))[0]
    fitted = [p for group in step_painter._grid_groups(placed) for p in fit_grids(group)]
    sizes = {key: number_px(r, g) for key, r, g in fitted}
    if any(sizes[key] is None for key in sizes if key[0] in ("input", "filter")):
        return 0.0
    return min(px for px in sizes.values() if px is not None)
