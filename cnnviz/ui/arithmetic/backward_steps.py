"""The backward step-through: one gradient summed term by term, as the forward step-through fills one output
cell at a time.

A weight: a convolution's dL/dw[a, b] = Σ x[i·s + a, j·s + b] · dy[i, j], one step per window position (a
DepthwiseConv2D's with its own channel's dy only; a Conv2DTranspose's one step per input cell, whose copy of
w[a, b] landed on dy[i·s + a − crop, …]); a Dense's W[i, j] = x[i] · dz[j] (one step on a vector: dL/dW is the
outer product x ⊗ dz); a bias's (β's) Σ dy over its map; a BatchNormalization's γ Σ n · dy (n: x normalised). An input cell:
dL/dx[r, q] gathers from every output that read it, one step per output (w[a, b] · dy[i, j] through the layer's
weights; a layer without weights: what that output's dy sends back through the layer's own backward pass).

`BackwardSteps` has what the step-through's exporter reads of any step model (step_animation): `steps`,
`formula_lines(k)` and `paint(painter, rect, k)`; the Backpropagation dock plays it (backward_stepper), and
`pick_steps` makes it for a pick, for the dock and `cnnviz render --backward` alike.
The numbers are cnnviz/core/backprop.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from cnnviz.core.arithmetic import conv_padding, transpose_crop
from cnnviz.core.backprop import (
    backward_pass,
    batch_norm_gamma_terms,
    bias_gradient_terms,
    dense_input_gradient_terms,
    dense_weight_terms,
    depthwise_input_gradient_terms,
    input_gradient_terms,
    transpose_input_gradient_terms,
    transpose_weight_terms,
    weight_gradient_terms,
)
from cnnviz.core.layers import (
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    Dense,
    DepthwiseConv2D,
)
from cnnviz.core.provenance import cell_provenance
from cnnviz.io.errors import SessionError
from cnnviz.io.training_sets import TrainingSettings, teacher_pipeline
from cnnviz.ui.arithmetic.base import draw_symbol, split_row
from cnnviz.ui.arithmetic.step_model import crop_around
from cnnviz.ui.arithmetic.step_painter import grid_weight
from cnnviz.ui.colormaps import (
    DIVERGING,
    GREYS,
    format_value,
    input_levels,
    symmetric_levels,
)
from cnnviz.ui.grid_painter import Grid, paint_grid_groups

RULES = {
    "Conv2D": "each output cell sends dy back through the weights that made it (a transposed convolution of dy)",
    "DepthwiseConv2D": "each output cell sends dy back through its own channel's filter only (no sum across "
                       "channels)",
    "Conv2DTranspose": "the cell was copied, times the kernel, into several output cells: it gathers their dy back "
                       "through the same weights (a strided convolution of dy)",
    "Dense": "each input gets every unit's dz back through its weight W[i, j] (dx = W · dz)",
    "BatchNormalization": "at inference batch normalisation scales the gradient by its channel's γ/√(σ² + ε); in "
                          "training it also flows through the input's own mean and variance",
    "MaxPooling2D": "max pooling sends each window's gradient to its maximum only; the other cells get 0",
    "AveragePooling2D": "average pooling shares each window's gradient equally among its cells",
    "UpSampling2D": "up-sampling sums the gradients of the copies back into the cell they came from",
    "Dropout": "dropout passes the gradient through the kept cells (× 1/(1 − rate)) and stops it at dropped ones",
    "ReLU": "ReLU passes the gradient where its input was positive, 0 elsewhere",
}
MAX_GATHERED = 4096  # a layer without weights is asked once per nonzero dy: no more than this many


def gather_rule(layer) -> str:
    """How `layer` sends a gradient back to its input, in words."""
    return RULES.get(type(layer).__name__, "the gradient goes back through the layer's own derivative")


def contributions(layer, x, dy, r: int, q: int, c: int, training: bool = False) -> list:
    """[(i, j, o, value)] for a layer without weights: what each output cell's dy sends to input cell
    (r, q, c), from the layer's own backward pass with only that dy."""
    dy = np.asarray(dy)
    out = []
    if dy.ndim != 3 or dy.size > MAX_GATHERED:
        return out
    for i, j, o in zip(*np.nonzero(dy)):
        one = np.zeros_like(dy)
        one[i, j, o] = dy[i, j, o]
        dx, _ = layer.backward(np.asarray(x)[None], one[None], training)
        v = float(dx[0][r, q, c]) if dx[0].ndim == 3 else 0.0
        if v != 0:
            out.append((int(i), int(j), int(o), v))
    return out


def fmt(v: float) -> str:
    """A gradient's number: three significant digits (gradients are small and rarely round)."""
    v = float(v) + 0.0  # no "-0" for a product with a zero
    return f"{v:.3g}" if v == 0 or 1e-3 <= abs(v) < 1e4 else f"{v:.2e}"


