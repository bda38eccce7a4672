"""What the step-through shows at each step, without any widget: which window, which terms, in what order.

Conv2D, DepthwiseConv2D and pooling: step k fills output cell k (filter by filter, row-major) with the core's
provenance of that cell; a DepthwiseConv2D's output map c·M + m reads input channel c alone, through its own
2-D filter m. Conv2DTranspose runs the other way round: step k takes ONE INPUT cell, multiplies it by the
kernel and adds the products into the output canvas, where overlapping contributions pile up. Or, asked
`as_convolution`, it is stepped like a Conv2D: the flipped kernel over the input with zeros inserted
between its cells and around it (core.transpose_as_conv), one output cell per step.

`StepModel` is read by the painter (step_painter) and by the playback widget (stepper); an exporter can
walk its steps and paint each one on an image of any size. Dense (dense_steps) and ZeroPadding2D /
Cropping2D (sides_steps) have step models of their own with the same face (`LayerSteps`); step_kinds picks
the one for a layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cnnviz.core import ConfigError, ops
from cnnviz.core.arithmetic import conv_padding, transpose_crop
from cnnviz.core.layers import AveragePooling2D, Conv2D, Conv2DTranspose, DepthwiseConv2D, MaxPooling2D
from cnnviz.core.provenance import cell_provenance
from cnnviz.core.transpose_as_conv import INSERTED, transpose_as_conv
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.colormaps import level_style

SLIDING_KINDS = (Conv2D, DepthwiseConv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D)
KERNEL_KINDS = (Conv2D, DepthwiseConv2D)  # sliding layers with a kernel and a dilation (pooling has neither)
# A grid up to this long per axis is drawn whole (the lecture's; a short dock scrolls it). A longer one is drawn as a
# crop around the current window, as many cells long as the painter finds readable room for (step_painter.crop_cells)
CROP_CELLS = 16


@dataclass(frozen=True)
class Crop:
    """The part of a (padded) grid drawn: rows [top, bottom) and cols [left, right) in padded coordinates,
    where padding cell 0 is the first row/col drawn around the values (`pad` cells before the values)."""

    top: int
    bottom: int
    left: int
    right: int

    def cut(self, values: np.ndarray, pad: tuple[int, int, int, int]):
        """(values, pad) of the crop, and the (row, col) offset to add to a cropped value cell to get the
        full one."""
        top, _, left, _ = pad
        h, w = values.shape[:2]
        r0, r1 = max(self.top - top, 0), min(self.bottom - top, h)
        c0, c1 = max(self.left - left, 0), min(self.right - left, w)
        new_pad = (
            max(0, top - self.top),
            max(0, self.bottom - (top + h)),
            max(0, left - self.left),
            max(0, self.right - (left + w)),
        )
        return values[r0:r1, c0:c1], new_pad, (r0, c0)


def crop_span(length: int, centre: float, n: int = CROP_CELLS) -> tuple[int, int]:
    """[start, stop) of the cells of 0..length drawn: all of them up to CROP_CELLS or `n`, else `n` centred on
    `centre` as far as the ends allow."""
    if length <= max(n, CROP_CELLS):
        return 0, length
    start = int(round(centre - n / 2))
    start = max(0, min(start, length - n))
    return start, start + n


def crop_around(shape, pad, centre, cells: tuple[int, int] = (CROP_CELLS, CROP_CELLS)) -> Crop:
    """The crop of a grid of `shape` values with `pad` cells around it, centred on padded cell `centre`, at most
    `cells` (rows, cols) long when longer than CROP_CELLS."""
    rows = shape[0] + pad[0] + pad[1]
    cols = shape[1] + pad[2] + pad[3]
    (top, bottom), (left, right) = crop_span(rows, centre[0], cells[0]), crop_span(cols, centre[1], cells[1])
    return Crop(top, bottom, left, right)


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
        self._len = filters * self._dims[1] * rows * cols

    @property
    def dims(self) -> tuple[int, int, int, int]:
        """(filters, input channels scattered (1 unless transposed), rows, cols) of the stepped grid."""
        return self._dims

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._len))]
        if not -self._len <= k < self._len:
            raise IndexError(k)
        # the index unravelled in plain integers: the painter and the formula ask for steps many times a paint
        _, channels, rows, cols = self._dims
        rest, j = divmod(int(k) % self._len, cols)
        rest, i = divmod(rest, rows)
        o, ch = divmod(rest, channels)
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


class LayerSteps:
    """What every step model answers: the layer applied to input `x` (giving `y`) at output level `level` (its
    1-based index in the pipeline), its `steps`, `formula_lines(k)`, `step_for_cell` and `probe_target`.

    `axis_names` name the steps' (filters, channels, rows, cols) axes for the playback bar; "" hides one."""

    transposed = False  # only a Conv2DTranspose's steps scatter input cells
    direct = None  # only a Conv2DTranspose can be stepped as a convolution
    axis_names = ("filter", "in-ch", "row", "col")

    def __init__(self, layer, x: np.ndarray, y: np.ndarray, level: int):
        self.layer, self.x, self.y, self.level = layer, x, y, level

    @cached_property
    def layout_key(self) -> tuple:
        """What the picture's geometry depends on besides the rectangle and the step: the kind of model, the
        layer's parameters and the shapes. A value edit keeps it; a kernel, stride or shape change does not."""
        return (type(self).__name__, type(self.layer).__name__, repr(self.layer.get_config()), self.x.shape,
                self.y.shape, self.direct is not None)

    @cached_property
    def styles(self) -> tuple:
        """((lut, levels) of the input, (lut, levels) of the output): every picture of a step colours them so."""
        return level_style(self.level - 1, self.x), level_style(self.level, self.y)

    def header_text(self) -> str:
        """Layer, shapes and how the output shape comes about (rich text)."""
        x, y = "×".join(map(str, self.x.shape)), "×".join(map(str, self.y.shape))
        text = f"<b>{self.layer.label}</b>: input {x} → output {y}"
        try:
            text += "<br>" + "; ".join(self.layer.explain_output_shape(self.x.shape))
        except ConfigError:
            pass
        return text


