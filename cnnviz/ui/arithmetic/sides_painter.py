"""Paint one step of a ZeroPadding2D or Cropping2D (sides_steps): the input with the cell being copied, an
arrow, and the output being filled. A ZeroPadding2D's output is the input's numbers in a frame of hatched
zeros; a Cropping2D's input has the rows and cols it cuts off veiled.

Grid keys are ("input", channel) and ("output", channel), as the sliding layers' (step_painter).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import draw_lines, split_row
from cnnviz.ui.arithmetic.sides_steps import SidesStepModel
from cnnviz.ui.grid_painter import Grid, paint_grid_groups

BIG_GRID_COLUMNS = 20  # a wider grid gets no more width than 20 cells


def _shown(full_shape, values, offset) -> str:
    (h, w), (r0, c0), (n, m) = full_shape[:2], offset, values.shape[:2]
    return "" if (n, m) == (h, w) else f" (rows {r0 + 1}–{r0 + n}, cols {c0 + 1}–{c0 + m} shown)"


def paint_sides_step(painter: QPainter, rect: QRectF, model: SidesStepModel, k: int) -> dict:
    x, y = model.x, model.y
    step = model.steps[k]
    ch = step.channel
    (in_lut, in_levels), (out_lut, out_levels) = model.styles
    channel = f", channel {ch + 1}" if x.shape[2] > 1 else ""

    in_values, _, in_off = model.input_crop(k).cut(x[:, :, ch], (0, 0, 0, 0))
    cropped = model.input_crop(k).cut(model.cropped(), (0, 0, 0, 0))[0]
    source = model.source(k)
    in_title = f"Input {'×'.join(map(str, x.shape))}{channel}" + (" (veiled: cut off)" if cropped.any() else "")
    in_grid = Grid(in_values, in_levels, in_lut, title=in_title + _shown(x.shape, in_values, in_off),
                   dimmed=cropped if cropped.any() else None,
                   marked=None if source is None else (source[0] - in_off[0], source[1] - in_off[1]))

    # the output: what is filled so far (later cells blank and white: their colour would tell the result)
    not_yet = model.not_yet(k)
    filled = np.where(not_yet, 0.0, y[:, :, ch])
    crop, pad = model.output_crop(k), model.output_pad()
    out_values, out_pad, out_off = crop.cut(model.output_interior(filled), pad)
    blank = crop.cut(model.output_interior(not_yet), pad)[0]
    shift = (pad[0], pad[2])  # output cell = drawn interior cell + crop offset + frame
    row, col = step.cell[0] - shift[0] - out_off[0], step.cell[1] - shift[1] - out_off[1]
    out_title = f"Output {'×'.join(map(str, y.shape))}{channel}" + (" (hatched: padding zeros)" if any(pad) else "")
    if (crop.bottom - crop.top, crop.right - crop.left) != y.shape[:2]:  # a crop's corners in output cells
        out_title += f" (rows {crop.top + 1}–{crop.bottom}, cols {crop.left + 1}–{crop.right} shown)"
    out_grid = Grid(out_values, out_levels, out_lut, title=out_title, pad=out_pad, pad_text="0", blank=blank,
                    dimmed=blank, marked=(row, col), colorbar=True)

    in_w = in_values.shape[1]
    out_w = out_values.shape[1] + out_pad[2] + out_pad[3]
    columns = split_row(rect, [min(in_w, BIG_GRID_COLUMNS) + 1, 3.5, min(out_w, BIG_GRID_COLUMNS) + 3])
    placed = [(("input", ch), columns[0], in_grid), (("output", ch), columns[2], out_grid)]
    geometries = paint_grid_groups(painter, [placed])  # one cell size: the copy is cell for cell
    # the number copied, written large between the grids (the cells of a short dock are too small for it)
    out = formulas.cell_name("y", step.cell)
    copied = [f"{out} = 0", "(padding)"] if source is None else [
        f"{out} = {formulas.cell_name('x', source)}", f"= {formulas.format_value(model.value(k))}"]
    draw_lines(painter, columns[1], [*copied, "→"])
    return geometries