def shown(v: float) -> str:
    """`fmt` with a real minus sign, as the step-through writes its sums."""
    return fmt(v).replace("-", "−")


def factor(v: float) -> str:
    """`shown` in brackets when negative, so that `2·(−0.5)` reads as a product."""
    text = shown(v)
    return f"({text})" if text.startswith("−") else text


@dataclass(frozen=True)
class GatherStep:
    """One term of the sum: output cell `dy_cell` of map `channel` (dy's) and input cell `x_cell` (None:
    padding) met through weight `tap`; the term adds `value` = factor · dy. `text` writes the term out and
    `where` names it in the playback bar."""

    dy_cell: tuple[int, int]
    channel: int
    x_cell: tuple[int, int] | None
    tap: tuple[int, int] | None
    factor: float  # x (a weight's sum) or w (an input cell's); a layer without weights: the contribution itself
    dy: float
    value: float
    text: str = ""
    where: str = ""


@dataclass(frozen=True)
class Names:
    """How one sum is written: its symbol, the formula's first line, the dock's header, the word for one step
    ("window", "term", "cell"), and the titles of the factor map x (None: the sum has no x, a bias's), of dy
    ("{}" takes its map's number) and of the gradient map the picked number sits in."""

    symbol: str
    head: str
    header: str
    unit: str
    x_title: str | None
    dy_title: str
    result_title: str