class StepModel(LayerSteps):
    """The steps of one sliding layer. Caches live as long as the model: make a new one when the document
    changes."""

    def __init__(self, layer, x: np.ndarray, y: np.ndarray, level: int, as_convolution: bool = False):
        super().__init__(layer, x, y, level)
        # What the window slides over: the layer on its input, or a transpose's flipped kernel on the
        # stretched input (the frame of zeros is drawn as padding, the inserted zeros marked)
        self.direct = transpose_as_conv(layer, x) if as_convolution and isinstance(layer, Conv2DTranspose) else None
        self.window_layer = self.direct.conv if self.direct else layer
        self.steps = steps_for(self.window_layer, x.shape, y.shape)
        self._canvas_cache: dict = {}  # Conv2DTranspose canvases by step
        self._prov_cache: dict = {}  # the last step's provenance
        self.arrangements: dict = {}  # (rect, step) -> how step_painter lays the step out (sizing and painting ask)
        self.step_patterns: dict = {}  # step -> its grids' number patterns (step_painter; the sizing asks often)
        self._products_cache: dict = {}  # DepthwiseConv2D: the last step's products of every channel
        self._crop_cache: tuple = (None, None)  # ((step, cells), its input crop)
        self.least_cells: dict = {}  # grid key -> the cell side its whole map's numbers need (step_painter)
        self.needs: dict = {}  # step -> the cell sides its grids' numbers need (step_painter)
        if self.depthwise:
            self.axis_names = ("map", "in-ch", "row", "col")

    @property
    def transposed(self) -> bool:
        """True when the steps scatter input cells (a Conv2DTranspose not shown as a convolution)."""
        return isinstance(self.layer, Conv2DTranspose) and self.direct is None

    @property
    def depthwise(self) -> bool:
        return isinstance(self.layer, DepthwiseConv2D)

    def depthwise_source(self, k: int) -> tuple[int, int]:
        """(input channel c, filter m) of a DepthwiseConv2D step: its output map is c·M + m."""
        return divmod(self.steps[k].channel, self.layer.depth_multiplier)

    def filter_slice(self, k: int, c: int) -> np.ndarray:
        """The 2-D weights that meet input channel `c` at step `k`: a slice of the Conv2D filter, or the
        DepthwiseConv2D channel's own filter (of the step's multiplier)."""
        layer = self.window_layer
        if self.depthwise:
            return layer.kernel[:, :, c, self.depthwise_source(k)[1]]
        return layer.kernel[:, :, c, self.steps[k].channel]

    def products(self, k: int) -> np.ndarray:
        """(kh, kw, C): each x·w at its kernel tap, before it is summed. A DepthwiseConv2D's channel c holds
        channel c through its own filter at the same window: the number its own map gets, never added here."""
        kernel_shape = (*self.window_layer.kernel_size, self.x.shape[2])
        if not self.depthwise:
            return product_grids(self.provenance(k), kernel_shape)
        if k not in self._products_cache:  # every arrangement the painter tries asks for them
            out = np.zeros(kernel_shape)
            step, (_, m) = self.steps[k], self.depthwise_source(k)
            for c in range(self.x.shape[2]):
                prov = cell_provenance(self.layer, self.x, (*step.cell, c * self.layer.depth_multiplier + m))
                out += product_grids(prov, kernel_shape)
            self._products_cache = {k: out}
        return self._products_cache[k]

    def bias(self, channel: int) -> float:
        """The bias output map `channel` adds (0 without one)."""
        layer = self.window_layer
        return 0.0 if layer.bias is None else float(layer.bias[channel])

    def zeros_legend(self) -> tuple[str, str]:
        """What the inserted zeros and the padding zeros of the direct view are, with this layer's numbers."""
        (sh, sw), pads = self.layer.strides, self.paddings()
        top, bottom, left, right = pads
        between = f"{sh - 1}" if sh == sw else f"{sh - 1} (rows), {sw - 1} (columns)"
        if len(set(pads)) == 1:
            frame = f"{top}"
        elif (top, bottom) == (left, right):
            frame = f"{top} top/left, {bottom} bottom/right"
        else:
            frame = f"{top} top, {bottom} bottom, {left} left, {right} right"
        return (f"inserted zeros: {between} between input cells (stride − 1)",
                f"padding: {frame} (kernel span − 1 − crop); kernel flipped, stride 1")

    # ------------------------------------------------------------------ Conv2D and pooling (and the direct view)
    def provenance(self, k: int):
        """The core's provenance of the output cell step `k` fills (Conv2D and pooling; in the direct view
        the cells are those of the stretched input)."""
        if k not in self._prov_cache:  # the formula and the picture both need it
            step = self.steps[k]
            x = self.direct.input if self.direct else self.x
            self._prov_cache = {k: cell_provenance(self.window_layer, x, (*step.cell, step.channel))}
        return self._prov_cache[k]

    def paddings(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) padding cells drawn around the input of a Conv2D or pooling layer (the
        direct view: the frame of zeros around the zero-inserted input)."""
        layer = self.window_layer
        if self.direct:
            (h, w), (top, left), (sh, sw) = self.x.shape[:2], self.direct.before, self.layer.strides
            rows, cols = self.direct.input.shape[:2]
            return top, rows - top - (h - 1) * sh - 1, left, cols - left - (w - 1) * sw - 1
        if isinstance(layer, KERNEL_KINDS):
            k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
        else:
            k, s, d = layer.pool_size, layer.strides, (1, 1)
        top, bottom = conv_padding(self.x.shape[0], k[0], s[0], layer.padding, d[0])
        left, right = conv_padding(self.x.shape[1], k[1], s[1], layer.padding, d[1])
        return top, bottom, left, right

    def input_plane(self, c: int) -> np.ndarray:
        """Channel `c` of the grid the window slides over, without its padding."""
        if not self.direct:
            return self.x[:, :, c]
        top, bottom, left, right = self.paddings()
        rows, cols = self.direct.input.shape[:2]
        return self.direct.input[top : rows - bottom, left : cols - right, c]

    def inserted(self) -> np.ndarray | None:
        """Boolean mask over `input_plane`: the zeros inserted between input cells (direct view only)."""
        if not self.direct:
            return None
        top, bottom, left, right = self.paddings()
        rows, cols = self.direct.kind.shape
        return self.direct.kind[top : rows - bottom, left : cols - right] == INSERTED

    def window(self, k: int) -> list[tuple[int, int]]:
        """The (row, col)s of `input_plane` under step `k`'s window (padding: outside the plane)."""
        cells = self.provenance(k).window
        if not self.direct:
            return list(cells)
        top, left = self.direct.before
        return [(r - top, c - left) for r, c in cells]

    def input_cell(self, row: int, col: int) -> tuple[int, int] | None:
        """The layer's input cell that (row, col) of `input_plane` shows; None for an inserted zero."""
        if not self.direct:
            return row, col
        top, left = self.direct.before
        return self.direct.source(row + top, col + left)

    def crop_limits(self, k: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((rows, cols) at least, (rows, cols) at most) of a crop at step `k`: the window (a transpose: the cells
        the kernel lands on) with a neighbour on every side, and the longest grid a crop cuts (beyond it nothing
        more is drawn)."""
        if self.transposed:
            canvas, _, (top, left), _ = self.transpose_canvas(k)
            grids = [self.x.shape[:2], canvas.shape]
            cells = np.array([(r + top, c + left) for _, _, (r, c), _ in self.scatter_targets(k)])
        else:
            pad = self.paddings()
            plane = self.input_plane(0).shape
            grids = [(plane[0] + pad[0] + pad[1], plane[1] + pad[2] + pad[3]), self.y.shape[:2]]
            cells = np.array(self.window(k)).reshape(-1, 2)
        spans = cells.max(axis=0) - cells.min(axis=0) + 1
        longest = np.max(grids, axis=0)
        least = np.minimum(spans + 2, longest)
        return (int(least[0]), int(least[1])), (int(longest[0]), int(longest[1]))

    def _input_crop(self, k: int, cells: tuple[int, int]) -> tuple[Crop, tuple[int, int, int, int]]:
        """The part of the input plane drawn at step `k` (all of it, or `cells` around the window) and the
        plane's padding (kept for the last step: every channel's grid asks)."""
        if self._crop_cache[0] != (k, cells):
            self._crop_cache = ((k, cells), self._find_input_crop(k, cells))
        return self._crop_cache[1]

    def _find_input_crop(self, k: int, cells: tuple[int, int]) -> tuple[Crop, tuple[int, int, int, int]]:
        pad = (0, 0, 0, 0) if self.transposed else self.paddings()
        if self.transposed:
            centre = (self.steps[k].cell[0] + 0.5, self.steps[k].cell[1] + 0.5)
        else:
            window = np.array(self.window(k), dtype=float).reshape(-1, 2)
            centre = (window[:, 0].mean() + pad[0] + 0.5, window[:, 1].mean() + pad[2] + 0.5)
        return crop_around(self.input_plane(0).shape, pad, centre, cells), pad

    def input_view(self, k: int, channel: int, cells: tuple[int, int]):
        """(values, pad, (row, col) offset) of input plane `channel` as drawn at step `k` with a crop of `cells`
        (a cropped cell plus the offset is the plane's cell)."""
        crop, pad = self._input_crop(k, cells)
        return crop.cut(self.input_plane(channel), pad)

    def inserted_view(self, k: int, cells: tuple[int, int]) -> np.ndarray | None:
        """`inserted()` cut as `input_view` cuts the plane at step `k`."""
        if not self.direct:
            return None
        crop, pad = self._input_crop(k, cells)
        return crop.cut(self.inserted(), pad)[0]

    def output_view(self, k: int, values: np.ndarray, cells: tuple[int, int], pad=(0, 0, 0, 0), centre=None):
        """(values, pad, offset) of an output-sized map as drawn at step `k`: all of it, or a crop of `cells`
        around the cell being filled (Conv2DTranspose: around padded cell `centre`, where the kernel lands)."""
        if centre is None:
            centre = (self.steps[k].cell[0] + 0.5, self.steps[k].cell[1] + 0.5)
        return crop_around(values.shape, pad, centre, cells).cut(values, pad)

    def offset(self, k: int, which: str, channel: int, cells: tuple[int, int]) -> tuple[int, int]:
        """What to add to a cell of the drawn "input" or "output" grid at step `k` (crops of `cells`) to get the
        map's cell."""
        if which == "input":
            return self.input_view(k, channel, cells)[2]
        if not self.transposed:
            return self.output_view(k, self.y[:, :, channel], cells)[2]
        canvas, _, (top, left), (oh, ow) = self.transpose_canvas(k)
        pad = (top, canvas.shape[0] - top - oh, left, canvas.shape[1] - left - ow)
        region = canvas[top : top + oh, left : left + ow]
        return self.output_view(k, region, cells, pad, self.transpose_output_centre(k, pad))[2]

    def transpose_output_centre(self, k: int, pad) -> tuple[float, float]:
        """The middle of the output cells step `k` adds into, in padded coordinates."""
        cells = np.array([t[2] for t in self.scatter_targets(k)], dtype=float)
        return cells[:, 0].mean() + pad[0] + 0.5, cells[:, 1].mean() + pad[2] + 0.5

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
        layer, x = self.window_layer, self.x
        if self.transposed:
            return self._scatter_lines(k)
        prov = self.provenance(k)
        if isinstance(layer, Conv2D):
            return formulas.conv_lines(prov, x.shape[2])
        if self.depthwise:
            c, _ = self.depthwise_source(k)
            sums = self.products(k).sum(axis=(0, 1))
            return formulas.depthwise_lines(prov, c, self.steps[k].channel, [float(s) for s in sums],
                                            self.layer.depth_multiplier)
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

    def probe_target(self, k: int, key, cell, cells: tuple[int, int]):
        """Grid keys are ("output", channel) or ("input", channel): the level and cell they stand for at step
        `k` (a large map is drawn as a crop of `cells`)."""
        if not isinstance(key, tuple) or key[0] not in ("input", "output"):
            return None
        dr, dc = self.offset(k, key[0], key[1], cells)
        row, col = cell[0] + dr, cell[1] + dc
        if key[0] == "output":
            return self.level, (row, col, key[1])
        source = self.input_cell(row, col)  # None: a zero the direct view inserted
        return None if source is None else (self.level - 1, (*source, key[1]))
