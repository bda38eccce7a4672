"""Paint one step of a step model into a rectangle of any QPainter (a widget, a QImage, an SVG): the input
with the window, the filter, the products and the output being filled; or, for Conv2DTranspose, the input
cell, the kernel and the output canvas being built. A DepthwiseConv2D draws every input channel with its own
2-D filter, the channel its output map reads in full colour and the others veiled (they go to maps of their
own). Dense and ZeroPadding2D / Cropping2D steps are painted by dense_view and sides_painter.

`paint_step` returns {grid key: GridGeometry} so a widget can map mouse positions back to cells. Grid keys
are ("input", channel), ("filter", channel), ("products", channel), ("kernel", 0) and ("output", channel).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter

from cnnviz.core.layers import MaxPooling2D
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import MAX_CHANNEL_ROWS, draw_symbol, split_column, split_row
from cnnviz.ui.arithmetic.dense_steps import DenseStepModel
from cnnviz.ui.arithmetic.dense_view import paint_dense_step
from cnnviz.ui.arithmetic.sides_painter import paint_sides_step
from cnnviz.ui.arithmetic.sides_steps import SidesStepModel
from cnnviz.ui.arithmetic.step_model import CROP_CELLS, KERNEL_KINDS, StepModel
from cnnviz.ui.colormaps import DIVERGING, symmetric_levels
from cnnviz.ui.grid_painter import (
    GRID_LINE,
    INSERTED_FILL,
    Grid,
    MapPatterns,
    cell_number_px,
    fit_grids,
    fitted_font,
    grid_cell,
    hatch_cell,
    number_patterns,
    paint_grid_groups,
    pixel_font,
    text_width,
)

BIG_GRID_COLUMNS = 20  # a wider input or output gets no more width than 20 cells: the filter keeps its share
MIN_SHARED_CELL = 22.0  # below this the filter and products get cells of their own (their numbers readable)
BLOCK_GAP = 14.0  # between input channels' blocks side by side
NOTE_PX = 18.0  # height of a line of text under the input channels
CROP_ROOM_STEP = 32.0  # crop_cells searches heights in steps of this
# layouts kept (a few floats each): the readable height's search and the crop search probe a few hundred rooms and
# crops of one layout, and every one laid out again costs the layouts of all the arrangements it tries
CACHED_LAYOUTS = 2048


def grid_weight(cells: int) -> float:
    """Width share of a grid `cells` wide, capped so that a 256-wide input leaves room for a 3×3 filter."""
    return float(min(cells, BIG_GRID_COLUMNS))


def shared_cell(placed) -> float:
    """The cell size `fit_grids` gives every grid in `placed`."""
    return min(grid_cell(r, g) for _, r, g in placed)


def _shape(a) -> str:
    return "×".join(map(str, a))


def _title(whole: str, short: str, full_shape, values, offset) -> str:
    """`whole`, or `short` with the rows and cols shown when `values` is a crop of a map of `full_shape`: a crop's
    grid is a few cells wide, and its title as short as it can be (the header gives the shapes)."""
    (h, w), (r0, c0) = full_shape[:2], offset
    n, m = values.shape[:2]
    return whole if (n, m) == (h, w) else f"{short}: rows {r0 + 1}–{r0 + n}, cols {c0 + 1}–{c0 + m}"


def _shift(cells, offset, values, pad):
    """`cells` moved into a crop at `offset`, keeping those inside the drawn grid (padding included)."""
    (r0, c0), (h, w) = offset, values.shape[:2]
    top, bottom, left, right = pad
    moved = ((r - r0, c - c0) for r, c in cells)
    return [(r, c) for r, c in moved if -top <= r < h + bottom and -left <= c < w + right]


def paint_step(painter: QPainter, rect: QRectF, model, k: int) -> dict:
    """Draw step `k` of `model` (any step model, step_kinds) into `rect`; return where each grid landed."""
    if isinstance(model, DenseStepModel):
        return paint_dense_step(painter, rect, model, k)
    if isinstance(model, SidesStepModel):
        return paint_sides_step(painter, rect, model, k)
    if model.transposed:
        return _paint_transpose(painter, rect, model, k)
    return _paint_sliding(painter, rect, model, k)


def _shown_channels(model: StepModel, k: int) -> list[int]:
    """The input channels drawn: the first few, or for a DepthwiseConv2D a few around the one it reads."""
    if not isinstance(model.window_layer, KERNEL_KINDS):
        return [model.steps[k].channel]
    channels = model.x.shape[2]
    start = 0
    if model.depthwise:
        start = min(max(model.depthwise_source(k)[0] - 1, 0), max(channels - MAX_CHANNEL_ROWS, 0))
    return list(range(start, min(start + MAX_CHANNEL_ROWS, channels)))


def _notes(model: StepModel, k: int, hidden: int) -> list:
    """The lines under the input channels: the direct view's legend of zeros, what a DepthwiseConv2D does not
    add, the channels not drawn."""
    # the direct view's two kinds of zeros, a line each: on one line the font shrank below reading size
    notes = list(zip((INSERTED_FILL, None), model.zeros_legend())) if model.direct else []
    if model.depthwise and model.x.shape[2] > 1:
        c, _ = model.depthwise_source(k)
        notes.append(f"Nothing is added across channels: map {model.steps[k].channel + 1} is channel {c + 1} "
                     "through its own 2-D filter; the veiled channels go to maps of their own (a Conv2D's 3-D "
                     "filter adds them all)")
    if hidden:
        notes.append(f"+ {hidden} more channels ({'each to its own map' if model.depthwise else 'in the sum'})")
    return notes


def window_readable(rect: QRectF, model: StepModel, k: int) -> bool:
    """Whether step `k` painted into `rect` writes the numbers of its input and filter grids, with a crop's cells
    holding every number of the whole map it cuts (True for the pictures that size themselves: Dense, padding,
    the scatter view of a transposed convolution): the step-through grows its canvas until it does.

    A crop as large as the room allows never has smaller cells than the least crop has, so this asks the least crop
    only: one layout per room, kept by the layout (the readable height's search probes a dozen heights after an
    edit that makes the numbers wider), instead of a crop search at each."""
    if not isinstance(model, StepModel) or model.transposed:
        return True
    fitted = _fitted_cells(rect, model, k, _least_crop(model, k))
    return all(fitted[grid] >= side for grid, side in _needs(rect, model, k).items())


def window_needs(rect: QRectF, model, k: int) -> tuple:
    """What `window_readable` depends on besides the rectangle, the step and `model.layout_key`: the least cell side
    of every grid whose numbers must be written (() for pictures that size themselves). Painting 0.25 over 0.75
    keeps them all; −12.25 over 1 makes the input's larger."""
    if not isinstance(model, StepModel) or model.transposed:
        return ()
    return tuple(sorted(_needs(rect, model, k).items()))