class BackwardSteps:
    """The steps of one gradient of `layer`: `kind` "weight" (one trainable number: a kernel entry, a bias, γ
    or β) or "input" (dL/dx[r, q, c]). Every map is H×W×C (a vector is shown as a 1×N row): `x` the factor
    map whose channel `channel` is drawn, `dy` the upstream gradient (a Dense's dz). `result` is the 2-D
    gradient map the picked `cell` belongs to, as the backward pass computed it. `weight` is (index of the
    array in get_weights(), position in it) for a weight's update; `kernel` (input cells) gives the drawn
    weights of a step: (2-D array, the tap's cell there, title), or None."""

    def __init__(self, kind: str, layer, x, dy, cell, channel: int, result, steps, names: Names, rule: str = "",
                 filter_: int = 0, dims=None, windowed: bool = False, weight=None, kernel=None):
        self.kind, self.layer, self.x, self.dy = kind, layer, None if x is None else np.asarray(x), np.asarray(dy)
        self.cell, self.channel, self.filter = tuple(cell), channel, filter_
        self.result = np.asarray(result, dtype=float)
        self.steps: list[GatherStep] = steps
        self.names, self.rule, self.windowed, self.weight, self.kernel = names, rule, windowed, weight, kernel
        self._dims = dims or (1, 1, 1, len(steps))
        self.partial = np.cumsum([s.value for s in steps]) if steps else np.zeros(0)

    @property
    def dims(self) -> tuple[int, int, int, int]:
        """(filters, channels, rows, cols) of the steps for the playback bar: a sum over a map's cells walks
        them row-major; any other sum is its terms in a row."""
        return self._dims

    @property
    def symbol(self) -> str:
        return self.names.symbol

    @property
    def total(self) -> float:
        """The picked number as the backward pass computed it."""
        return float(self.result[self.cell])

    def position_text(self, k: int) -> str:
        return f"{self.names.unit} {k + 1}/{len(self.steps)}: {self.steps[k].where}"

    def header_text(self) -> str:
        return self.names.header

    # ------------------------------------------------------------------ the sum written out
    def formula_lines(self, k: int) -> list[str]:
        step, n = self.steps[k], len(self.steps)
        before = float(self.partial[k - 1]) if k else 0.0
        so_far = float(self.partial[k])
        total = f"sum so far: {shown(before)} + {factor(step.value)} = {shown(so_far)}"
        if k == n - 1:
            total += f" = {self.symbol} (the backward pass: {shown(self.total)})"
        return [self.names.head, f"{self.names.unit} {k + 1} of {n}: {step.text}", total]

    def summary(self, limit: int) -> str:
        """The whole sum on two lines for the dock: the formula, then its nonzero terms (the first `limit`
        of them, then "…") and the total, beside the backward pass's own number."""
        products = [self._term(s) for s in self.steps if s.value != 0]
        body = " + ".join(products[:limit]) + (" + …" if len(products) > limit else "")
        head = self.names.head.replace(self.symbol, f"<b>{self.symbol}</b>", 1)
        return (f"{head}<br>= {body or '0'} = <b>{fmt(float(self.partial[-1]) if self.steps else 0.0)}</b> "
                f"(the backward pass: {fmt(self.total)})")

    def _term(self, step: GatherStep) -> str:
        """A term of the dock's sum: a weight's x·dy (a bias's dy), an input cell's w[a,b]·dy[i,j] with its
        numbers (what a layer without weights sent back)."""
        if self.kind == "weight":
            return fmt(step.value) if self.x is None else f"{fmt(step.factor)}·{fmt(step.dy)}"
        if step.tap is None:
            return f"from {step.where}: {fmt(step.value)}"
        w = "W" if isinstance(self.layer, Dense) else "w"
        return f"{w}[{step.tap[0]},{step.tap[1]}]·{step.where} = {fmt(step.factor)}·{fmt(step.dy)}"

    # ------------------------------------------------------------------ the picture
    def paint(self, painter: QPainter, rect: QRectF, k: int) -> dict:
        """Step `k`: the two factors with this step's cells marked, and the gradient map with the picked cell
        holding the sum so far (the other cells veiled, their colours only: the dock above has their numbers).
        Grid keys: "x", "dy", "kernel", "result"."""
        step = self.steps[k]
        placed, symbols = [], []
        dy = self.dy[:, :, step.channel]
        dy_values, _, dy_offset = crop_around(dy.shape, (0, 0, 0, 0), _centre(step.dy_cell)).cut(dy, (0, 0, 0, 0))
        dy_grid = Grid(dy_values, symmetric_levels(dy), DIVERGING,
                       title=self.names.dy_title.format(step.channel + 1) + _crop_note(dy.shape, dy_values, dy_offset),
                       marked=_moved(step.dy_cell, dy_offset))
        result = self.result.copy()
        result[self.cell] = self.partial[k]
        veiled = np.ones(result.shape, bool)
        veiled[self.cell] = False
        # only the sum being built is written: blank cells' numbers would still set the figure's number size
        texts = np.full(result.shape, "", dtype=object)
        texts[self.cell] = format_value(self.partial[k])
        grids, between = [], []
        if self.kind == "weight" and self.x is not None:
            x_values, x_pad, x_offset, window = self._input_view(k)
            x_grid = Grid(x_values, input_levels(self.x) if _is_image(self.x) else symmetric_levels(self.x),
                          GREYS if _is_image(self.x) else DIVERGING,
                          title=self.names.x_title + (" + padding" if any(x_pad) else "")
                          + _crop_note(self.x.shape, x_values, x_offset),
                          pad=x_pad, highlights=[_moved(c, x_offset) for c in window],
                          marked=None if step.x_cell is None else _moved(step.x_cell, x_offset))
            grids.append(("x", x_grid, x_values.shape[1] + x_pad[2] + x_pad[3]))
            between.append("×")
        grids.append(("dy", dy_grid, dy_values.shape[1]))
        if self.kind == "input" and self.kernel is not None and step.tap is not None:
            kernel, tap, title = self.kernel(step)
            k_values, _, k_offset = crop_around(kernel.shape, (0, 0, 0, 0), _centre(tap)).cut(kernel, (0, 0, 0, 0))
            grids.append(("kernel", Grid(k_values, symmetric_levels(kernel), DIVERGING,
                                         title=title + _crop_note(kernel.shape, k_values, k_offset),
                                         marked=_moved(tap, k_offset)), k_values.shape[1]))
            between.append("×")
        res_values, _, res_offset = crop_around(result.shape, (0, 0, 0, 0), _centre(self.cell)).cut(
            result, (0, 0, 0, 0))
        grids.append(("result", Grid(res_values, symmetric_levels(self.result), DIVERGING,
                                     title=self.names.result_title + _crop_note(result.shape, res_values, res_offset),
                                     dimmed=_cut(veiled, res_offset, res_values.shape),
                                     texts=_cut(texts, res_offset, res_values.shape),
                                     marked=_moved(self.cell, res_offset), colorbar=True),
                      res_values.shape[1] + 3))
        between.append("Σ→")
        weights = []
        for n, (_, _, cols) in enumerate(grids):
            weights.append(grid_weight(cols) + 1)
            if n < len(grids) - 1:
                weights.append(1.2)
        columns = split_row(rect, weights)
        for n, (key, grid, _) in enumerate(grids):
            placed.append((key, columns[2 * n], grid))
            if n < len(grids) - 1:
                symbols.append((columns[2 * n + 1], between[n]))
        geometries = paint_grid_groups(painter, [[p] for p in placed])
        for sym_rect, sym in symbols:
            draw_symbol(painter, sym_rect, sym)
        return geometries

    def _input_view(self, k: int):
        """(values, pad, offset, window cells) of x's channel around step `k`'s cell: a sliding layer's whole
        window with its padding, any other layer's one cell (a crop of a large x)."""
        step = self.steps[k]
        x = self.x[:, :, self.channel]
        if self.windowed:
            window = list(cell_provenance(self.layer, self.x, (*step.dy_cell, step.channel)).window)
            pad = _conv_pad(self.layer, self.x.shape)
        else:
            window, pad = [step.x_cell], (0, 0, 0, 0)
        rows = np.array(window, float).reshape(-1, 2)
        centre = (rows[:, 0].mean() + pad[0] + 0.5, rows[:, 1].mean() + pad[2] + 0.5)
        values, pad, offset = crop_around(x.shape, pad, centre).cut(x, pad)
        return values, pad, offset, window if self.windowed else []


