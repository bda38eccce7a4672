"""What the step-through shows at each step, without any widget: which window, which terms, in what order.

Conv2D and pooling: step k fills output cell k (filter by filter, row-major) with the core's provenance of
that cell. Conv2DTranspose runs the other way round: step k takes ONE INPUT cell, multiplies it by the
kernel and adds the products into the output canvas, where overlapping contributions pile up.

`StepModel` is read by the painter (step_painter) and by the playback widget (stepper); an exporter can
walk its steps and paint each one on an image of any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnviz.core import ConfigError, ops
from cnnviz.core.arithmetic import conv_padding, transpose_crop
from cnnviz.core.layers import AveragePooling2D, Conv2D, Conv2DTranspose, MaxPooling2D
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic import formulas

SLIDING_KINDS = (Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D)


@dataclass(frozen=True)
class Step:
    """One animation step: output channel and cell (Conv2D, pooling) or the input cell scattered (transpose)."""

    channel: int  # output channel (filter)
    cell: tuple[int, int]  # output cell (Conv2D, pooling) or input cell (Conv2DTranspose)
    in_channel: int = 0  # Conv2DTranspose: the input channel of the scattered cell


class Steps(Sequence):
    """The window positions in animation order, computed from the index (a 128×128 map with 8 filters has
    131 072 steps: no list of them is ever built).

    Conv2D and pooling: filter by filter, then output cells row-major. Conv2DTranspose: filter by filter,
    then input channel, then input cells row-major.
    """

    def __init__(self, transpose: bool, filters: int, channels: int, rows: int, cols: int):
        self.transpose = transpose
        self._dims = (filters, channels if transpose else 1, rows, cols)

    @property
    def dims(self) -> tuple[int, int, int, int]:
        """(filters, input channels scattered (1 unless transposed), rows, cols) of the stepped grid."""
        return self._dims

    def __len__(self) -> int:
        return int(np.prod(self._dims))

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if not -len(self) <= k < len(self):
            raise IndexError(k)
        o, ch, i, j = (int(v) for v in np.unravel_index(k % len(self), self._dims))
        return Step(o, (i, j), ch)

    def index(self, step: Step, *_) -> int:
        try:
            return int(np.ravel_multi_index((step.channel, step.in_channel, *step.cell), self._dims))
        except ValueError:
            raise ValueError(f"{step} is not a step") from None


def steps_for(layer, input_shape, output_shape) -> Steps:
    h, w, c = input_shape
    oh, ow, f = output_shape
    if isinstance(layer, Conv2DTranspose):
        return Steps(True, f, c, h, w)
    return Steps(False, f, 1, oh, ow)


def product_grids(prov, kernel_shape) -> np.ndarray:
    """(kh, kw, C): each term's x·w placed at its kernel tap, the inner product before it is summed."""
    out = np.zeros(kernel_shape[:3])
    for term in prov.terms:
        a, b, c, _ = term.weight
        out[a, b, c] = term.value * term.coefficient
    return out


