"""The vector view: entries laid out in index order, hit-tested back to their index, bars for probabilities."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from cnnviz.ui.colormaps import DIVERGING
from cnnviz.ui.vector_view import (
    BAR,
    BAR_BEST,
    DETAIL_LIMIT,
    STRIP_ROWS,
    VectorStrip,
    paint_vector,
    vector_labels,
    vector_layout,
)


@given(n=st.integers(1, 5000), cell_px=st.floats(8, 60), bars=st.booleans())
def test_every_entry_is_found_where_it_is_drawn(qapp, n, cell_px, bars):
    layout = vector_layout(n, cell_px, bars)
    for i in {0, n // 2, n - 1, min(n - 1, layout.rows)}:
        assert layout.index_at(layout.cell_rect(i).center()) == i
    w, h = layout.size
    assert layout.index_at(QPointF(w + 5, 1)) is None
    assert layout.index_at(QPointF(1, h + 5)) is None


def test_a_long_strip_wraps_into_columns_in_index_order(qapp):
    layout = vector_layout(32, 40)
    assert (layout.rows, layout.columns) == (STRIP_ROWS, 32 // STRIP_ROWS)
    first, wrapped = layout.cell_rect(0), layout.cell_rect(STRIP_ROWS)
    assert wrapped.top() == first.top() and wrapped.left() > first.right()  # entry 16 heads the second column
    assert layout.detailed
    assert not vector_layout(DETAIL_LIMIT + 1, 40).detailed  # a block: no labels, no numbers


def test_labels_are_class_names_where_given_else_indices():
    assert vector_labels(3, True, ["cat", "", "dog"]) == ["cat", "class 1", "dog"]
    assert vector_labels(3, False) == ["0", "1", "2"]


def _render(layout, values, **kwargs):
    w, h = layout.size
    image = QImage(int(w) + 4, int(h) + 4, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_vector(painter, layout, values, (0.0, 1.0), DIVERGING, origin=QPointF(2, 2), **kwargs)
    painter.end()
    return image


def test_bars_are_as_long_as_the_probabilities_and_the_most_likely_class_stands_out(qapp):
    p = np.array([0.1, 0.7, 0.2], np.float32)
    layout = vector_layout(3, 40, bars=True)
    image = _render(layout, p)
    for i, share in enumerate(p):
        cell = layout.cell_rect(i, QPointF(2, 2))
        y = int(cell.center().y())
        inside = image.pixelColor(int(cell.left() + cell.width() * share) - 2, y)
        beyond = image.pixelColor(int(cell.left() + cell.width() * share) + 2, y)
        assert inside == (BAR_BEST if i == 1 else BAR)
        assert beyond not in (BAR, BAR_BEST)


def test_a_strip_cell_takes_its_value_colour(qapp):
    layout = vector_layout(4, 40)
    values = np.array([-1.0, 0.0, 0.5, 1.0], np.float32)
    w, h = layout.size
    image = QImage(int(w) + 4, int(h) + 4, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_vector(painter, layout, values, (-1.0, 1.0), DIVERGING, origin=QPointF(2, 2), show_values=False)
    painter.end()
    for i, expected in ((0, DIVERGING[0]), (3, DIVERGING[-1])):
        c = image.pixelColor(layout.cell_rect(i, QPointF(2, 2)).center().toPoint())
        assert (c.red(), c.green(), c.blue()) == tuple(int(v) for v in expected[:3])


def test_the_widget_reports_the_entry_under_the_mouse(qtbot):
    strip = VectorStrip()
    qtbot.addWidget(strip)
    strip.set_data(np.arange(20, dtype=np.float32), (-20, 20))
    strip.fit(40)
    strip.show()
    qtbot.waitExposed(strip)
    seen = []
    strip.cellHovered.connect(seen.append)
    for i in (0, 7, 19):
        qtbot.mouseMove(strip, strip.cell_center(i))
        assert seen[-1] == i
    with qtbot.waitSignal(strip.cellPressed) as blocker:
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.cell_center(5))
    assert blocker.args == [5]


def test_a_long_vector_is_a_block_whose_cells_keep_their_colour_and_index(qapp):
    n = 1000
    layout = vector_layout(n, 40)
    assert not layout.detailed
    values = np.linspace(-1, 1, n).astype(np.float32)
    w, h = layout.size
    image = QImage(int(w) + 4, int(h) + 4, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_vector(painter, layout, values, (-1.0, 1.0), DIVERGING, origin=QPointF(2, 2))
    painter.end()
    for i in (0, 31, 32, 500, n - 1):
        rect = layout.cell_rect(i, QPointF(2, 2))
        assert layout.index_at(rect.center(), QPointF(2, 2)) == i
        c = image.pixelColor(rect.center().toPoint())
        expected = DIVERGING[int(round((values[i] + 1) / 2 * 255))]
        assert abs(c.red() - int(expected[0])) <= 3 and abs(c.blue() - int(expected[2])) <= 3
