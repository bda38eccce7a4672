"""The maps' vertical grid lines, drawn as one band copied down the map, land on the pixels the plain 1 px
fills would colour (at fractional positions and device pixel ratios)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter

from cnnviz.ui.heatmap import COMB_ROWS, GRID_PEN, _vertical_lines


def picture(ratio, draw) -> QImage:
    image = QImage(round(300 * ratio), round(400 * ratio), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(ratio)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    draw(painter)
    painter.end()
    return image


@pytest.mark.parametrize("ratio", [1.0, 1.25, 1.5, 2.0])
@pytest.mark.parametrize("cell, y0, y1", [(24.0, 3.0, 291.0), (17.3, 4.6, 350.35), (9.75, 0.5, 3 * COMB_ROWS + 7.2)])
def test_vertical_grid_lines_match_tall_fills(qapp, ratio, cell, y0, y1):
    xs = [5.25 + c * cell - 0.5 for c in range(int(280 // cell))]

    def fills(painter):
        for x in xs:
            painter.fillRect(QRectF(x, y0, 1, y1 - y0), GRID_PEN)

    assert picture(ratio, lambda painter: _vertical_lines(painter, xs, y0, y1)) == picture(ratio, fills)
