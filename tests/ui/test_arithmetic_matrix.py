"""The convolution-as-a-matrix view: the matrix it draws times the flattened input is the layer's output."""

import numpy as np

from cnnviz import core
from cnnviz.ui.arithmetic.matrix_view import MatrixView
from cnnviz.ui.colormaps import format_value
from cnnviz.ui.document import Document


def view_of(qtbot, document):
    view = MatrixView(document)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    return view


def test_seed_conv_matrix_times_x_plus_b_is_the_flattened_output(qtbot):
    document = Document()
    view = view_of(qtbot, document)
    m = view.matrix
    assert m.matrix.shape == (4 * 4 * 2, 36)
    x = document.input.ravel()
    np.testing.assert_allclose(m.matrix @ x + m.bias, document.outputs[0].ravel(), atol=1e-5)
    # every row holds exactly the 9 weights of its filter, zeros elsewhere
    assert (np.count_nonzero(m.weight_index >= 0, axis=1) == 9).all()
    assert "Check: C·x + b equals the layer's output" in view.formula.text()
    # a live edit of the input is followed
    document.paint_cells([(0, 0, 0)], 5.0)
    document.flush()
    np.testing.assert_allclose(
        view.matrix.matrix @ document.input.ravel() + view.matrix.bias, document.outputs[0].ravel(), atol=1e-5
    )


def test_hovering_an_output_cell_highlights_its_row_and_writes_its_dot_product(qtbot):
    document = Document()
    view = view_of(qtbot, document)
    document.set_probe(1, (1, 2, 1))
    row = (1 * 4 + 2) * 2 + 1
    assert view.row == row
    text = view.row_formula(row)
    assert text.startswith(f"row {row} = output cell (1, 2, 1): ")
    assert text.endswith(f"= {format_value(document.outputs[0][1, 2, 1])}")


def test_transposed_conv_is_c_transposed_and_applied_gives_the_output(qtbot):
    x = np.array([[1, 2], [3, 4]], np.float32)[:, :, None]
    layer = core.Conv2DTranspose(1, 3, strides=2, padding="same")
    document = Document(core.Pipeline(x.shape, [layer]), x)
    view = view_of(qtbot, document)
    m = view.matrix
    assert m.matrix.shape == (16, 4)
    np.testing.assert_allclose(m.matrix @ x.ravel() + m.bias, document.outputs[0].ravel(), atol=1e-5)
    # and it is the transpose of the Conv2D with the same kernel from 4×4 to 2×2
    conv = core.Conv2D(1, 3, strides=2, padding="same", use_bias=False)
    conv.build((4, 4, 1))
    conv.set_weights([document.layer(1).kernel.copy()])
    c = core.conv_matrix(conv, (4, 4, 1))
    np.testing.assert_allclose(m.matrix, c.matrix.T, atol=1e-6)
    assert "Cᵀ == C.T ✓" in view.formula.text()


def test_too_large_gives_a_message_not_a_hang(qtbot):
    x = np.zeros((40, 40, 1), np.float32)
    document = Document(core.Pipeline(x.shape, [core.Conv2D(1, 3)]), x)
    view = view_of(qtbot, document)
    assert view.matrix is None
    assert "1444 × 1600" in view.message and "too large" in view.message
    view.grab()  # paints the message


def test_no_conv_layer_says_so(qtbot):
    x = np.zeros((4, 4, 1), np.float32)
    document = Document(core.Pipeline(x.shape, [core.ReLU()]), x)
    view = view_of(qtbot, document)
    assert view.matrix is None and "Add a Conv2D" in view.message


