"""Exported figures: valid PNG/SVG/PDF of the figure's size, with the cell values, labels and colours."""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel

from cnnviz.io import SessionError, load_session
from cnnviz.ui.colormaps import DIVERGING, GREYS, colorize
from cnnviz.ui.figure import WidgetFigure, render_bytes, save_figure, session_figure
from cnnviz.ui.grid_painter import layout_grid

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "resources")


def session(name):
    return load_session(os.path.join(RESOURCES, f"{name}.cnnviz.json"))


def cell_pixel(figure, image, key, row, col, scale=1.0):
    """The colour near the top-left corner of a cell (away from the number written in its middle)."""
    (rect, grid), = [(r, g) for k, r, g in figure.placed if k == key]
    geo = layout_grid(rect, np.shape(grid.values), grid.pad, grid.title, grid.colorbar, grid.max_cell)
    r = geo.cell_rect(row, col)
    return QColor(image.pixel(int((r.left() + 4) * scale), int((r.top() + 4) * scale)))


def lut_colour(value, levels, lut):
    rgba = colorize(np.array([[value]]), levels, lut)[0, 0]
    return tuple(int(v) for v in rgba[:3])


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_png_has_the_right_size_and_the_cell_colours(qapp, tmp_path, scale):
    fig = session_figure(session("lecture"))
    path = tmp_path / "fig.png"
    save_figure(fig, path, scale)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(path))
    assert (image.width(), image.height()) == (round(fig.size.width() * scale), round(fig.size.height() * scale))
    x = session("lecture").input
    # input: greys, 1 = white, 0 = black
    assert cell_pixel(fig, image, (0, 0), 0, 0, scale).getRgb()[:3] == lut_colour(1, (0, 1), GREYS) == (255, 255, 255)
    assert cell_pixel(fig, image, (0, 0), 0, 1, scale).getRgb()[:3] == (0, 0, 0)
    # Conv2D #1 map 1: the diverging colour of −3 with the layer's symmetric levels ±4 (map 2 holds −4)
    y = session("lecture").pipeline.run(x)[0]
    assert y[0, 2, 0] == -3 and y.min() == -4 and y.max() == 3
    assert cell_pixel(fig, image, (1, 0), 0, 2, scale).getRgb()[:3] == lut_colour(-3, (-4, 4), DIVERGING)


def test_png_cells_have_their_numbers_written(qapp, tmp_path):
    fig = session_figure(session("lecture"))
    image = QImage.fromData(render_bytes(fig, "png"))
    (rect, grid), = [(r, g) for k, r, g in fig.placed if k == (0, 0)]
    geo = layout_grid(rect, np.shape(grid.values), grid.pad, grid.title, grid.colorbar, grid.max_cell)
    black_cell = geo.cell_rect(0, 1)  # value 0 on black: the "0" is drawn in white
    centre = [QColor(image.pixel(int(black_cell.center().x()) + dx, int(black_cell.center().y()) + dy)).lightness()
              for dx in range(-6, 7) for dy in range(-8, 9)]
    assert max(centre) > 200 and min(centre) < 30


def svg_texts(data: bytes):
    root = ET.fromstring(data)
    return root, [t.text.strip() for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.strip()]


def test_svg_is_vector_with_the_values_and_labels(qapp, tmp_path):
    fig = session_figure(session("same-padding-stride2"), layer=1)
    path = tmp_path / "fig.svg"
    save_figure(fig, path)
    root, texts = svg_texts(path.read_bytes())
    assert root.get("viewBox") == f"0 0 {fig.size.width():g} {fig.size.height():g}"
    # the Keras same-padding stride-2 result (docs/layers.md, "Padding"), every input value, the padding zeros
    for value in ["−6", "30", "66", "−4", "62"] + [str(v) for v in range(36)]:
        assert value in texts, value
    assert "Conv2D #1 → 3×3×1" in texts and "Filters" in texts and "Input 6×6×1" in texts
    assert "rows: ⌈6/2⌉ = 3 (padding 0 top, 1 bottom)" in texts
    assert texts.count("0") >= 13 + 3  # 13 padding cells written "0", plus 0 in the input and filter


def test_pdf_page_is_the_figure_and_holds_the_text(qapp, tmp_path):
    fig = session_figure(session("transposed-back-to-6x6"))
    path = tmp_path / "fig.pdf"
    save_figure(fig, path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box and (float(box.group(1)), float(box.group(2))) == (fig.size.width(), fig.size.height())
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed: PDF text not checked")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for label in ["Input 6×6×1", "Conv2D #1 → 4×4×1", "MaxPooling2D #2 → 2×2×1", "Conv2DTranspose #3 → 6×6×1",
                  "0.11", "0.89", "−2"]:
        assert label in text, label


