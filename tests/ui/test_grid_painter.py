"""grid_painter draws the same picture on any QPainter: check real pixels of a QImage."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from cnnviz.ui.colormaps import DIVERGING, GREYS, colorize
from cnnviz.ui.grid_painter import ACCENT, MARK, PAD_FILL, Grid, GridCache, cached, layout_grid, paint_grid


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def render(grid: Grid, size=(400, 300)):
    image = QImage(*size, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    geo = paint_grid(painter, QRectF(0, 0, *size), grid)
    painter.end()
    return image, geo


def pixel(image: QImage, point) -> tuple[int, int, int]:
    c = image.pixelColor(int(point.x()), int(point.y()))
    return c.red(), c.green(), c.blue()


def test_cell_centres_have_the_colormap_colour():
    values = np.array([[-3.0, 0.0, 3.0], [1.5, -1.5, 2.0]])
    levels = (-3.0, 3.0)
    image, geo = render(Grid(values, levels, show_values=False))
    expected = colorize(values, levels, DIVERGING)
    for r in range(2):
        for c in range(3):
            assert pixel(image, geo.cell_rect(r, c).center()) == tuple(int(v) for v in expected[r, c, :3])
    # pure blue for the minimum, near-white for 0, dark red for the maximum
    assert pixel(image, geo.cell_rect(0, 0).center()) == (5, 48, 97)
    assert pixel(image, geo.cell_rect(0, 2).center()) == (103, 0, 31)


def test_highlight_gets_accent_outline_and_others_do_not():
    values = np.zeros((4, 4))
    image, geo = render(Grid(values, (-1.0, 1.0), show_values=False, highlights=[(1, 2)]))
    lit, plain = geo.cell_rect(1, 2), geo.cell_rect(2, 1)
    edge = lambda r: r.topLeft() + (r.center() - r.topLeft()) * 0.15  # noqa: E731 - just inside the border
    accent = (ACCENT.red(), ACCENT.green(), ACCENT.blue())
    assert pixel(image, edge(lit)) == accent
    assert pixel(image, edge(plain)) != accent
    assert pixel(image, lit.center()) == tuple(int(v) for v in colorize(np.zeros((1, 1)), (-1, 1), DIVERGING)[0, 0, :3])


def test_marked_cell_and_highlight_fill():
    values = np.ones((3, 3))
    fill = QColor(0, 255, 0)
    image, geo = render(
        Grid(values, (0.0, 1.0), lut=GREYS, show_values=False, highlights=[(0, 0)], highlight_fill=fill, marked=(2, 2))
    )
    assert pixel(image, geo.cell_rect(0, 0).center()) == (0, 255, 0)
    r = geo.cell_rect(2, 2)
    assert pixel(image, r.topLeft() + (r.center() - r.topLeft()) * 0.15) == (MARK.red(), MARK.green(), MARK.blue())


def test_padding_cells_are_drawn_around_the_array_and_hit_test_maps_back():
    values = np.full((2, 2), 1.0)
    image, geo = render(Grid(values, (0.0, 1.0), lut=GREYS, show_values=False, pad=(1, 2, 0, 1)))
    assert geo.grid_rect.height() == pytest.approx(5 * geo.cell)
    assert geo.grid_rect.width() == pytest.approx(3 * geo.cell)
    pad_cell = geo.cell_rect(-1, 0)
    # the hatched padding is grey-ish, never the white of a value-1 cell
    corner = pad_cell.topLeft() + (pad_cell.center() - pad_cell.topLeft()) * 0.5
    colour = pixel(image, corner)
    assert colour != (255, 255, 255)
    assert max(colour) <= PAD_FILL.red()
    assert geo.cell_at(geo.cell_rect(1, 1).center()) == (1, 1)
    assert geo.cell_at(pad_cell.center()) is None
    assert geo.cell_at(pad_cell.center(), include_pad=True) == (-1, 0)


def test_values_written_in_contrasting_colour_only_when_cells_are_large():
    values = np.array([[-8.0, 8.0]])
    image, geo = render(Grid(values, (-8.0, 8.0)), size=(400, 250))
    # a dark blue cell with a number: some pixels are white text
    r = geo.cell_rect(0, 0)
    colours = {pixel(image, r.topLeft() + QPointF(x, y)) for x in range(int(r.width())) for y in range(int(r.height()))}
    assert (255, 255, 255) in colours
    small, geo_small = render(Grid(np.zeros((60, 60)), (-1, 1)), size=(120, 120))
    assert geo_small.cell < 3  # too small for text: nothing but cell colours and lines drawn


def test_layout_fits_rect_title_and_colorbar():
    geo = layout_grid(QRectF(10, 20, 300, 200), (4, 6), title="Input 4×6", colorbar=True)
    assert geo.grid_rect.right() <= geo.colorbar_rect.left()
    assert geo.colorbar_rect.right() <= 310
    assert geo.title_rect.bottom() <= geo.grid_rect.top()
    assert geo.grid_rect.bottom() <= 220


def test_same_picture_on_svg_and_pdf_painters(tmp_path):
    from PySide6.QtGui import QPdfWriter
    from PySide6.QtSvg import QSvgGenerator

    grid = Grid(
        np.arange(9.0).reshape(3, 3) - 4,
        (-4, 4),
        title="map",
        pad=(1, 1, 1, 1),
        colorbar=True,
        highlights=[(0, 0)],
        marked=(1, 1),
    )
    svg = QSvgGenerator()
    svg.setFileName(str(tmp_path / "g.svg"))
    svg.setSize(QImage(300, 200, QImage.Format.Format_ARGB32).size())
    p = QPainter(svg)
    paint_grid(p, QRectF(0, 0, 300, 200), grid)
    p.end()
    assert "<svg" in (tmp_path / "g.svg").read_text()
    pdf = QPdfWriter(str(tmp_path / "g.pdf"))
    p = QPainter(pdf)
    paint_grid(p, QRectF(0, 0, pdf.width(), pdf.height() / 2), grid)
    p.end()
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")


def test_large_grids_are_drawn_as_an_image_with_the_same_colours():
    rng = np.random.default_rng(1)
    values = rng.uniform(-1, 1, (80, 90))
    image, geo = render(Grid(values, (-1.0, 1.0)), size=(900, 820))
    expected = colorize(values, (-1.0, 1.0), DIVERGING)
    for r, c in [(0, 0), (79, 89), (40, 17), (5, 60)]:
        assert pixel(image, geo.cell_rect(r, c).center()) == tuple(int(v) for v in expected[r, c, :3])


def test_a_grid_cache_redraws_only_changed_grids_with_the_same_pixels():
    big = np.linspace(-1, 1, 60 * 60).reshape(60, 60)
    grids = [
        Grid(np.arange(12.0).reshape(3, 4) - 5, (-6.0, 6.0), title="small", pad=(1, 1, 1, 1), highlights=[(0, 1)],
             marked=(2, 3), colorbar=True),
        Grid(big, (-1.0, 1.0), title="big", dimmed=big > 0.5, highlights=[(r, 5) for r in range(3)]),
    ]
    rects = [QRectF(10, 10.5, 300, 200), QRectF(320.3, 10, 250, 200)]

    def draw(grids, cache=None):
        image = QImage(600, 230, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        with cached(cache):
            geos = [paint_grid(painter, r, g) for r, g in zip(rects, grids)]
        painter.end()
        return np.frombuffer(image.constBits(), np.uint8).astype(int), geos

    direct, direct_geos = draw(grids)
    cache = GridCache()
    first, first_geos = draw([replace(g) for g in grids], cache)
    assert cache.renders == 2 and first_geos == direct_geos
    again, _ = draw([replace(g) for g in grids], cache)
    assert cache.renders == 2  # nothing changed: both drawn from their pictures
    for image in (first, again):  # the same picture (only anti-aliased text edges may differ a little)
        assert np.mean(image != direct) < 0.002 and np.max(np.abs(image - direct)) <= 64
    draw([replace(grids[0], values=grids[0].values + 1), grids[1]], cache)
    assert cache.renders == 3  # only the changed grid is drawn again
    moved, geos = draw([grids[0], replace(grids[1], highlights=[(40, 40)])], cache)
    assert cache.renders == 3  # a moved highlight is drawn over the same picture
    lit = geos[1].cell_rect(40, 40)
    y, x = int(lit.top() + 1), int(lit.center().x())
    assert tuple(moved.reshape(230, 600, 4)[y, x, 2::-1]) == (ACCENT.red(), ACCENT.green(), ACCENT.blue())


def test_kept_pictures_stay_within_their_byte_budget():
    from cnnviz.ui.grid_painter import _Recent

    made = []

    def make(n):
        made.append(n)
        return QImage(32, 32, QImage.Format.Format_ARGB32)  # 4096 bytes each

    recent = _Recent(3 * 4096, lambda image: image)
    for n in range(5):
        recent.get(n, lambda n=n: make(n))
    recent.get(4, lambda: make("again"))
    recent.get(2, lambda: make("again"))
    assert made == [0, 1, 2, 3, 4]  # the three newest were kept
    recent.get(0, lambda: make(0))
    assert made[-1] == 0  # the oldest went


def test_a_title_stays_above_the_colour_bar_end_label():
    """A title wider than its grid ran over the bar's top label ('0.73' under '(hatched: cropped)')."""
    from PySide6.QtCore import QRectF

    from cnnviz.ui.grid_painter import colorbar_font_px, layout_grid

    rect = QRectF(0, 0, 300, 200)
    geo = layout_grid(rect, (13, 13), title="OUTPUT 12×12×1 being built (hatched: cropped)", colorbar=True)
    label_top = geo.colorbar_rect.top() - colorbar_font_px(max(30.0, min(70.0, rect.width() * 0.16))) / 2
    assert geo.title_rect.bottom() <= label_top
    assert geo.title_rect.top() >= rect.top()
    plain = layout_grid(rect, (13, 13), title="no bar")
    assert plain.title_rect.bottom() <= plain.grid_rect.top()