def _conv_pad(layer, shape):
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    return (*conv_padding(shape[0], kh, sh, layer.padding, dh), *conv_padding(shape[1], kw, sw, layer.padding, dw))


def _is_image(x) -> bool:
    """A picture's pixels (0..1 and up) get greys; a computed map the diverging colours."""
    return bool(np.size(x)) and float(np.min(x)) >= 0


def _centre(cell) -> tuple[float, float]:
    return cell[0] + 0.5, cell[1] + 0.5


def _moved(cell, offset) -> tuple[int, int]:
    return cell[0] - offset[0], cell[1] - offset[1]


def _cut(mask, offset, shape):
    return mask[offset[0] : offset[0] + shape[0], offset[1] : offset[1] + shape[1]]


def _crop_note(full_shape, values, offset) -> str:
    (h, w), (n, m) = full_shape[:2], values.shape[:2]
    return "" if (n, m) == (h, w) else f" (rows {offset[0] + 1}–{offset[0] + n}, cols {offset[1] + 1}–{offset[1] + m})"


# ---------------------------------------------------------------------------------------------- builders
SLIDING = (Conv2D, DepthwiseConv2D)
WEIGHTED = (Conv2D, DepthwiseConv2D, Conv2DTranspose, Dense)  # their kernels' sums are written out here


def _map(a) -> np.ndarray:
    """A vector as the 1×N×1 row the dock draws it as; a map as it is."""
    a = np.asarray(a)
    return a.reshape(1, -1, 1) if a.ndim == 1 else a


def _spot(cell: tuple, index: int, vector: bool) -> tuple[tuple[int, int], int]:
    """(map cell, channel) of element `cell + (index,)` of an array as `_map` draws it."""
    return ((0, index), 0) if vector else ((int(cell[0]), int(cell[1])), index)


def _product(a_name: str, b_name: str, a: float, b: float) -> str:
    return f"{a_name} · {b_name} = {factor(a)}·{factor(b)} = {shown(a * b)}"


def _weight_index(layer, name: str) -> int:
    return [spec.name for spec in layer.weight_specs()].index(name)


def _row(values) -> np.ndarray:
    """A per-channel vector (a bias, γ) as one row of cells."""
    return np.asarray(values, float).reshape(1, -1)


def weight_steps(layer, x, dy, dw, *index) -> BackwardSteps:
    """One kernel entry's gradient, term by term; `index` into `dw` (the backward pass's dL/dW) in the layer's
    own (Keras's) layout: Conv2D (a, b, c, o), DepthwiseConv2D (a, b, c, m), Conv2DTranspose (a, b, o, c),
    Dense (i, j), whose `dy` is its dz."""
    dw = np.asarray(dw)
    if isinstance(layer, Dense):
        return _dense_weight_steps(layer, x, dy, dw, *index)
    if isinstance(layer, Conv2DTranspose):
        return _transpose_weight_steps(layer, x, dy, dw, *index)
    a, b, c, k = index
    depthwise = isinstance(layer, DepthwiseConv2D)
    o = c * layer.depth_multiplier + k if depthwise else k
    steps = []
    for i, j, r, q, xv, d in weight_gradient_terms(layer, x, dy, a, b, c, o):
        inside = 0 <= r < x.shape[0] and 0 <= q < x.shape[1]
        x_name = f"x[{r},{q}]" if inside else "0 (padding)"
        steps.append(GatherStep((i, j), o, (r, q) if inside else None, (a, b), xv, d, xv * d,
                                _product(x_name, f"dy[{i},{j}]", xv, d), f"dy[{i},{j}]"))
    (sh, sw), (dh, dwl) = layer.strides, layer.dilation_rate
    rows = f"i·{sh}+{a}" if dh == 1 else f"i·{sh}+{a}·{dh}"
    cols = f"j·{sw}+{b}" if dwl == 1 else f"j·{sw}+{b}·{dwl}"
    symbol, n = f"dL/dw[{a},{b}]", len(steps)
    which = (f"channel {c + 1}'s filter {k + 1}, output map {o + 1}" if depthwise
             else f"filter {o + 1}, channel {c + 1}")
    names = Names(symbol, f"{symbol} ({which}) = Σ x[{rows}, {cols}] · dy[i,j] over the {n} window positions",
                  f"<b>{symbol}</b> of {layer.label} ({which}), summed over the {n} window positions", "window",
                  f"x, channel {c + 1}", "dL/dy, map {}" if depthwise else "dL/dy, filter {}",
                  f"dL/dW, ch {c + 1}, filter {k + 1}" if depthwise else f"dL/dW, filter {o + 1}, ch {c + 1}")
    return BackwardSteps("weight", layer, x, dy, (a, b), c, dw[:, :, c, k], steps, names, filter_=o,
                         dims=(1, 1, *dy.shape[:2]), windowed=True, weight=(0, tuple(index)))


