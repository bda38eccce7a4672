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


def test_one_size_of_numbers_in_a_step_whose_filter_has_cells_of_its_own(qapp):
    """Three input channels: the inputs, the filter slices with their products and the output each get their
    own cell size, and every grid's numbers are still written at one size (a frame reads as one scale)."""
    import re
    import xml.etree.ElementTree as ET

    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtSvg import QSvgGenerator

    x = (np.arange(192, dtype=np.float32).reshape(8, 8, 3) % 5) - 2
    model = model_for(core.Conv2D(1, 3), x)
    model.layer.set_weights([np.full((3, 3, 3, 1), -0.25, np.float32), np.zeros(1, np.float32)])
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(1400, 700))
    painter = QPainter(generator)
    geometries = paint_step(painter, QRectF(0, 0, 1400, 700), model, 0)
    painter.end()
    assert geometries[("filter", 0)].cell > 1.25 * geometries[("input", 0)].cell
    areas = [g.grid_rect for g in geometries.values()]
    sizes, inside = set(), 0
    svg = "{http://www.w3.org/2000/svg}"
    for group in ET.fromstring(bytes(QByteArray(buffer.data()))).iter(f"{svg}g"):
        matrix = re.match(r"matrix\(([^)]*)\)", group.get("transform", "matrix(1,0,0,1,0,0)")).group(1)
        a, _, _, d, e, f = (float(v) for v in matrix.split(","))
        for t in group.findall(f"{svg}text"):
            px, py = a * float(t.get("x")) + e, d * float(t.get("y")) + f
            if t.text and t.text.strip() and any(r.left() <= px <= r.right() and r.top() <= py <= r.bottom()
                                                 for r in areas):
                sizes.add(float(t.get("font-size")))
                inside += 1
    assert inside == 3 * (64 + 9 + 9) + 1 and len(sizes) == 1, sizes  # step 0 has written one output cell


def test_cells_not_computed_yet_show_no_colour(qapp):
    """Step 5 fills output cell (1, 1): every later cell is drawn as white as a 0, not in its future colour."""
    x = core.seed_input()
    model = model_for(core.Conv2D(1, 3), x)
    model.layer.set_weights([np.full((3, 3, 1, 1), 1.0, np.float32), np.zeros(1, np.float32)])
    (y,) = core.Pipeline(x.shape, [model.layer]).run(x)
    model = StepModel(model.layer, x, y, 1)
    image, geometries = paint(model, 5, 900, 300)
    output = geometries[("output", 0)]
    later = [(r, c) for r in range(4) for c in range(4) if r * 4 + c > 5 and y[r, c, 0] != 0]
    assert later  # the seed gives non-zero sums there: their colours would show
    for cell in later:
        assert image.pixelColor(output.cell_rect(*cell).center().toPoint()).lightness() >= 245, cell
    done = output.cell_rect(0, 0).center().toPoint()
    assert image.pixelColor(done).lightness() < 245 or y[0, 0, 0] == 0


def test_the_model_cuts_a_large_input_to_the_cells_it_is_asked_for_around_the_window(qapp):
    x = np.random.default_rng(0).uniform(0, 1, (256, 256, 1)).astype(np.float32)
    model = model_for(core.Conv2D(1, 3), x)
    k = model.steps.index(model.steps[0].__class__(0, (100, 200)))
    values, pad, offset = model.input_view(k, 0, (16, 9))
    assert values.shape == (16, 9) and pad == (0, 0, 0, 0)
    assert offset[0] <= 100 and 102 < offset[0] + 16 and offset[1] <= 200 and 202 < offset[1] + 9
    np.testing.assert_array_equal(values, x[offset[0] : offset[0] + 16, offset[1] : offset[1] + 9, 0])
    assert model.crop_limits(k) == ((5, 5), (256, 256))  # the 3×3 window and a neighbour each side; the map