def test_grids_painted_together_write_their_numbers_in_one_size_that_does_not_change_as_cells_fill():
    """A filter of 1s beside a map of −0.333s: both at the size the map's widest number allows; a map
    half blank (an animation filling it) writes its numbers at the size the full map uses."""
    from cnnviz.ui.grid_painter import number_px, paint_grids

    ones = Grid(np.ones((3, 3)), (-1, 1))
    thirds = Grid(np.full((3, 3), -1 / 3), (-1, 1))
    left, right = QRectF(0, 0, 200, 200), QRectF(220, 0, 200, 200)
    assert number_px(left, ones) > number_px(right, thirds)  # alone, each would pick its own
    sizes = []

    class Recorder(QPainter):
        def drawText(self, *args):  # noqa: N802 (Qt name)
            if isinstance(args[-1], str) and args[-1].strip():
                sizes.append(self.font().pixelSize())
            super().drawText(*args)

        def drawStaticText(self, *args):  # noqa: N802 (Qt name): the numbers, laid out once (TextWriter)
            if args[-1].text().strip():
                sizes.append(self.font().pixelSize())
            super().drawStaticText(*args)

    image = QImage(440, 200, QImage.Format.Format_ARGB32)
    painter = Recorder(image)
    paint_grids(painter, [("a", left, ones), ("b", right, thirds)])
    painter.end()
    assert set(sizes) == {number_px(right, thirds)} and len(sizes) == 18
    half = np.arange(9).reshape(3, 3) >= 4
    assert number_px(right, replace(thirds, blank=half)) == number_px(right, thirds)


