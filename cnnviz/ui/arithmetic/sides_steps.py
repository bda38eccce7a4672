"""The steps of a ZeroPadding2D or Cropping2D, without any widget: one output cell per step and where it
comes from.

ZeroPadding2D extends the area of the map (the lecture's "padding extends the area of an image"): an output
cell is the input cell `top` rows up and `left` cols to the left of it, or a zero outside the input (a
padding cell, drawn hatched). Cropping2D cuts rows and cols off: an output cell is the input cell `top`
rows down and `left` cols to the right. Channel by channel, then cells row-major, as a Conv2D's steps.
How both layers compute: docs/layers.md.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.layers import ZeroPadding2D
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.step_model import Crop, LayerSteps, Step, Steps, crop_around


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


class SidesStepModel(LayerSteps):
    """ZeroPadding2D / Cropping2D: step k fills output cell k from its input cell (or with a padding zero)."""

    axis_names = ("channel", "", "row", "col")

    def __init__(self, layer, x: np.ndarray, y: np.ndarray, level: int):
        super().__init__(layer, x, y, level)
        self.padding = isinstance(layer, ZeroPadding2D)
        (self.top, self.bottom), (self.left, self.right) = layer.padding if self.padding else layer.cropping
        oh, ow, channels = y.shape
        self.steps = Steps(False, channels, 1, oh, ow)

    # ------------------------------------------------------------------ where a cell comes from
    def shift(self) -> tuple[int, int]:
        """Input row/col = output row/col + shift."""
        return (-self.top, -self.left) if self.padding else (self.top, self.left)

    def source(self, k: int) -> tuple[int, int] | None:
        """The input cell (row, col) step `k`'s output cell is; None for a padding zero."""
        (i, j), (dr, dc) = self.steps[k].cell, self.shift()
        r, c = i + dr, j + dc
        h, w = self.x.shape[:2]
        return (r, c) if 0 <= r < h and 0 <= c < w else None

    def value(self, k: int) -> float:
        step = self.steps[k]
        return float(self.y[step.cell[0], step.cell[1], step.channel])

    def not_yet(self, k: int) -> np.ndarray:
        """Boolean (O_h, O_w): the output cells of step `k`'s channel that later steps fill."""
        oh, ow = self.y.shape[:2]
        i, j = self.steps[k].cell
        return np.arange(oh * ow).reshape(oh, ow) > i * ow + j

    def cropped(self) -> np.ndarray:
        """Cropping2D: boolean (H, W), the input cells cut off (all False for a ZeroPadding2D)."""
        h, w = self.x.shape[:2]
        out = np.ones((h, w), bool)
        if self.padding:
            return ~out
        out[self.top : h - self.bottom, self.left : w - self.right] = False
        return out

    # ------------------------------------------------------------------ what is drawn (large maps: crops)
    def input_crop(self, k: int) -> Crop:
        """The part of the input drawn at step `k`: all of it, or a crop around the source cell (a padding
        zero's nearest input cell)."""
        (i, j), (dr, dc), (h, w) = self.steps[k].cell, self.shift(), self.x.shape[:2]
        centre = (min(max(i + dr, 0), h - 1) + 0.5, min(max(j + dc, 0), w - 1) + 0.5)
        return crop_around((h, w), (0, 0, 0, 0), centre)

    def output_pad(self) -> tuple[int, int, int, int]:
        """The output drawn as the input's values with hatched zeros around (ZeroPadding2D), else no pad."""
        return (self.top, self.bottom, self.left, self.right) if self.padding else (0, 0, 0, 0)

    def output_crop(self, k: int) -> Crop:
        """The part of the output drawn at step `k`, in padded coordinates (= output coordinates)."""
        i, j = self.steps[k].cell
        pad = self.output_pad()
        interior = (self.y.shape[0] - pad[0] - pad[1], self.y.shape[1] - pad[2] - pad[3])
        return crop_around(interior, pad, (i + 0.5, j + 0.5))

    def output_interior(self, values: np.ndarray) -> np.ndarray:
        """The output cells that are input cells (a ZeroPadding2D's without its frame of zeros)."""
        top, bottom, left, right = self.output_pad()
        return values[top : values.shape[0] - bottom, left : values.shape[1] - right]

    def offset(self, k: int, which: str) -> tuple[int, int]:
        """What to add to a drawn "input" or "output" grid cell at step `k` to get the map's cell."""
        if which == "input":
            return self.input_crop(k).cut(self.x[:, :, 0], (0, 0, 0, 0))[2]
        r0, c0 = self.output_crop(k).cut(self.output_interior(self.y[:, :, 0]), self.output_pad())[2]
        return r0 + self.top * self.padding, c0 + self.left * self.padding

    # ------------------------------------------------------------------ the step written out
    def formula_lines(self, k: int) -> list[str]:
        step = self.steps[k]
        out = formulas.cell_name("y", step.cell)
        source, value = self.source(k), formulas.format_value(self.value(k))
        if self.padding and source is None:
            return [f"{out} = 0: a padding cell, outside the {self.x.shape[0]}×{self.x.shape[1]} input   (padding "
                    "extends the area of the image)"]
        how = (f"{_count(self.top, 'row')} up and {_count(self.left, 'col')} left: padding extends the area of "
               "the image" if self.padding else f"{_count(self.top, 'row')} down and {_count(self.left, 'col')} "
               "right: the cropped rows and cols are dropped")
        return [f"{out} = {formulas.cell_name('x', source)} = {value}   (the input cell {how})"]

    # ------------------------------------------------------------------ linking to the layer views
    def step_for_cell(self, level: int, cell: tuple, current: int) -> int | None:
        r, c, ch = cell
        if level == self.level:
            return self.steps.index(Step(ch, (r, c)))
        if level == self.level - 1:  # the step that copies this input cell, if it is not cropped away
            dr, dc = self.shift()
            i, j = r - dr, c - dc
            oh, ow = self.y.shape[:2]
            return self.steps.index(Step(ch, (i, j))) if 0 <= i < oh and 0 <= j < ow else None
        return None

    def probe_target(self, k: int, key, cell):
        """Grid keys are ("input", channel) and ("output", channel)."""
        if not isinstance(key, tuple) or key[0] not in ("input", "output"):
            return None
        dr, dc = self.offset(k, key[0])
        level = self.level - 1 if key[0] == "input" else self.level
        return level, (cell[0] + dr, cell[1] + dc, key[1])