def _needs(rect: QRectF, model: StepModel, k: int) -> dict:
    """{grid key: the least cell side in which it writes its numbers} of the grids step `k` must write: the filter's
    weights, the input's numbers and a cropped output's. A cropped map asks room for every number of its whole map
    (_least_cells), so its crop writes them wherever it sits. The same in every room and crop: kept by the model."""
    if k not in model.needs:
        model.needs.clear()  # the step shown before: done
        needs = _least_cells(model, k)
        if needs:  # cropped: the filter grids write the kernel's weights (_sliding_arrangement), no layout needed
            filters = {("filter", c): model.filter_slice(k, c) for c in _shown_channels(model, k)
                       if isinstance(model.window_layer, KERNEL_KINDS)}
            needs |= {grid: _least_cell(number_patterns(Grid(w, (0.0, 1.0)))) for grid, w in filters.items()}
        else:
            for grid, patterns in _step_patterns(rect, model, k, _least_crop(model, k)).items():
                if grid[0] in ("filter", "input"):
                    needs[grid] = math.inf if patterns is None else _least_cell(patterns)
        model.needs[k] = needs
    return model.needs[k]


def _square(n: int, least: tuple[int, int], most: tuple[int, int]) -> tuple[int, int]:
    """A crop n cells square, as far as the limits allow."""
    return max(least[0], min(n, most[0])), max(least[1], min(n, most[1]))