def test_a_large_input_is_drawn_as_a_crop_as_large_as_the_image_has_readable_room_for(qapp):
    """A 256-wide input was a 1 px thumbnail, then a fixed 16×16 crop whose cells were too small for their numbers
    in a short picture; the crop now has as many cells as hold the map's numbers, and more in a larger picture."""
    from cnnviz.ui.arithmetic.step_painter import crop_cells
    from cnnviz.ui.grid_painter import Grid, cell_number_px, number_patterns

    x = np.random.default_rng(0).uniform(-1, 1, (256, 256, 1)).astype(np.float32)
    model = model_for(core.Conv2D(1, 3), x)
    k = model.steps.index(model.steps[0].__class__(0, (100, 200)))
    crops = []
    for size in [(900, 260), (1600, 700)]:
        _, geometries = paint(model, k, *size)
        crop = crop_cells(QRectF(0, 0, *size), model, k)
        crops.append(crop)
        (r0, c0) = model.input_view(k, 0, crop)[2]
        assert r0 < 100 and 102 < r0 + crop[0] - 1 and c0 < 200 and 202 < c0 + crop[1] - 1  # window and neighbours
        for key, values in ((("input", 0), x[:, :, 0]), (("output", 0), model.y[:, :, 0])):
            geo = geometries[key]
            assert geo.shape == crop, key
            assert cell_number_px(geo.cell, number_patterns(Grid(values, (0.0, 1.0)))) is not None, (size, key)
    assert crops[1][0] >= crops[0][0] and crops[1][1] >= crops[0][1] and crops[1] != crops[0]


def test_a_6x6_same_conv_gives_its_filter_and_products_readable_cells(qapp):
    """In a short dock (the 1366×768 window's step-through canvas) the padded 8×8 input kept the 3×3 filter
    and products at its own 14 px cells, too small for their numbers."""
    x = core.seed_input()
    model = model_for(core.Conv2D(2, 3, padding="same"), x)
    _, geometries = paint(model, 0, 720, 135)
    for key in (("filter", 0), ("products", 0)):
        assert geometries[key].cell >= 22, key


def test_a_6x6_same_conv_output_gets_cells_of_its_own_in_a_short_dock(qapp):
    x = core.seed_input()
    model = model_for(core.Conv2D(2, 3, padding="same"), x)
    _, geometries = paint(model, 0, 720, 135)
    assert geometries[("output", 0)].cell > geometries[("input", 0)].cell
    _, roomy = paint(model, 0, 1400, 600)  # with room, the lecture's one scale for input and output
    assert roomy[("output", 0)].cell == roomy[("input", 0)].cell


@pytest.mark.parametrize("shape", [(6, 6, 1), (14, 14, 3)])  # the lecture's; 14 + padding = CROP_CELLS
def test_a_grid_of_at_most_16_cells_is_drawn_whole_whatever_the_room(qapp, monkeypatch, shape):
    """In a picture too short for its numbers (the 1366×768 dock's) a small grid is drawn whole, pixel for pixel as
    without any crop: the step-through's canvas grows and scrolls for it, as before."""
    from cnnviz.ui.arithmetic import step_painter

    x = core.seed_input() if shape == (6, 6, 1) else np.random.default_rng(1).random(shape, dtype=np.float32)
    model = model_for(core.Conv2D(2, 3, padding="same"), x)
    adaptive, geometries = paint(model, 9, 700, 120)
    assert geometries[("input", 0)].shape == shape[:2] and geometries[("output", 0)].shape == shape[:2]
    fresh = StepModel(model.layer, x, model.y, 1)
    monkeypatch.setattr(step_painter, "crop_cells", lambda rect, m, k: (1000, 1000))  # never cropped
    for cache in (step_painter._CELLS, step_painter._CHOICES):
        cache.clear()
    assert paint(fresh, 9, 700, 120)[0] == adaptive


@pytest.mark.parametrize("size", [(728, 117), (1252, 152)])  # the scatter view at 1366×768 and 1920×1080
def test_a_cropped_transposed_convolution_writes_its_kernels_weights(qapp, size):
    """The kernel shares the output's cells only while they still write its weights: with a 5-cell crop of a
    large output the shared cells were 23.5 px, too small for "−0.38", and the kernel stood bare at 1920×1080."""
    from cnnviz.ui.grid_painter import Grid, cell_number_px, number_patterns

    x = np.random.default_rng(0).random((40, 40, 2), dtype=np.float32)
    model = model_for(core.Conv2DTranspose(2, 3, strides=2, padding="same"), x)
    k = len(model.steps) // 3
    _, geometries = paint(model, k, *size)
    kernel = model.layer.kernel[:, :, model.steps[k].channel, model.steps[k].in_channel]
    assert geometries[("output", 0)].shape[0] < 16  # cropped
    assert cell_number_px(geometries[("kernel", 0)].cell, number_patterns(Grid(kernel, (0.0, 1.0)))) is not None
