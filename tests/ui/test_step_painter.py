"""The step-through's picture without a window: a StepModel painted on QImages of any size (what an
animation export does), the same grids as the dock and cells that grow with the image."""

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from cnnviz import core
from cnnviz.ui.arithmetic.step_model import StepModel
from cnnviz.ui.arithmetic.step_painter import paint_step


def model_for(layer, x):
    pipeline = core.Pipeline(x.shape, [layer])
    (y,) = pipeline.run(x)
    return StepModel(pipeline.layers[0], x, y, 1)


def paint(model, k, w, h):
    image = QImage(w, h, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    geometries = paint_step(painter, QRectF(0, 0, w, h), model, k)
    painter.end()
    return image, geometries


@pytest.mark.parametrize("size", [(400, 180), (1600, 700)])
def test_a_conv_step_paints_on_an_image_of_any_size(qapp, size):
    x = core.seed_input()
    model = model_for(core.Conv2D(2, 3), x)
    k = 5
    image, geometries = paint(model, k, *size)
    assert set(geometries) == {("input", 0), ("filter", 0), ("products", 0), ("output", 0)}
    cell = geometries[("output", 0)].cell_rect(0, 0)
    assert QRectF(0, 0, *size).contains(cell)
    # the cell being filled (step 5 = output cell (1, 1)) is drawn in the colour of its value, not blank
    filled = geometries[("output", 0)].cell_rect(1, 1).center()
    assert image.pixelColor(filled.toPoint()) != QColor("white")


def test_cells_grow_with_the_image(qapp):
    model = model_for(core.Conv2DTranspose(1, 3, strides=2), np.arange(4, dtype=np.float32).reshape(2, 2, 1))
    small = paint(model, 0, 400, 180)[1][("kernel", 0)].cell_rect(0, 0).width()
    big = paint(model, 0, 1600, 700)[1][("kernel", 0)].cell_rect(0, 0).width()
    assert big > 2.5 * small