def test_layer_figure_shows_filters_per_channel_and_the_arithmetic(qapp):
    fig = session_figure(session("rgb-edges"), layer=1)
    headings = [c.heading for c in fig.columns]
    assert headings == ["Input 8×8×3", "Filters", "Conv2D #1 → 8×8×2"]
    filters = fig.columns[1]
    assert filters.captions == [f"filter {f}, channel {c}" for f in (1, 2) for c in (1, 2, 3)]
    kernel = session("rgb-edges").pipeline.layers[0].get_weights()[0]
    np.testing.assert_array_equal(filters.grids[4].values, kernel[:, :, 1, 1])
    assert fig.columns[0].grids[0].pad == (1, 1, 1, 1)  # same padding drawn around the input
    assert any("rows: ⌈8/1⌉ = 8" in n for n in fig.columns[2].notes)


def test_pipeline_figure_labels_every_level(qapp):
    fig = session_figure(session("lecture"))
    assert [c.heading for c in fig.columns] == ["Input 6×6×1", "Conv2D #1 → 4×4×2", "MaxPooling2D #2 → 2×2×2",
                                              "UpSampling2D #3 → 6×6×2"]
    assert [len(c.grids) for c in fig.columns] == [1, 2, 2, 2]
    assert len(fig.arrows) == 3
    assert all(grid.colorbar for _, _, grid in fig.placed)


def test_widget_figure_renders_a_live_widget(qapp):
    label = QLabel("step 3 of 16")
    label.resize(200, 40)
    root, texts = svg_texts(render_bytes(WidgetFigure(label, "y = 1·1 + 0·0 = 1"), "svg"))
    assert "step 3 of 16" in texts and "y = 1·1 + 0·0 = 1" in texts


def test_widget_figure_of_a_scene_canvas_is_vector_and_sharp(qapp):
    """The step-through frame export: grids as vector rects and text in SVG, not the screen's cached
    bitmaps (which were JPEG images in the PDF and a 1× bitmap blown up in a --scale 2 PNG)."""
    from cnnviz.ui.arithmetic.base import SceneCanvas
    from cnnviz.ui.grid_painter import Grid, paint_grid

    values = np.array([[-6, 30], [66, -14]], np.float32)

    def scene(painter, rect):
        return {"out": paint_grid(painter, rect, Grid(values, (-66, 66), title="Output 2×2"))}

    canvas = SceneCanvas(scene)
    canvas.resize(300, 200)
    canvas.show()
    canvas.grab()  # a screen paint first, so the canvas has its cached grid pictures
    data = render_bytes(WidgetFigure(canvas, "y[0,0] = −6"), "svg")
    root, texts = svg_texts(data)
    assert b"<image" not in data
    assert {"Output 2×2", "−6", "30", "66", "−14", "y[0,0] = −6"} <= set(texts)
    png = QImage.fromData(render_bytes(WidgetFigure(canvas), "png", 2.0))
    assert (png.width(), png.height()) == (2 * round(WidgetFigure(canvas).size.width()),
                                           2 * round(WidgetFigure(canvas).size.height()))
    canvas.close()


def test_dropout_says_whether_it_was_training(qapp):
    """A Dropout column's numbers differ from its input only in training: the figure says which it shows."""
    from cnnviz.core import Dropout, Pipeline
    from cnnviz.io import Session
    from cnnviz.ui.figure import pipeline_figure

    x = np.ones((2, 2, 1), np.float32)
    for training, note in ((True, "training: kept cells × 1/(1 − 0.2) = 1.25, dropped cells 0"),
                           (False, "inference: the input unchanged")):
        p = Pipeline((2, 2, 1), [Dropout(0.2, seed=1)])
        fig = session_figure(Session(x, p, {"training": training}))
        assert fig.columns[1].notes == ["rate 0.2, seed 1", note]
        for layer_fig in (session_figure(Session(x, p, {"training": training}), layer=1),
                          pipeline_figure(x, p, p.run(x, training=training), training=training)):
            assert note in layer_fig.columns[-1].notes


def test_filter_column_writes_the_bias_as_the_cells_write_numbers(qapp):
    from cnnviz.core import Conv2D, Pipeline
    from cnnviz.ui.figure import layer_figure

    x = np.zeros((3, 3, 1), np.float32)
    p = Pipeline((3, 3, 1), [Conv2D(2, 1)])
    p.build()
    p.layers[0].set_weights([np.ones((1, 1, 1, 2), np.float32), np.array([-0.5612, 2], np.float32)])
    fig = layer_figure(x, p, p.run(x), 1)
    assert "bias −0.56, 2" in fig.columns[1].notes  # a real minus and two decimals, like every cell