def test_numbers_of_one_pattern_are_equally_wide_so_the_pattern_can_stand_for_them(qtbot):
    """The step-through keeps its readable height by the patterns of its numbers ("−0.00" for −3.25 and −7.5
    alike): sound only if every text of a pattern is as wide as the others in the cells' font at every size."""
    from PySide6.QtGui import QFontMetricsF

    from cnnviz.ui.colormaps import format_value
    from cnnviz.ui.grid_painter import _digits_alike, number_patterns, pixel_font

    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, s, 400) for s in (0.01, 0.3, 3, 30, 300, 3e6)])
    texts = {format_value(v) for v in values}
    patterns = number_patterns(Grid(values.reshape(-1, 1), (-1.0, 1.0)))
    if not _digits_alike():  # a font with proportional digits: the texts themselves are the key
        assert patterns == frozenset(texts | {"0"})
        return
    assert len(patterns) < 40 < len(texts)
    for px in range(7, 41):
        metrics = QFontMetricsF(pixel_font(px))
        widths: dict = {}
        for text in texts:
            widths.setdefault(text.translate(str.maketrans("123456789", "000000000")), set()).add(
                metrics.horizontalAdvance(text))
        assert set(widths) | {"0"} == patterns
        assert all(len(w) == 1 for w in widths.values()), px