class StepModel:
    """The steps of one sliding layer applied to input `x` (giving `y`); `level` is the layer's output level
    (its 1-based index in the pipeline). Caches live as long as the model: make a new one when the document
    changes."""

    def __init__(self, layer, x: np.ndarray, y: np.ndarray, level: int):
        self.layer, self.x, self.y, self.level = layer, x, y, level
        self.steps = steps_for(layer, x.shape, y.shape)
        self._canvas_cache: dict = {}  # Conv2DTranspose canvases by step
        self._prov_cache: dict = {}  # the last step's provenance

    @property
    def transposed(self) -> bool:
        return isinstance(self.layer, Conv2DTranspose)

    def header_text(self) -> str:
        """Layer, shapes and how the output shape comes about (rich text)."""
        x, y = "×".join(map(str, self.x.shape)), "×".join(map(str, self.y.shape))
        text = f"<b>{self.layer.label}</b>: input {x} → output {y}"
        try:
            text += "<br>" + "; ".join(self.layer.explain_output_shape(self.x.shape))
        except ConfigError:
            pass
        return text

    # ------------------------------------------------------------------ Conv2D and pooling
    def provenance(self, k: int):
        """The core's provenance of the output cell step `k` fills (Conv2D and pooling)."""
        if k not in self._prov_cache:  # the formula and the picture both need it
            step = self.steps[k]
            self._prov_cache = {k: cell_provenance(self.layer, self.x, (*step.cell, step.channel))}
        return self._prov_cache[k]

    def paddings(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) padding cells drawn around the input of a Conv2D or pooling layer."""
        layer = self.layer
        if isinstance(layer, Conv2D):
            k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
        else:
            k, s, d = layer.pool_size, layer.strides, (1, 1)
        top, bottom = conv_padding(self.x.shape[0], k[0], s[0], layer.padding, d[0])
        left, right = conv_padding(self.x.shape[1], k[1], s[1], layer.padding, d[1])
        return top, bottom, left, right

    def not_yet(self, k: int) -> np.ndarray:
        """Boolean (O_h, O_w): the output cells of step `k`'s filter that later steps compute."""
        step = self.steps[k]
        oh, ow = self.y.shape[:2]
        return np.arange(oh * ow).reshape(oh, ow) > step.cell[0] * ow + step.cell[1]

    # ------------------------------------------------------------------ Conv2DTranspose geometry
    def transpose_canvas(self, k: int):
        """The output canvas of filter `step.channel` after scattering every input cell up to step `k`.

        Returns (canvas, touched, (top, left), (O_h, O_w)): the canvas is the full scatter-add size, grown
        with zero rows/cols when the crop window reaches past it; `touched` marks cells that got a product.
        """
        if k not in self._canvas_cache:
            if len(self._canvas_cache) >= 4:  # a step needs itself and the one before: keep a few
                self._canvas_cache.pop(next(iter(self._canvas_cache)))
            self._canvas_cache[k] = self._scatter_canvas(k)
        return self._canvas_cache[k]

    def _scatter_canvas(self, k: int):
        layer, x, y = self.layer, self.x, self.y
        step = self.steps[k]
        # scattered so far (this filter): every earlier input channel, and this channel up to this cell
        reached = np.zeros(x.shape, bool)
        reached[:, :, : step.in_channel] = True
        flat = reached[:, :, step.in_channel].reshape(-1)
        flat[: step.cell[0] * x.shape[1] + step.cell[1] + 1] = True
        reached[:, :, step.in_channel] = flat.reshape(x.shape[:2])
        kernel = layer.kernel[:, :, step.channel : step.channel + 1, :]
        geometry = dict(strides=layer.strides, padding="valid", output_padding=(0, 0), dilation=layer.dilation_rate)
        canvas = ops.conv2d_transpose(np.where(reached, x, 0), kernel, None, **geometry)[:, :, 0]
        touched = ops.conv2d_transpose(reached.astype(np.float32), np.ones_like(kernel), None, **geometry)[:, :, 0] > 0
        crops = [
            transpose_crop(
                x.shape[a],
                layer.kernel_size[a],
                layer.strides[a],
                layer.padding,
                None if layer.output_padding is None else layer.output_padding[a],
                layer.dilation_rate[a],
            )
            for a in (0, 1)
        ]
        out = y.shape[:2]
        size = [max(canvas.shape[a], crops[a] + out[a]) for a in (0, 1)]
        grown = np.zeros(size, np.float32)
        grown[: canvas.shape[0], : canvas.shape[1]] = canvas
        grown_touched = np.zeros(size, bool)
        grown_touched[: canvas.shape[0], : canvas.shape[1]] = touched
        return grown, grown_touched, tuple(crops), out

    def scatter_targets(self, k: int):
        """(tap, weight, output cell, cropped?) for the input cell of step `k`, in kernel order."""
        layer = self.layer
        step = self.steps[k]
        _, _, (top, left), (oh, ow) = self.transpose_canvas(k)
        (i, j), (sh, sw), (dh, dw) = step.cell, layer.strides, layer.dilation_rate
        kh, kw = layer.kernel_size
        out = []
        for a in range(kh):
            for b in range(kw):
                r, c = i * sh + a * dh - top, j * sw + b * dw - left
                cropped = not (0 <= r < oh and 0 <= c < ow)
                out.append(((a, b), float(layer.kernel[a, b, step.channel, step.in_channel]), (r, c), cropped))
        return out

    # ------------------------------------------------------------------ the sum written out
    def formula_lines(self, k: int) -> list[str]:
        layer, x = self.layer, self.x
        if self.transposed:
            return self._scatter_lines(k)
        prov = self.provenance(k)
        if isinstance(layer, Conv2D):
            return formulas.conv_lines(prov, x.shape[2])
        if isinstance(layer, MaxPooling2D):
            h, w, _ = x.shape
            ch = prov.cell[2]
            window = [float(x[i, j, ch]) if 0 <= i < h and 0 <= j < w else None for i, j in prov.window]
            return formulas.max_pool_lines(prov, window)
        return formulas.average_pool_lines(prov)

    def _scatter_lines(self, k: int) -> list[str]:
        layer, x = self.layer, self.x
        step = self.steps[k]
        previous = self.transpose_canvas(k - 1)[0] if k and self.steps[k - 1].channel == step.channel else None
        _, _, (top, left), _ = self.transpose_canvas(k)
        contributions = []
        for tap, w, (r, c), cropped in self.scatter_targets(k):
            before = 0.0 if previous is None else float(previous[r + top, c + left])
            contributions.append((tap, w, (r, c), before, cropped))
        value = float(x[step.cell[0], step.cell[1], step.in_channel])
        cell = step.cell if x.shape[2] == 1 else (*step.cell, step.in_channel)
        lines = formulas.scatter_lines(value, cell, contributions)
        bias = 0.0 if layer.bias is None else float(layer.bias[step.channel])
        lines.append(
            f"When every input cell has been scattered: output = canvas (cropped) + bias {formulas.num(bias)}."
        )
        return lines

    # ------------------------------------------------------------------ linking to the layer views
    def step_for_cell(self, level: int, cell: tuple, current: int) -> int | None:
        """The step that shows `cell` of `level` (an output cell, or a transpose's input cell); None if none.
        `current` is the step shown now (a transpose keeps its filter)."""
        r, c, ch = cell
        if self.transposed:
            if level == self.level - 1:
                return self.steps.index(Step(self.steps[current].channel, (r, c), ch))
            if level == self.level:  # the step after which this output cell is complete
                prov = cell_provenance(self.layer, self.x, cell)
                done = [self.steps.index(Step(ch, t.cell[:2], t.cell[2])) for t in prov.terms if not t.padding]
                return max(done) if done else None
            return None
        if level == self.level:
            return self.steps.index(Step(ch, (r, c)))
        return None