def test_bad_names_and_scales_are_refused(qapp, tmp_path):
    fig = session_figure(session("lecture"))
    with pytest.raises(SessionError, match=r"^fig\.gif: cannot tell the figure format"):
        save_figure(fig, tmp_path / "fig.gif")
    with pytest.raises(SessionError, match="scale must be between 0.1 and 16, got 100"):
        save_figure(fig, tmp_path / "fig.png", scale=100)
    with pytest.raises(SessionError, match="layer 9 does not exist: the pipeline has layers 1 to 3"):
        session_figure(session("lecture"), layer=9)
    assert not list(tmp_path.iterdir())


def test_a_png_too_large_to_allocate_is_refused_before_painting(qapp, tmp_path):
    """A 256×256 session's figure at --scale 16 would be ~34000×23000 pixels (3 GB): refused by name,
    with the way out, instead of the process dying while allocating it."""
    from PySide6.QtCore import QSizeF

    class Huge:
        size = QSizeF(2118, 1452)

        def paint(self, painter):
            raise AssertionError("painted")

    with pytest.raises(SessionError) as err:
        save_figure(Huge(), tmp_path / "big.png", scale=16)
    assert str(err.value) == ("big.png: the PNG would be 33888×23232 pixels at scale 16, more than 134 million: "
                              "use a smaller scale, or SVG or PDF (they scale without pixels)")
    assert not list(tmp_path.iterdir())


def test_numbers_in_every_column_whose_cells_are_big_enough(qapp):
    from cnnviz.core import Conv2D, MaxPooling2D, Pipeline, example_input
    from cnnviz.io import Session

    small = session_figure(session("lecture"))
    assert {g.show_values for _, _, g in small.placed} == {True}
    assert {g.max_cell for _, _, g in small.placed} == {40}
    x = example_input("digit", (16, 16, 1))
    p = Pipeline(x.shape, [Conv2D(8, 3, padding="same"), MaxPooling2D(2)])
    big = session_figure(Session(x, p, {}))
    assert {g.show_values for _, _, g in big.placed} == {False}
    assert max(g.max_cell for _, _, g in big.placed) * 16 * 4 <= 1200  # four 16-row maps stacked fit a slide


def wide_conv_session():
    """An 8×18 input through two 3×3 filters with two-decimal weights: the output is 8×18×2."""
    from cnnviz.core import Conv2D, Pipeline, example_input
    from cnnviz.io import Session

    x = example_input("digit", (8, 18, 1))
    p = Pipeline(x.shape, [Conv2D(2, 3, padding="same")])
    p.build()
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[:, 0, 0, 0], kernel[:, 2, 0, 0] = [-0.3, -0.6, -0.3], [0.3, 0.6, 0.3]
    kernel[0, :, 0, 1], kernel[2, :, 0, 1] = [0.59, 1.17, 0.59], [-0.59, -1.17, -0.59]
    p.layers[0].set_weights([kernel, np.array([0, 0.1], np.float32)])
    return Session(x, p, {})


def test_a_wide_output_keeps_the_numbers_of_the_small_filters(qapp):
    """An 8×18 output shrank every map of the layer figure to 21 px cells and wiped out every number, the
    3×3 filters' too: each column now gets the cells its own maps allow, and writes numbers if they fit."""
    fig = session_figure(wide_conv_session(), layer=1)
    _, texts = svg_texts(render_bytes(fig, "svg"))
    for value in ("−0.3", "−0.6", "0.3", "0.6", "0.59", "1.17", "−0.59", "−1.17"):
        assert value in texts, value
    filters = [g for (column, _), _, g in fig.placed if column == 1]
    assert {g.show_values for g in filters} == {True} and {g.max_cell for g in filters} == {40}
    width, height = fig.size.width(), fig.size.height()
    assert 1.2 <= width / height <= 2.6 and width <= 1920  # still a slide