def _cached_picture(cache: GridCache, rect: QRectF, grid: Grid, size=(420, 330), ratio: float = 1.0) -> QImage:
    image = QImage(round(size[0] * ratio), round(size[1] * ratio), QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("white"))
    painter = QPainter(image)
    with cached(cache):
        paint_grid(painter, rect, grid)
    painter.end()
    return image


PATCHED_GRIDS = [  # padding and its zeros, veils, blanks, texts, inserted zeros, a colour bar, fractional corners
    (QRectF(10.3, 7.6, 380, 300), lambda v: Grid(v, (-2.0, 2.0), title="input + padding", pad=(1, 2, 2, 1))),
    (QRectF(4, 4, 400, 310.5), lambda v: Grid(v, (-2.0, 2.0), GREYS, title="veiled", dimmed=v > 1.2,
                                               blank=v < -1.5, colorbar=True)),
    (QRectF(0.5, 20, 300, 250), lambda v: Grid(v, (-2.0, 2.0), pad=(1, 1, 1, 1), pad_text="",
                                                inserted=np.indices(v.shape).sum(0) % 3 == 0)),
    (QRectF(8, 8, 390, 300), lambda v: Grid(v, (-2.0, 2.0), texts=np.vectorize(lambda x: f"{x:.1f}")(v),
                                             highlights=[(1, 1), (2, 2)], marked=(0, 0))),
]


@pytest.mark.parametrize("case", range(len(PATCHED_GRIDS)))
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_a_grid_drawn_again_for_a_few_changed_cells_equals_a_whole_drawing_pixel_for_pixel(case, ratio):
    """GridCache keeps a grid's last picture and draws only the cells an edit changed (with their neighbours)
    into it: every picture after random edits of one cell, a row of cells or a block equals one drawn whole."""
    rect, make = PATCHED_GRIDS[case]
    rng = np.random.default_rng(case)
    values = np.round(rng.uniform(-2, 2, (7, 8)), 2)
    cache = GridCache()
    _cached_picture(cache, rect, make(values), ratio=ratio)
    for edit in range(12):
        r, c = int(rng.integers(7)), int(rng.integers(8))
        if edit % 3 == 0:
            values[r, c] = np.round(rng.uniform(-2, 2), 2)  # one cell
        elif edit % 3 == 1:
            values[r, : c + 1] = np.round(rng.uniform(-2, 2), 2)  # part of a row (an edge of the grid, too)
        else:
            values[r : r + 2, c : c + 2] = -values[r : r + 2, c : c + 2]  # a block
        patched = _cached_picture(cache, rect, make(values.copy()), ratio=ratio)
        whole = GridCache()
        whole.patching = False
        assert patched == _cached_picture(whole, rect, make(values.copy()), ratio=ratio), (case, edit)
    assert cache.patches >= 8  # the edits were patched, not drawn whole