def _least_crop(model: StepModel, k: int) -> tuple[int, int]:
    """The crop crop_cells gives step `k` when no larger one fits (the longest grid's cells when none is cut)."""
    least, most = model.crop_limits(k)
    return _square(max(least), least, most) if _least_cells(model, k) else most


def crop_cells(rect: QRectF, model: StepModel, k: int) -> tuple[int, int]:
    """(rows, cols) of the crops of grids longer than CROP_CELLS in `rect`: the most at which the input's and the
    output's cells still hold every number of their whole maps and the filter still writes its weights
    (grid_painter's own test, cell_number_px), never fewer than the window with a neighbour on every side (the
    step-through's canvas grows and scrolls then), never more than the longest grid.

    The same at every step (a crop that changed size as the window met a wider number would jump while playing)
    and kept by the shapes, the room and the cell sides the numbers need: a square crop as large as fits, then as
    many more columns, then rows, as fit beside it (a short wide dock gets a wide crop)."""
    least, most = model.crop_limits(k)
    if not _least_cells(model, k):  # every grid is drawn whole, whatever the crop
        return most
    need = _needs(rect, model, k)
    # searched in the height rounded down to CROP_ROOM_STEP px: nearby heights share one crop (a few px less room:
    # a crop as large, or a row smaller)
    height = max(CROP_ROOM_STEP, rect.height() // CROP_ROOM_STEP * CROP_ROOM_STEP)
    room = QRectF(rect.x(), rect.y(), rect.width(), height)
    key = (model.layout_key, room.getRect(), tuple(sorted(need.items())))
    if key not in _CROPS:
        if len(_CROPS) >= CACHED_LAYOUTS:  # rooms and shapes seen long ago: searched again if they return
            _CROPS.clear()

        def fits(cells: tuple[int, int]) -> bool:
            fitted = _fitted_cells(room, model, k, cells)
            return all(fitted[grid] >= side for grid, side in need.items())

        rows, cols = _square(_most(max(least), max(most), lambda n: fits(_square(n, least, most))), least, most)
        cols = _most(cols, most[1], lambda n: fits((rows, n)))
        rows = _most(rows, most[0], lambda n: fits((n, cols)))
        _CROPS[key] = rows, cols
    return _CROPS[key]


# (model.layout_key, room, the cell sides the numbers need) -> crop_cells' answer
_CROPS: dict = {}


def _most(low: int, high: int, fits) -> int:
    """The largest n in low..high for which `fits(n)` (bisection: fewer cells never fit worse); low if none."""
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _least_cells(model: StepModel, k: int) -> dict:
    """{("input", c) or ("output", o) key of a grid of step `k` longer than CROP_CELLS: the smallest cell side that
    holds every number of the whole map it crops}. Kept by the model (every sizing of a step asks)."""
    step = model.steps[k]
    if model.transposed:
        inputs, pad = [step.in_channel], (0, 0, 0, 0)
        output = model.transpose_canvas(k)[0].shape
    else:
        inputs, pad = _shown_channels(model, k), model.paddings()
        output = model.y.shape[:2]
    rows, cols = model.input_plane(0).shape
    keys = [("input", c) for c in inputs] if max(rows + pad[0] + pad[1], cols + pad[2] + pad[3]) > CROP_CELLS else []
    keys += [("output", step.channel)] if max(output) > CROP_CELLS else []
    for key in keys:
        if key not in model.least_cells:
            # the output's final numbers, and the 0 of cells not computed yet (the default padding text)
            values = model.input_plane(key[1]) if key[0] == "input" else model.y[:, :, key[1]]
            model.least_cells[key] = _least_cell(_map_shapes((model.layout_key, model.level, key), values))
    return {key: model.least_cells[key] for key in keys}


# (layout_key, level, grid key) -> the number patterns of the whole map that grid crops, kept across edits
_MAP_PATTERNS: dict = {}


def _map_shapes(store, values: np.ndarray) -> frozenset:
    """number_patterns of a whole map a crop cuts. A value edit makes a new step model but changes a few cells of
    most maps: their patterns are kept by layout and only the changed cells' worked out again."""
    patterns = _MAP_PATTERNS.get(store)
    if patterns is None:
        if len(_MAP_PATTERNS) >= 64:  # maps of layouts long gone
            _MAP_PATTERNS.clear()
        patterns = _MAP_PATTERNS[store] = MapPatterns()
    return patterns.of(values)


@lru_cache(maxsize=256)
def _least_cell(patterns: frozenset) -> float:
    """The smallest cell side (to 1/32 px) in which numbers of these patterns are written (grid_painter sizes them:
    larger cells never write them smaller)."""
    low, high = 0.0, 1024.0
    while high - low > 1 / 32:
        middle = (low + high) / 2
        low, high = (low, middle) if cell_number_px(middle, patterns) is not None else (middle, high)
    return high


def _step_patterns(rect: QRectF, model: StepModel, k: int, cells: tuple[int, int]) -> dict:
    """{grid key: the patterns of its numbers (None: it writes none)} at step `k` with crops of `cells`, the same
    in every rect."""
    key = (k, cells)
    if key not in model.step_patterns:
        if len(model.step_patterns) >= 16:  # the steps shown before, the crops tried: done
            model.step_patterns.clear()
        model.step_patterns[key] = {grid_key: None if g.show_values is False else number_patterns(g)
                                    for group in _groups(rect, model, k, cells) for grid_key, _, g in group}
    return model.step_patterns[key]


def _groups(rect: QRectF, model: StepModel, k: int, cells: tuple[int, int]) -> list[list]:
    """The grids of step `k` with crops of `cells`, in the groups that share a cell size."""
    if model.transposed:
        return _transpose_layout(rect, model, k, cells)[0]
    return _grid_groups(_best_arrangement(rect, model, k, cells)[0])


# (model.layout_key, rect, step, crop cells) -> {grid key: its cell side as paint_grid_groups fits it}: geometry only
_CELLS: dict = {}


def _fitted_cells(rect: QRectF, model: StepModel, k: int, crop: tuple[int, int]) -> dict:
    key = (model.layout_key, rect.getRect(), k, crop)
    cells = _CELLS.get(key)
    if cells is None:
        fitted = [p for group in _groups(rect, model, k, crop) for p in fit_grids(group)]
        cells = {grid_key: grid_cell(r, g) for grid_key, r, g in fitted}
        if len(_CELLS) >= CACHED_LAYOUTS:  # rooms and steps seen long ago: laid out again if they return
            _CELLS.clear()
        _CELLS[key] = cells
    return cells


# (model.layout_key, rect, step, crop cells) -> channels side by side. Which arrangement wins depends on the grids'
# cells, never on their values: a value edit makes a new model but lays its step out as before without trying the
# others
_CHOICES: dict = {}


def _best_arrangement(rect: QRectF, model: StepModel, k: int, cells: tuple[int, int]):
    """The channel blocks stacked, side by side or in between: whichever gives the smallest grid the
    largest cells (a short wide dock puts three channels side by side; a tall one stacks them). Kept by the
    model: the canvas sizing and the paint that follows it ask for the same one."""
    key = (rect.getRect(), k, cells)
    if key not in model.arrangements:
        if len(model.arrangements) >= 16:  # a step played or hovered after another, crops tried: done
            model.arrangements.clear()
        shown = _shown_channels(model, k)
        hidden = (model.x.shape[2] if isinstance(model.window_layer, KERNEL_KINDS) else 1) - len(shown)
        choice = (model.layout_key, *key)
        placing = _CHOICES.get(choice)
        if placing is None:
            # a crop may also put the output under the channels: a narrow dock has no width for both in a row
            unders = (False, True) if _least_cells(model, k) else (False,)
            tried = {(n, under): _sliding_arrangement(rect, model, k, cells, shown, n, hidden, under)
                     for under in unders for n in range(1, len(shown) + 1)}
            placing = max(tried, key=lambda p: shared_cell(tried[p][0]))  # the first of equals, as before
            if len(_CHOICES) >= CACHED_LAYOUTS:  # rooms and steps seen long ago: tried again if they return
                _CHOICES.clear()
            _CHOICES[choice] = placing
            arrangement = tried[placing]
        else:
            across, under = placing
            arrangement = _sliding_arrangement(rect, model, k, cells, shown, across, hidden, under)
        model.arrangements[key] = (*arrangement, hidden)
    return model.arrangements[key]


def _grid_groups(placed) -> list[list]:
    """The grids of a sliding step in groups that share a cell size."""
    # One cell size per group. One channel: everything shares the input's cells, as the lecture draws
    # it, unless that leaves cells too small for their numbers: then the filter with its products, the
    # input and the output each get the largest cells their places allow, as with several channels.
    inputs = [p for p in placed if p[0][0] == "input"]
    groups = [inputs, [p for p in placed if p not in inputs]] if len(inputs) > 1 else [placed]
    if len(inputs) > 1 or shared_cell(placed) < MIN_SHARED_CELL:
        # too small to share: the filter with its products, the inputs, and the output each as big as they can
        small = [p for p in placed if p[0][0] in ("filter", "products")]
        output = [p for p in placed if p[0][0] == "output"]
        groups = [[p for p in group if p not in small and p not in output] for group in groups] + [small, output]
    return [group for group in groups if group]


def _paint_sliding(painter: QPainter, rect: QRectF, model: StepModel, k: int) -> dict:
    placed, symbols, headings, note_rect, hidden = _best_arrangement(rect, model, k, crop_cells(rect, model, k))
    geometries = paint_grid_groups(painter, _grid_groups(placed))
    for sym_rect, sym in symbols:
        draw_symbol(painter, sym_rect, sym)
    painter.save()
    painter.setPen(QColor(20, 20, 20))
    if headings:  # one font for every channel's heading
        px = min(fitted_font(text, r, bold=True).pixelSize() for r, text in headings)
        painter.setFont(pixel_font(px, bold=True))
        for heading_rect, text in headings:
            painter.drawText(heading_rect, Qt.AlignmentFlag.AlignCenter, text)
    notes = _notes(model, k, hidden)
    lines = list(zip(split_column(note_rect, [1] * len(notes)) if notes else [], notes))
    legend_px = min((_legend_px(r, note[1]) for r, note in lines if isinstance(note, tuple)), default=0)
    for line_rect, note in lines:
        if isinstance(note, tuple):  # the zeros legend's lines share one size
            _paint_zeros_legend(painter, line_rect, *note, legend_px)
            continue
        painter.setPen(QColor(70, 70, 70))
        painter.setFont(fitted_font(note, line_rect))
        painter.drawText(line_rect, Qt.AlignmentFlag.AlignCenter, note)
    painter.restore()
    return geometries


def _sliding_arrangement(rect: QRectF, model: StepModel, k: int, crop: tuple[int, int], shown: list[int],
                         across: int, hidden: int, under: bool = False):
    """The grids of a Conv2D or pooling step, large ones cropped to `crop` cells, with the input channels' blocks
    (input ⊙ filter slice = products) `across` to a row, the output beside them or `under` them: (placed grids,
    (rect, symbol)s, (rect, heading)s, note rect).

    Stacked blocks title each grid; side by side a block is too narrow for that and gets one heading."""
    layer, x, y = model.window_layer, model.x, model.y
    step = model.steps[k]
    prov = model.provenance(k)
    pad = model.paddings()
    plane_h, plane_w = model.input_plane(0).shape
    (in_lut, in_levels), (out_lut, out_levels) = model.styles
    is_conv = isinstance(layer, KERNEL_KINDS)
    depthwise = model.depthwise
    read, filt = model.depthwise_source(k) if depthwise else (None, None)
    side = across > 1
    # cells not computed yet are drawn as 0 (white): their colour would tell the result before its step
    not_yet = model.not_yet(k)
    out_map, _, out_offset = model.output_view(k, np.where(not_yet, 0.0, y[:, :, step.channel]), crop)
    not_yet = model.output_view(k, not_yet, crop)[0]

    # the widths go by the cells drawn: a crop's, not the whole map's
    drawn, drawn_pad, _ = model.input_view(k, shown[0], crop)
    in_h, in_w = drawn.shape[0] + drawn_pad[0] + drawn_pad[1], drawn.shape[1] + drawn_pad[2] + drawn_pad[3]
    if is_conv:
        kw = layer.kernel_size[1]
        block_weights = [grid_weight(in_w) + 1, 1.0, kw + 1.5, 1.0, kw + 1.5]
        tail = [3.0 if across > 1 else 1.4, grid_weight(out_map.shape[1]) + 3]
    else:
        block_weights = [grid_weight(in_w) + 1]
        tail = [1.2, grid_weight(out_map.shape[1]) + 3]
    if under:  # the channels' rows over the output's, each as tall as its cells
        block_rows = math.ceil(len(shown) / across)
        blocks_rect, bottom = split_column(rect, [block_rows, 1], gap=6)
        sum_rect, out_rect = split_row(bottom, tail)
    else:
        blocks_rect, sum_rect, out_rect = split_row(rect, [sum(block_weights) * across, *tail])
    # a line under the input channels for each note (channels not drawn, the direct view's legend, ...)
    note_px = NOTE_PX * len(_notes(model, k, hidden))
    block_area = blocks_rect.adjusted(0, 0, 0, -note_px)
    rows = split_column(block_area, [1] * math.ceil(len(shown) / across), gap=6)
    blocks = [b for row in rows for b in split_row(row, [1] * across, gap=BLOCK_GAP)][: len(shown)]
    heading_h = max(10.0, min(20.0, block_area.height() * 0.1)) if side else 0.0
    # side by side the input is as tall as a block allows: the width it cannot use goes to the filter
    cells_h = (blocks[0].height() - heading_h) / in_h if side else None

    # the 2-D weights each input channel meets: (kh, kw, C)
    kernel = np.stack([model.filter_slice(k, c) for c in range(x.shape[2])], axis=2) if is_conv else None
    products = model.products(k) if is_conv else None
    kernel_levels = symmetric_levels(kernel) if is_conv else None
    product_levels = symmetric_levels(products) if is_conv else None
    bias = model.bias(step.channel) if is_conv else 0.0
    marked = prov.terms[0].cell[:2] if isinstance(layer, MaxPooling2D) else None
    multiplier = layer.depth_multiplier if depthwise else 1
    placed, symbols, headings = [], [], []
    for block, c in zip(blocks, shown):
        values, in_pad, offset = model.input_view(k, c, crop)
        veiled = depthwise and c != read  # goes to a map of its own: not part of this step's number
        dim = np.ones(values.shape, bool) if veiled else None
        goes_to = f" → map {c * multiplier + filt + 1}" if depthwise else ""
        with_bias = is_conv and c == (read if depthwise else shown[-1])  # the channel whose map gets the bias
        bias_note = f"  (b = {formulas.format_value(bias)})" if with_bias else ""
        if side:
            heading = f"Channel {c + 1}: x·w sum {formulas.format_value(products[:, :, c].sum())}{goes_to}"
            headings.append((QRectF(block.left(), block.top(), block.width(), heading_h), heading + bias_note))
        cells = split_row(block.adjusted(0, heading_h, 0, 0), _block_weights(block_weights, cells_h, block))
        title = f"Input {_shape(x.shape)}" + (f", channel {c + 1}" if x.shape[2] > 1 else "")
        if model.direct:
            title += ", zeros inserted"
        if any(pad):
            title += " + padding"
        short = f"Channel {c + 1}" if x.shape[2] > 1 else "Input"
        title = "" if side else _title(title, short, (plane_h, plane_w), values, offset)
        placed.append(
            (
                ("input", c),
                cells[0],
                Grid(
                    values,
                    in_levels,
                    in_lut,
                    title=title,
                    pad=in_pad,
                    pad_text="0" if is_conv else "",
                    highlights=_shift(model.window(k), offset, values, in_pad),
                    marked=None if marked is None else _shift([marked], offset, values, in_pad)[0],
                    inserted=model.inserted_view(k, crop),
                    dimmed=dim,
                ),
            )
        )
        if not is_conv:
            continue
        if depthwise:
            title = "" if side else f"Ch {c + 1}'s 2-D filter" + (f" {filt + 1}" if multiplier > 1 else "")
        else:
            title = "" if side else f"Filter {step.channel + 1}" + (f", ch {c + 1}" if x.shape[2] > 1 else "")
        if model.direct and not side:
            title += " flipped"
        kernel_dim = np.ones(kernel.shape[:2], bool) if veiled else None
        placed.append(
            (
                ("filter", c),
                cells[2],
                Grid(kernel[:, :, c], kernel_levels, DIVERGING, title=title + bias_note * (not side),
                     dimmed=kernel_dim),
            )
        )
        title = "" if side else f"x·w, sum {formulas.format_value(products[:, :, c].sum())}{goes_to}"
        placed.append(
            (("products", c), cells[4], Grid(products[:, :, c], product_levels, DIVERGING, title=title,
                                             dimmed=kernel_dim))
        )
        symbols += [(cells[1], "⊙"), (cells[3], "=")]
    if depthwise:
        out_title = short = f"Output map {step.channel + 1}" + (f" of {y.shape[2]}" if y.shape[2] > 1 else "")
    else:
        short = f"{'Filter' if is_conv else 'Channel'} {step.channel + 1}" if y.shape[2] > 1 else "Output"
        out_title = f"Output {_shape(y.shape)}" + (f", {short.lower()}" if y.shape[2] > 1 else "")
    out_title = _title(out_title, short, y.shape, out_map, out_offset)
    placed.append(
        (
            ("output", step.channel),
            out_rect,
            Grid(
                out_map,
                out_levels,
                out_lut,
                title=out_title,
                blank=not_yet,
                dimmed=not_yet,
                marked=(step.cell[0] - out_offset[0], step.cell[1] - out_offset[1]),
                colorbar=True,
            ),
        )
    )
    symbols.append((sum_rect, "Σ+b→" if is_conv else "→"))
    note_rect = QRectF(blocks_rect.left(), block_area.bottom(), blocks_rect.width(), note_px)
    return placed, symbols, headings, note_rect


def _legend_px(rect: QRectF, text: str) -> int:
    """The font of a zeros legend line in `rect`: up to 90 % of its swatch, smaller on a narrow canvas so
    that the line is never cut (measured at the whole pixel size it is drawn at)."""
    px = round(min(rect.height() * 0.75, 14.0) * 0.9)
    while px > 1 and px / 0.9 + 4 + text_width(text, px) > rect.width():
        px -= 1
    return px


def _paint_zeros_legend(painter: QPainter, rect: QRectF, fill: QColor | None, text: str, px: int) -> None:
    """One kind of zeros of the direct view, centred in `rect`: its swatch (amber for inserted zeros,
    hatched for padding) and what it is."""
    font, size = pixel_font(px), min(rect.height() * 0.75, px / 0.9)
    width = size + 4 + QFontMetricsF(font).horizontalAdvance(text)
    x = max(rect.left(), rect.center().x() - width / 2)
    painter.save()
    painter.setFont(font)
    swatch = QRectF(x, rect.center().y() - size / 2, size, size)
    if fill is None:
        hatch_cell(painter, swatch)
    else:
        painter.fillRect(swatch, fill)
    painter.setPen(GRID_LINE)
    painter.drawRect(swatch)
    painter.setPen(QColor(40, 40, 40))
    painter.drawText(QRectF(x + size + 4, rect.top(), width - size - 4, rect.height()),
                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
    painter.restore()


def _block_weights(weights: list[float], input_cell: float | None, block: QRectF) -> list[float]:
    """`weights` of a channel block's pieces, the input's cut to the width `input_cell`-sized cells need
    (its weight counts one cell of margin) and the rest shared by the others as before."""
    if input_cell is None or len(weights) == 1:
        return weights
    unit = block.width() / sum(weights)
    need = weights[0] * input_cell / unit
    if need >= weights[0]:
        return weights
    rest = sum(weights[1:])
    return [need] + [w * (sum(weights) - need) / rest for w in weights[1:]]


def _paint_transpose(painter: QPainter, rect: QRectF, model: StepModel, k: int) -> dict:
    groups, columns = _transpose_layout(rect, model, k, crop_cells(rect, model, k))
    geometries = paint_grid_groups(painter, groups)
    draw_symbol(painter, columns[1], "×")
    draw_symbol(painter, columns[3], "→")
    return geometries


def _transpose_layout(rect: QRectF, model: StepModel, k: int, cells: tuple[int, int]):
    """The grids of a Conv2DTranspose's scatter step, large ones cropped to `cells`, in groups that share a cell
    size, and the columns they and the symbols between them take."""
    layer, x, y = model.layer, model.x, model.y
    step = model.steps[k]
    canvas, touched, (top, left), (oh, ow) = model.transpose_canvas(k)
    targets = model.scatter_targets(k)
    (in_lut, in_levels), (out_lut, out_levels) = model.styles
    kernel = layer.kernel[:, :, step.channel, step.in_channel]
    full_pad = (top, canvas.shape[0] - top - oh, left, canvas.shape[1] - left - ow)
    centre = model.transpose_output_centre(k, full_pad)
    region, pad, out_offset = model.output_view(k, canvas[top : top + oh, left : left + ow], cells, full_pad, centre)
    region_touched = model.output_view(k, touched[top : top + oh, left : left + ow], cells, full_pad, centre)[0]
    in_values, _, in_offset = model.input_view(k, step.in_channel, cells)
    weights = [grid_weight(in_values.shape[1]) + 1, 1.2, layer.kernel_size[1] + 1, 1.2]
    columns = split_row(rect, [*weights, grid_weight(region.shape[1] + pad[2] + pad[3]) + 3])
    in_short = f"INPUT channel {step.in_channel + 1}" if x.shape[2] > 1 else "INPUT"
    in_title = f"INPUT {_shape(x.shape)}" + (f", channel {step.in_channel + 1}" if x.shape[2] > 1 else "")
    in_title = _title(in_title, in_short, x.shape, in_values, in_offset)
    k_title = f"Kernel (filter {step.channel + 1}" + (f", in-ch {step.in_channel + 1})" if x.shape[2] > 1 else ")")
    out_short = f"OUTPUT filter {step.channel + 1}" if y.shape[2] > 1 else "OUTPUT"
    out_title = f"OUTPUT {_shape(y.shape)} being built" + (f", filter {step.channel + 1}" if y.shape[2] > 1 else "")
    if any(pad):
        out_title += " (hatched: cropped)"
        out_short += " (hatched: cropped)"
    out_title = _title(out_title, out_short, y.shape, region, out_offset)
    placed = [
        (
            ("input", step.in_channel),
            columns[0],
            Grid(
                in_values,
                in_levels,
                in_lut,
                title=in_title,
                marked=(step.cell[0] - in_offset[0], step.cell[1] - in_offset[1]),
            ),
        ),
        (
            ("kernel", 0),
            columns[2],
            Grid(
                kernel,
                symmetric_levels(kernel),
                DIVERGING,
                title=k_title,
                highlights=[(a, b) for a in range(kernel.shape[0]) for b in range(kernel.shape[1])],
            ),
        ),
        (
            ("output", step.channel),
            columns[4],
            Grid(
                region,
                out_levels,
                out_lut,
                title=out_title,
                blank=~region_touched,
                dimmed=~region_touched,
                pad=pad,
                pad_text="",
                highlights=_shift([t[2] for t in targets], out_offset, region, pad),
                colorbar=True,
            ),
        ),
    ]
    # the kernel is stamped onto the output, so they share a scale while the kernel's cells still write its
    # weights (a 5-cell crop of the output leaves shared cells too small for "−0.38"); the small input gets its
    # own cells
    shared = shared_cell(placed[1:])
    readable = shared >= MIN_SHARED_CELL and cell_number_px(shared, number_patterns(placed[1][2])) is not None
    groups = [placed[:1], placed[1:]] if readable else [[p] for p in placed]
    return groups, columns