def test_a_huge_map_is_decided_without_formatting_its_values(qapp, monkeypatch):
    """A 1024×1024 input upsampled to 2048×2048 (as large as the limits let a level be): cells a fraction of
    a pixel wide, so no numbers, decided from the column's extreme values (every value was formatted, for
    seconds); the PNG is still the picture of the maps."""
    from cnnviz.core import Pipeline, UpSampling2D
    from cnnviz.io import Session
    from cnnviz.ui import colormaps, figure, grid_painter

    calls = []

    def counted(v):
        calls.append(v)
        return colormaps.format_value(v)

    monkeypatch.setattr(figure, "format_value", counted)
    monkeypatch.setattr(grid_painter, "format_value", counted)
    x = np.zeros((1024, 1024, 1), np.float32)
    x[:, 512:] = 1  # the right half white: the map is painted as a picture
    p = Pipeline(x.shape, [UpSampling2D(2)])
    fig = session_figure(Session(x, p, {}))
    image = QImage.fromData(render_bytes(fig, "png"))
    assert {g.show_values for _, _, g in fig.placed} == {False}
    assert len(calls) <= 50  # each column's ends and its colour bar's labels, no cell's value
    assert (image.width(), image.height()) == (round(fig.size.width()), round(fig.size.height()))
    for key in ((0, 0), (1, 0)):
        (rect, grid), = [(r, g) for k, r, g in fig.placed if k == key]
        cells = layout_grid(rect, np.shape(grid.values), grid.pad, grid.title, grid.colorbar, grid.max_cell).grid_rect
        mid_y = int(cells.center().y())
        for f, value in ((0.25, 0), (0.75, 1)):  # each half in its value's colour
            pixel = QColor(image.pixel(int(cells.left() + f * cells.width()), mid_y)).getRgb()[:3]
            assert np.abs(np.subtract(pixel, lut_colour(value, grid.levels, grid.lut))).max() <= 2, (key, f)


@pytest.mark.parametrize("middle, shown", [(1.0, True), (0.25, False)])
def test_numbers_fit_by_the_widest_value_not_only_the_ends(qapp, middle, shown):
    """A 21×21 map of 0s and 1s gets 20 px cells: "0" and "1" fit, "0.25" does not. The ends of the
    column's range deciding alone would write numbers that overflow their cells."""
    from cnnviz.core import Dropout, Pipeline
    from cnnviz.io import Session

    x = np.zeros((21, 21, 1), np.float32)
    x[::2, ::3] = 1
    x[5, 7] = middle
    fig = session_figure(Session(x, Pipeline(x.shape, [Dropout(0.5)]), {}))  # inference: the input again
    assert {g.max_cell for _, _, g in fig.placed} == {20}
    assert {g.show_values for _, _, g in fig.placed} == {shown}
    _, texts = svg_texts(render_bytes(fig, "svg"))
    assert (texts.count("1") >= 2 * x[x == 1].size) == shown  # in both maps' cells, not only on colour bars
    assert "0.25" not in texts


SVG = "{http://www.w3.org/2000/svg}"


def svg_text_runs(data: bytes):
    """(x, y, font family, font size, text) of every text element, in figure coordinates (the translation
    of the enclosing group applied)."""
    root = ET.fromstring(data)
    runs = []
    for group in root.iter(f"{SVG}g"):
        matrix = re.match(r"matrix\(([^)]*)\)", group.get("transform", "matrix(1,0,0,1,0,0)"))
        a, _, _, d, e, f = (float(v) for v in matrix.group(1).split(","))
        for t in group.findall(f"{SVG}text"):
            if t.text and t.text.strip():
                runs.append((a * float(t.get("x")) + e, d * float(t.get("y")) + f, t.get("font-family"),
                             float(t.get("font-size")), t.text.strip()))
    return root, runs


@pytest.mark.parametrize("name, layer", [("lecture", None), ("rgb-edges", 1), ("rgb-edges", None),
                                         ("transposed-back-to-6x6", 3), ("same-padding-stride2", 1)])
def test_svg_fonts_end_in_a_generic_family_and_the_cell_numbers_share_one_size(qapp, name, layer):
    fig = session_figure(session(name), layer)
    data = render_bytes(fig, "svg")
    root, runs = svg_text_runs(data)
    families = {el.get("font-family") for el in root.iter() if el.get("font-family")}
    assert families and all(f.split(",")[-1].strip() == "sans-serif" for f in families), families
    assert b"Sans Serif" not in data
    # the numbers written inside the maps' cells (padding included), not the colour bars' labels
    areas = [layout_grid(r, np.shape(g.values), g.pad, g.title, g.colorbar, g.max_cell).grid_rect
             for _, r, g in fig.placed]
    inside = [(size, text) for x, y, _, size, text in runs
              if any(a.left() <= x <= a.right() and a.top() <= y <= a.bottom() for a in areas)]
    assert len(inside) >= sum(np.size(g.values) for _, _, g in fig.placed if g.show_values)
    assert len({size for size, _ in inside}) == 1, sorted({size for size, _ in inside})