def test_labels_never_overlap_each_other_or_the_grids_in_the_default_dock_size(qtbot):
    """At the dock's 760×270 the C title ran under the b/y labels and 'weights' sat on top of 'y'."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QFontMetricsF

    from cnnviz.ui.arithmetic.matrix_view import matrix_layout, needed_height

    document = Document()
    view = view_of(qtbot, document)
    n_out, n_in = view.matrix.matrix.shape
    for width, height in ((760, 270), (1000, 600), (500, 200)):
        size = (width, max(height, needed_height(width, n_out, n_in)))  # rows too short to read make it scroll
        rect = QRectF(0, 0, *size)
        grids, labels = matrix_layout(rect, n_out, n_in, "C (32 × 36): row = output cell, column = input cell",
                                      "xᵀ: the 6×6×1 input, flattened row by row")
        inks = []
        for label_rect, text, font, align in labels:
            ink = QFontMetricsF(font).boundingRect(label_rect, int(align), text)
            assert rect.contains(ink), (size, text)
            inks.append((text, ink))
        for i, (a, ra) in enumerate(inks):
            for b, rb in inks[i + 1:]:
                assert not ra.intersects(rb), (size, a, b)
            for key, grid_rect in grids.items():
                assert not ra.intersects(grid_rect), (size, a, key)


def test_the_matrix_fills_a_wide_short_dock_and_hover_still_finds_rows(qtbot):
    """In a 1090×220 dock the picture was 137×122 px with the flattened input as a 3 px strip."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    document = Document()
    view = view_of(qtbot, document)
    image = QImage(1090, 220, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    geometries = view.paint_layer(painter, QRectF(0, 0, 1090, 220))
    painter.end()
    c, x = geometries["matrix"], geometries["x"]
    assert c.grid_rect.width() >= 0.6 * 1090
    assert x.cell_rect(0, 0).height() >= 20 and x.cell_rect(0, 0).width() == c.cell_rect(0, 0).width()
    n_out, n_in = view.matrix.matrix.shape
    for row, col in ((0, 0), (n_out - 1, n_in - 1), (7, 20)):
        assert c.cell_at(c.cell_rect(row, col).center()) == (row, col)
    assert view.probe_target("matrix", (7, 20)) == (1, tuple(int(v) for v in np.unravel_index(7, (4, 4, 2))))


def test_in_the_window_at_1366x768_the_rows_are_readable_and_scroll(qtbot, tmp_path):
    """At 1366×768 the 32 rows of the seed's C were drawn about 1 px tall."""
    from PySide6.QtWidgets import QApplication

    from cnnviz.ui.arithmetic.matrix_view import MIN_ROW_PX
    from tests.ui.ui_support import make_window

    window = make_window(qtbot, tmp_path)
    window.resize(1366, 768)
    window.show_panel("arithmetic_matrix")
    view = window.arithmetic_views["matrix"]
    qtbot.waitUntil(lambda: "matrix" in view.canvas.geometries)
    QApplication.processEvents()
    view.canvas.repaint()
    c = view.canvas.geometries["matrix"]  # where the last paint put the rows
    assert c.cell_rect(0, 0).height() >= MIN_ROW_PX >= 16
    assert c.cell_rect(31, 0).height() == c.cell_rect(0, 0).height()
    assert c.grid_rect.width() >= 0.6 * view.scroll.viewport().width()  # still as wide as the dock
    bar = view.scroll.verticalScrollBar()
    assert bar.maximum() > 0 and view.canvas.height() >= c.grid_rect.bottom()  # a crop that scrolls to every row
    # hovering the last output cell in the layer views brings its row into the crop
    window.document.set_probe(1, (3, 3, 1))
    QApplication.processEvents()
    row = c.cell_rect(31, 0)
    top = view.canvas.mapTo(view.scroll.viewport(), row.topLeft().toPoint()).y()
    assert 0 <= top and top + row.height() <= view.scroll.viewport().height()


def test_a_tall_dock_fits_every_row_without_scrolling(qtbot):
    document = Document()
    view = view_of(qtbot, document)
    view.resize(1000, 1100)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: "matrix" in view.canvas.geometries)
    c = view.canvas.geometries["matrix"]
    assert view.scroll.verticalScrollBar().maximum() == 0
    assert c.grid_rect.bottom() <= view.scroll.viewport().height()
    assert c.cell_rect(0, 0).height() >= 18