def test_a_grid_whose_colours_font_or_size_changed_is_drawn_whole():
    values = np.round(np.random.default_rng(3).uniform(-2, 2, (6, 6)), 2)
    rect = QRectF(0, 0, 300, 300)
    cache = GridCache()
    _cached_picture(cache, rect, Grid(values, (-2.0, 2.0)))
    values[0, 0] = 1.0
    for grid, r in [(Grid(values, (-3.0, 3.0)), rect),  # another colour range: every cell's colour
                    (Grid(values, (-3.0, 3.0), value_px=9), rect),  # smaller numbers
                    (Grid(values, (-3.0, 3.0), value_px=9), QRectF(0, 0, 250, 300))]:  # another size
        renders = cache.renders
        picture = _cached_picture(cache, r, grid)
        assert cache.renders == renders + 1
        whole = GridCache()
        assert picture == _cached_picture(whole, r, grid)
    narrow = QRectF(0, 0, 250, 300)
    _cached_picture(cache, narrow, Grid(values, (-3.0, 3.0)))
    values[0, 0] = -12.25  # a wider number in one cell: every number gets smaller
    renders = cache.renders
    picture = _cached_picture(cache, narrow, Grid(values, (-3.0, 3.0)))
    assert cache.renders == renders + 1
    assert picture == _cached_picture(GridCache(), narrow, Grid(values, (-3.0, 3.0)))


def test_a_grid_whose_veil_blanks_or_texts_alone_changed_is_patched_as_drawn_whole():
    """The output of a step: cells not computed yet are veiled and blank, and keep their value 0."""
    values = np.zeros((6, 7))
    values[:2] = np.round(np.random.default_rng(4).uniform(-2, 2, (2, 7)), 2)
    texts = np.vectorize(lambda x: f"{x:.2f}")(values)
    rect = QRectF(3.5, 2, 380, 300)
    cache = GridCache()
    for masks in (("blank", "dimmed"), ("blank",), ("dimmed",)):
        for done in (14, 15, 16, 22):  # the cells up to `done` computed
            later = np.arange(42).reshape(6, 7) > done
            grid = Grid(values, (-2.0, 2.0), **dict.fromkeys(masks, later))
            assert _cached_picture(cache, rect, grid) == _cached_picture(GridCache(), rect, grid), (masks, done)
    for edit in range(3):
        texts[edit, edit] = "?"
        picture = _cached_picture(cache, rect, Grid(values, (-2.0, 2.0), texts=texts.copy()))
        assert picture == _cached_picture(GridCache(), rect, Grid(values, (-2.0, 2.0), texts=texts.copy()))
    assert cache.patches >= 10


def test_a_patched_picture_follows_the_values_it_was_given_not_an_array_changed_in_place_afterwards():
    values = np.zeros((5, 5))
    rect = QRectF(0, 0, 300, 300)
    cache = GridCache()
    _cached_picture(cache, rect, Grid(values, (-1.0, 1.0)))
    values[2, 2] = 0.5  # the same array, changed in place (a level the Document updates by rows)
    picture = _cached_picture(cache, rect, Grid(values, (-1.0, 1.0)))
    assert picture == _cached_picture(GridCache(), rect, Grid(values.copy(), (-1.0, 1.0)))