def _transpose_weight_steps(layer, x, dy, dw, a, b, o, c) -> BackwardSteps:
    """W[a, b, o, c] of a Conv2DTranspose was added, times x[i, j], into output (i·s + a·d − top, …): its
    gradient sums x[i, j] · dy there over the input cells."""
    steps = [GatherStep((r, q), o, (i, j), (a, b), xv, d, xv * d, _product(f"x[{i},{j}]", f"dy[{r},{q}]", xv, d),
                        f"x[{i},{j}] → dy[{r},{q}]")
             for i, j, r, q, xv, d in transpose_weight_terms(layer, x, dy, a, b, o, c)]
    (sh, sw), (dh, dwl) = layer.strides, layer.dilation_rate
    top, left = (transpose_crop(x.shape[axis], **layer.axis_geometry(axis)) for axis in (0, 1))
    rows, cols = (f"{v}·{s}{shift:+d}".replace("+0", "").replace("-", "−")
                  for v, s, shift in (("i", sh, a * dh - top), ("j", sw, b * dwl - left)))
    symbol, n = f"dL/dw[{a},{b}]", len(steps)
    every = n == x.shape[0] * x.shape[1]
    names = Names(symbol, f"{symbol} (filter {o + 1}, channel {c + 1}) = Σ x[i,j] · dy[{rows}, {cols}] over the {n} "
                  "input cells" + ("" if every else " whose copy of this weight landed inside the output"),
                  f"<b>{symbol}</b> of {layer.label} (kernel [a, b, filter, channel] = [{a}, {b}, {o + 1}, {c + 1}]): "
                  f"every input cell added x·w[{a},{b}] into one output cell, so dy there comes back times x",
                  "input cell", f"x, channel {c + 1}", "dL/dy, filter {}", f"dL/dW, filter {o + 1}, ch {c + 1}")
    return BackwardSteps("weight", layer, x, dy, (a, b), c, dw[:, :, o, c], steps, names, filter_=o,
                         dims=(1, 1, *x.shape[:2]) if every else None, weight=(0, (a, b, o, c)))


def _dense_weight_steps(layer, x, dz, dw, i, j) -> BackwardSteps:
    x, dz = np.asarray(x), np.asarray(dz)
    vector = x.ndim == 1
    steps = []
    for cell, xv, d in dense_weight_terms(x, dz, i, j):
        x_cell = (i, 0) if vector else _spot(cell, i, vector)[0]  # x a column beside dz's row: the outer product
        dy_cell, channel = _spot(cell, j, vector)
        where = f"[{i}]" if vector else f"[{cell[0]},{cell[1]},{i}]"
        to = f"[{j}]" if vector else f"[{cell[0]},{cell[1]},{j}]"
        steps.append(GatherStep(dy_cell, channel, x_cell, (i, j), xv, d, xv * d, _product(f"x{where}", f"dz{to}", xv, d),
                                f"x{where} · dz{to}"))
    symbol, n = f"dL/dW[{i},{j}]", len(steps)
    dz_is = "dL/dz, the gradient at its sums x·W + b" + (
        "" if layer.activation == "linear" else f" (dy through {layer.activation}'s derivative)")
    if vector:
        head = f"{symbol} = x[{i}] · dz[{j}]: dL/dW is the outer product x ⊗ dz, one product per weight"
    else:
        head = (f"{symbol} = Σ x[r,q,{i}] · dz[r,q,{j}] over the {n} cells (on a map a Dense is a 1×1 "
                "convolution)")
    names = Names(symbol, head, f"<b>{symbol}</b> of {layer.label}: input {i} times unit {j}'s {dz_is}",
                  "term" if vector else "cell", "x" if vector else f"x, channel {i + 1}",
                  "dL/dz" if vector else "dL/dz, unit {}", "dL/dW")
    x_map = x.reshape(-1, 1, 1) if vector else x
    return BackwardSteps("weight", layer, x_map, _map(dz), (i, j), 0 if vector else i, dw, steps, names,
                         filter_=j, dims=None if vector else (1, 1, *x.shape[:2]), weight=(0, (i, j)))