def test_pictures_patched_in_place_leave_every_kept_picture_as_its_values_draw_it():
    """A patch draws over the picture it starts from, which then leaves the cache: going back to earlier values
    (an undo), or values equal in another dtype, still gives their own picture."""
    values = np.round(np.random.default_rng(5).uniform(-2, 2, (6, 6)) * 4) / 4  # as exact in float32
    rect = QRectF(0, 0, 300, 300)
    edited = values.copy()
    edited[3, 3] = 1.75
    cache = GridCache()
    sequence = [values, values.astype(np.float32), edited, values, edited, edited.astype(np.float32), values]
    for shown in sequence:
        picture = _cached_picture(cache, rect, Grid(shown, (-2.0, 2.0), pad=(1, 1, 1, 1)))
        assert picture == _cached_picture(GridCache(), rect, Grid(shown, (-2.0, 2.0), pad=(1, 1, 1, 1)))
    assert cache.renders == 1 and cache.patches >= 3


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_a_new_colour_range_patches_the_cells_whose_colour_changed_and_the_colour_bar(ratio):
    """A step's output: its cells not computed yet are 0, the middle of a symmetric range whatever the range,
    so a weight edit that widens the range recolours the computed cells and relabels the bar, nothing else."""
    values = np.zeros((12, 12))
    values[0, :5] = [0.5, -1.25, 2.0, 0.75, -0.5]
    later = np.arange(144).reshape(12, 12) > 4
    rect = QRectF(6.5, 4, 400, 300)
    cache = GridCache()
    for hi, lut in ((2.0, DIVERGING), (2.5, DIVERGING), (3.75, DIVERGING), (3.75, GREYS), (3.75, DIVERGING)):
        grid = Grid(values.copy(), (-hi, hi), lut, title="Output, filter 1", blank=later, dimmed=later, colorbar=True,
                    marked=(0, 4))
        picture = _cached_picture(cache, rect, grid, ratio=ratio)
        assert picture == _cached_picture(GridCache(), rect, grid, ratio=ratio), (hi, lut is GREYS)
    assert cache.renders == 2 and cache.patches == 2  # the greys recolour every cell: drawn whole; then kept


@given(st.lists(st.tuples(st.integers(0, 63), st.one_of(st.floats(-1e7, 1e7, width=32),
                                                         st.sampled_from([0.125, -0.005, 3e-3, 12.25, 1e6, 99.995]))),
                min_size=1, max_size=12))
def test_a_maps_patterns_kept_across_edits_are_those_of_its_values_now(qapp, edits):
    """Wider numbers painted in and painted over again: after each edit the patterns are the whole map's own."""
    from cnnviz.ui.grid_painter import MapPatterns, number_patterns

    values = np.random.default_rng(5).normal(0, 3, (8, 8)).astype(np.float32)
    kept = MapPatterns()
    assert kept.of(values) == number_patterns(Grid(values, (0.0, 1.0)))
    for cell, value in edits:
        values.flat[cell] = value
        assert kept.of(values) == number_patterns(Grid(values.copy(), (0.0, 1.0)))
        assert kept.of(values) == number_patterns(Grid(values.copy(), (0.0, 1.0)))  # asked again, unchanged


def test_a_part_of_a_level_asked_again_keeps_its_patterns_and_a_new_level_gets_its_own(qapp, monkeypatch):
    """A step-through asks for each cropped channel of a level after every edit; a level is replaced, never
    changed in place, so the same channel of the same level is not read again, while a new level is."""
    from cnnviz.ui import grid_painter
    from cnnviz.ui.grid_painter import MapPatterns, number_patterns

    worked = []
    codes = grid_painter.shape_codes
    monkeypatch.setattr(grid_painter, "shape_codes", lambda v: worked.append(v.size) or codes(v))
    level = np.random.default_rng(7).normal(0, 3, (16, 16, 2)).astype(np.float32)
    kept = MapPatterns()
    assert kept.of(level[:, :, 0]) == number_patterns(Grid(level[:, :, 0].copy(), (0.0, 1.0)))
    assert worked == [256]
    assert kept.of(level[:, :, 0]) == number_patterns(Grid(level[:, :, 0].copy(), (0.0, 1.0)))
    assert worked == [256]  # nothing read again
    wider = level.copy()
    wider[3, 4, 0] = -123.25
    assert "−000.00" not in kept.of(level[:, :, 0])
    assert kept.of(wider[:, :, 0]) == number_patterns(Grid(wider[:, :, 0].copy(), (0.0, 1.0)))
    assert worked == [256, 1]  # the new level: compared, and its one changed cell worked out
    assert kept.of(wider[:, :, 1]) == number_patterns(Grid(wider[:, :, 1].copy(), (0.0, 1.0)))