def bias_steps(layer, dy, db, o: int) -> BackwardSteps:
    """dL/db[o] (BatchNormalization: dL/dβ[o]) = Σ dy over every cell of map o, where the bias was added (a
    Dense's `dy` is its dz)."""
    dy = np.asarray(dy)
    vector = dy.ndim == 1
    dense = isinstance(layer, Dense)
    d_name = "dz" if dense else "dy"
    steps = []
    for cell, v in bias_gradient_terms(dy, o):
        dy_cell, channel = _spot(cell, o, vector)
        name = f"{d_name}[{o}]" if vector else f"{d_name}[{cell[0]},{cell[1]}]"
        steps.append(GatherStep(dy_cell, channel, None, None, 1.0, v, v, f"{name} = {shown(v)}", name))
    beta = isinstance(layer, BatchNormalization)
    symbol, n = f"dL/dβ[{o}]" if beta else f"dL/db[{o}]", len(steps)
    what = "β" if beta else "bias"
    if vector:
        head = f"{symbol} = {d_name}[{o}]: the {what} was added to output {o} alone"
    else:
        head = f"{symbol} = Σ {d_name}[i,j] of map {o + 1} over its {n} cells: the {what} was added to every one of them"
    names = Names(symbol, head, f"<b>{symbol}</b> of {layer.label}: the {what} of map {o + 1}", "cell", None,
                  ("dL/dz" if dense else "dL/dy") + ("" if vector else ", map {}"),
                  "dL/dβ" if beta else "dL/db")
    return BackwardSteps("weight", layer, None, _map(dy), (0, o), 0, _row(db), steps, names, filter_=o,
                         dims=None if vector else (1, 1, *dy.shape[:2]),
                         weight=(_weight_index(layer, "beta" if beta else "bias"), (o,)))


def gamma_steps(layer, x, dy, dgamma, c: int, training: bool = False) -> BackwardSteps:
    """dL/dγ[c] of a BatchNormalization: Σ n · dy over channel c's cells, n = (x − μ)/√(σ² + ε)."""
    x, dy = np.asarray(x), np.asarray(dy)
    vector = x.ndim == 1
    terms = batch_norm_gamma_terms(layer, x, dy, c, training)
    xhat = np.zeros(_map(x).shape[:2] + (1,))
    steps = []
    for cell, xv, d in terms:
        spot, channel = _spot(cell, c, vector)
        xhat[spot + (0,)] = xv
        name = f"[{c}]" if vector else f"[{cell[0]},{cell[1]}]"
        # n, not x̂: a combining hat rises above its line, into the picture of an exported frame
        steps.append(GatherStep(spot, channel, spot, None, xv, d, xv * d, _product(f"n{name}", f"dy{name}", xv, d),
                                f"dy{name}"))
    symbol, n = f"dL/dγ[{c}]", len(steps)
    stats = "this input's own μ and σ² (training)" if training else "the moving μ and σ²"
    names = Names(symbol, f"{symbol} = Σ n · dy over channel {c + 1}'s {n} cells, n = (x − μ)/√(σ² + ε) the "
                  f"normalised x, with {stats}",
                  f"<b>{symbol}</b> of {layer.label}: the scale γ of channel {c + 1}", "cell",
                  f"n = normalised x, channel {c + 1}", "dL/dy" + ("" if vector else ", channel {}"), "dL/dγ")
    return BackwardSteps("weight", layer, xhat, _map(dy), (0, c), 0, _row(dgamma), steps, names, filter_=c,
                         dims=None if vector else (1, 1, *x.shape[:2]), weight=(_weight_index(layer, "gamma"), (c,)))


def input_steps(layer, x, dy, dx, r: int, q: int, c: int, rule: str, contributions=None) -> BackwardSteps:
    """dL/dx[r, q, c] gathered term by term: a sliding or transposed convolution's w·dy over every output the
    cell fed, a Dense's W[i, j]·dz[j] over its units (`dy` its dz; a vector's input i is (0, i, 0)), any other
    layer's `contributions` [(i, j, o, value)] (what each output's dy sends back to this cell)."""
    if isinstance(layer, Dense):
        return _dense_input_steps(layer, x, dy, dx, r, q, c, rule)
    kernel = layer.get_weights()[0] if isinstance(layer, WEIGHTED) else None
    if isinstance(layer, Conv2DTranspose):
        terms = transpose_input_gradient_terms(layer, x.shape, kernel, dy, r, q, c)
    elif isinstance(layer, DepthwiseConv2D):
        terms = depthwise_input_gradient_terms(layer, x.shape, kernel, dy, r, q, c)
    elif isinstance(layer, Conv2D):
        terms = input_gradient_terms(layer, x.shape, kernel, dy, r, q, c)
    if kernel is not None:
        steps = [GatherStep((i, j), o, (r, q), (a, b), w, d, w * d,
                            _product(f"w[{a},{b}] (filter {o + 1})", f"dy[{i},{j}]", w, d), f"dy[{i},{j}]")
                 for i, j, o, a, b, w, d in terms]
    else:
        steps = [GatherStep((i, j), o, (r, q), None, 1.0, float(dy[i, j, o]), v,
                            f"from dy[{i},{j}] (dy = {shown(float(dy[i, j, o]))}): {shown(v)}", f"dy[{i},{j}]")
                 for i, j, o, v in contributions]
    symbol = f"dL/dx[{r},{q}]"
    names = Names(symbol, f"{symbol} (channel {c + 1}) gathers from every output it fed: {rule}",
                  f"<b>{symbol}</b> (channel {c + 1}) of {layer.label}'s input, gathered from the {len(steps)} "
                  "outputs it fed", "term", None, "dL/dy, filter {}", f"dL/dx, channel {c + 1}")
    return BackwardSteps("input", layer, x, dy, (r, q), c, np.asarray(dx)[:, :, c], steps, names, rule,
                         kernel=None if kernel is None else lambda step: _kernel_view(layer, kernel, c, step))


def _kernel_view(layer, kernel, c: int, step: GatherStep):
    """The 2-D filter a step's weight sits in, with its tap, in the layer's kernel layout."""
    o = step.channel
    if isinstance(layer, Conv2DTranspose):
        return kernel[:, :, o, c], step.tap, f"w, filter {o + 1}, ch {c + 1}"
    if isinstance(layer, DepthwiseConv2D):
        m = o % layer.depth_multiplier
        return kernel[:, :, c, m], step.tap, f"w, ch {c + 1}, filter {m + 1}"
    return kernel[:, :, c, o], step.tap, f"w, filter {o + 1}, ch {c + 1}"


def _dense_input_steps(layer, x, dz, dx, r, q, c, rule) -> BackwardSteps:
    x, dz, dx = np.asarray(x), np.asarray(dz), np.asarray(dx)
    vector = x.ndim == 1
    cell, i = ((), q) if vector else ((r, q), c)
    kernel = layer.get_weights()[0]
    steps = []
    for j, w, d in dense_input_gradient_terms(kernel, dz, cell, i):
        dy_cell, channel = _spot(cell, j, vector)
        to = f"dz[{j}]" if vector else f"dz[{r},{q},{j}]"
        steps.append(GatherStep(dy_cell, channel, None, (i, j), w, d, w * d, _product(f"W[{i},{j}]", to, w, d), to))
    symbol = f"dL/dx[{i}]" if vector else f"dL/dx[{r},{q}]"
    names = Names(symbol, f"{symbol}{'' if vector else f' (channel {c + 1})'} gathers from every unit it fed: {rule}",
                  f"<b>{symbol}</b> of {layer.label}'s input, gathered from its {len(steps)} units", "term", None,
                  "dL/dz" if vector else "dL/dz, unit {}", "dL/dx" if vector else f"dL/dx, channel {c + 1}")
    result = _row(dx) if vector else dx[:, :, c]
    return BackwardSteps("input", layer, _map(x), _map(dz), (0, i) if vector else (r, q), 0 if vector else c,
                         result, steps, names, rule, kernel=lambda step: (kernel, step.tap, "W (rows: inputs, cols: units)"))


def pick_grid(layer, g, kind: str) -> tuple[int, int] | None:
    """Rows × cols of the grid a pick of `kind` clicks in (the shown filter, a Dense's W, the γ, bias or β row,
    the input map), or None when the layer has no such number."""
    names = [spec.name for spec in layer.weight_specs()] if hasattr(layer, "weight_specs") else []
    x = _map(g.x)
    if isinstance(layer, BatchNormalization):
        name = "beta" if kind == "bias" else "gamma" if kind == "weight" else None
        if name is not None:
            return (1, x.shape[2]) if name in names else None
    elif kind == "weight":
        if not isinstance(layer, WEIGHTED):
            return None
        return tuple(np.shape(g.grads[0])) if isinstance(layer, Dense) else tuple(layer.kernel_size)
    elif kind == "bias":
        return (1, np.shape(g.grads[1])[0]) if isinstance(layer, WEIGHTED) and "bias" in names else None
    if not isinstance(layer, Dense) and (np.ndim(g.dx) != 3 or np.ndim(g.dy) != 3):
        return None  # a vector's gradient is gathered here only through a Dense's weights
    return x.shape[:2]


def pick_steps(layer, g, kind: str, cell: tuple[int, int], o: int, c: int, training: bool = False):
    """The sum the Backpropagation dock (and `cnnviz render --backward`) steps through for a pick in
    LayerGradients `g`: `kind` "weight" (cell (a, b) of the filter shown for output map o and input channel c;
    a Dense's W[i, j]; γ[cell[1]]), "bias" (the bias or β of map cell[1]) or "input" (dL/dx at cell of channel
    c). None where pick_grid is None; `cell` must lie in pick_grid."""
    if pick_grid(layer, g, kind) is None:
        return None
    if kind == "input":
        if isinstance(layer, Dense):
            return input_steps(layer, g.x, g.dz, g.dx, *cell, c, gather_rule(layer))
        gathered = None if isinstance(layer, WEIGHTED) else contributions(layer, g.x, g.dy, *cell, c, training)
        return input_steps(layer, g.x, g.dy, g.dx, *cell, c, gather_rule(layer), gathered)
    if isinstance(layer, BatchNormalization):
        names = [spec.name for spec in layer.weight_specs()]
        if kind == "bias":
            return bias_steps(layer, g.dy, g.grads[names.index("beta")], cell[1])
        return gamma_steps(layer, g.x, g.dy, g.grads[names.index("gamma")], cell[1], training)
    dy = g.dz if isinstance(layer, Dense) else g.dy
    if kind == "bias":
        return bias_steps(layer, dy, g.grads[1], cell[1])
    if isinstance(layer, Dense):
        return weight_steps(layer, g.x, dy, g.grads[0], *cell)
    if isinstance(layer, DepthwiseConv2D):
        last = (o // layer.depth_multiplier, o % layer.depth_multiplier)
    elif isinstance(layer, Conv2DTranspose):
        last = (o, c)
    else:
        last = (c, o)
    return weight_steps(layer, g.x, g.dy, g.grads[0], *cell, *last)


def session_backward_steps(session, layer: int | None, kind: str, cell: tuple[int, int], filter_: int = 0,
                           channel: int = 0, target_class: int = 0) -> BackwardSteps:
    """The backward step-through of a loaded session (`cnnviz render --animate --backward`): layer `layer`
    (1-based; None: the first layer with trainable weights), the pick `kind` at `cell` as the dock makes it
    (pick_steps) for output map `filter_` and input channel `channel`. The loss is taken against the session's
    own target: a classifier's class `target_class`, or the teacher task's output (the training section's
    data); anything else is refused."""
    pipeline, x = session.pipeline, session.input
    layers = pipeline.layers
    trained = [i for i, lay in enumerate(layers, start=1) if isinstance(lay, (*WEIGHTED, BatchNormalization))]
    index = layer if layer is not None else (trained[0] if trained else None)
    if index is None:
        raise SessionError("--backward: this pipeline has no layer with weights; give --layer N for the layer to "
                           "step back through")
    chosen = layers[index - 1]
    if kind in ("weight", "bias") and not isinstance(chosen, (*WEIGHTED, BatchNormalization)):
        raise SessionError(f"--backward {kind}: {chosen.label} has no trainable weights: step through its input "
                           "gradient (--backward input) or a layer with weights")
    training = session.training or {}
    settings = TrainingSettings.from_section(training) if training else TrainingSettings()
    out_shape = pipeline.output_shapes()[-1] if layers else x.shape
    if len(out_shape) == 1:
        if not 0 <= target_class < out_shape[0]:
            raise SessionError(f"--target-class {target_class}: the pipeline ends in {out_shape[0]} classes "
                               f"(0 to {out_shape[0] - 1})")
        target = target_class
        loss = settings.loss if "crossentropy" in settings.loss else "sparse_categorical_crossentropy"
    elif training.get("data", {}).get("source") == "teacher":
        target, loss = teacher_pipeline(pipeline).run(x)[-1], settings.loss
    else:
        raise SessionError("--backward needs a loss: the session's pipeline must end in class probabilities, or "
                           "its training section must use the teacher task (as the-filter-learns does)")
    in_training = bool(session.view.get("training"))
    _, levels = backward_pass(pipeline, x, target, loss, training=in_training)
    g = levels[index - 1]
    grid = pick_grid(chosen, g, kind)
    if grid is None:
        if kind == "bias":
            raise SessionError(f"--backward bias: {chosen.label} has no bias (use_bias is off): step through a "
                               "weight (--backward weight)")
        raise SessionError(f"--backward input: {chosen.label} works on vectors, so its input gradient is not gathered "
                           "number by number; a Dense's input is (give --layer of the Dense)")
    filters, channels = _map(g.dy).shape[2], _map(g.x).shape[2]
    for flag, value, top in (("--filter", filter_, filters), ("--channel", channel, channels)):
        if not 0 <= value < top:
            raise SessionError(f"{flag} {value + 1}: {chosen.label} has {flag[2:]}s 1 to {top}")
    if not all(0 <= v < n for v, n in zip(cell, grid)):
        what = {"weight": "kernel", "bias": "bias row", "input": "input"}[kind]
        if isinstance(chosen, Dense) and kind == "weight":
            what = "W"
        elif isinstance(chosen, BatchNormalization) and kind != "input":
            what = "γ row" if kind == "weight" else "β row"
        raise SessionError(f"--cell {cell[0]},{cell[1]}: {chosen.label}'s {what} is {grid[0]}×{grid[1]}, so "
                           f"the cell must be 0..{grid[0] - 1},0..{grid[1] - 1}")
    return pick_steps(chosen, g, kind, cell, filter_, channel, in_training)
