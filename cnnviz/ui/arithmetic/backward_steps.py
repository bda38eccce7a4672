"""The backward step-through: one gradient summed window position by window position, as the forward
step-through fills one output cell at a time.

A weight: dL/dw[a, b] = Σ x[i·s + a, j·s + b] · dy[i, j], one step per window position (i, j), the product of
that step and the sum so far. An input cell: dL/dx[r, q] gathers from every output that read it, one step per
output (Conv2D: w[a, b] · dy[i, j], the transposed convolution of dy; a layer without weights: what that
output's dy sends back through the layer's own backward pass).

`BackwardSteps` has what the step-through's exporter reads of any step model (step_animation): `steps`,
`formula_lines(k)` and `paint(painter, rect, k)`; the Backpropagation dock plays it (backward_stepper).
The numbers are cnnviz/core/backprop.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from cnnviz.core.arithmetic import conv_padding
from cnnviz.core.backprop import backward_pass, input_gradient_terms, weight_gradient_terms
from cnnviz.core.layers import Conv2D
from cnnviz.core.provenance import cell_provenance
from cnnviz.io.errors import SessionError
from cnnviz.io.training_sets import TrainingSettings, teacher_pipeline
from cnnviz.ui.arithmetic.base import draw_symbol, split_row
from cnnviz.ui.arithmetic.step_model import crop_around
from cnnviz.ui.arithmetic.step_painter import grid_weight
from cnnviz.ui.colormaps import DIVERGING, GREYS, format_value, input_levels, symmetric_levels
from cnnviz.ui.grid_painter import Grid, paint_grid_groups


RULES = {
    "Conv2D": "each output cell sends dy back through the weights that made it (a transposed convolution of dy)",
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
    """One term of the sum: output cell (i, j) of filter `channel` read input cell `x_cell` (None: padding)
    with weight `tap`; it adds `value` = factor · dy."""

    dy_cell: tuple[int, int]
    channel: int
    x_cell: tuple[int, int] | None
    tap: tuple[int, int] | None
    factor: float  # x (a weight's sum) or w (an input cell's); a layer without weights: the contribution itself
    dy: float
    value: float


class BackwardSteps:
    """The steps of one gradient of `layer` on input `x` with dL/dy `dy` (all H×W×C): `kind` "weight" (dL/dw
    [a, b, c, o]) or "input" (dL/dx[r, q, c]). `result` is the whole gradient map the picked number belongs
    to (dL/dW[:, :, c, o], or dL/dx[:, :, c]) as the backward pass computed it."""

    def __init__(self, kind: str, layer, x, dy, cell, channel: int, result, steps, rule: str = "",
                 filter_: int = 0):
        self.kind, self.layer, self.x, self.dy = kind, layer, np.asarray(x), np.asarray(dy)
        self.cell, self.channel, self.filter = tuple(cell), channel, filter_
        self.result = np.asarray(result, dtype=float)
        self.steps: list[GatherStep] = steps
        self.rule = rule
        self.partial = np.cumsum([s.value for s in steps]) if steps else np.zeros(0)

    @property
    def dims(self) -> tuple[int, int, int, int]:
        """(filters, channels, rows, cols) of the steps for the playback bar: a weight's steps are dy's cells
        row-major; an input cell's are its terms in a row."""
        if self.kind == "weight":
            return (1, 1, *self.dy.shape[:2])
        return (1, 1, 1, len(self.steps))

    @property
    def symbol(self) -> str:
        a, b = self.cell
        return f"dL/dw[{a},{b}]" if self.kind == "weight" else f"dL/dx[{a},{b}]"

    @property
    def total(self) -> float:
        """The picked number as the backward pass computed it."""
        return float(self.result[self.cell])

    def position_text(self, k: int) -> str:
        step = self.steps[k]
        i, j = step.dy_cell
        if self.kind == "weight":
            return f"window {k + 1}/{len(self.steps)}: dy[{i},{j}]"
        return f"term {k + 1}/{len(self.steps)}: dy[{i},{j}]"

    def header_text(self) -> str:
        if self.kind == "weight":
            return (f"<b>{self.symbol}</b> of {self.layer.label} (filter {self.filter + 1}, channel "
                    f"{self.channel + 1}), summed over the {len(self.steps)} window positions")
        return (f"<b>{self.symbol}</b> (channel {self.channel + 1}) of {self.layer.label}'s input, gathered from "
                f"the {len(self.steps)} outputs it fed")

    # ------------------------------------------------------------------ the sum written out
    def formula_lines(self, k: int) -> list[str]:
        step, n = self.steps[k], len(self.steps)
        i, j = step.dy_cell
        before = float(self.partial[k - 1]) if k else 0.0
        so_far = float(self.partial[k])
        if self.kind == "weight":
            a, b = self.cell
            (sh, sw), (dh, dw) = self.layer.strides, self.layer.dilation_rate
            rows = f"i·{sh}+{a}" if dh == 1 else f"i·{sh}+{a}·{dh}"
            cols = f"j·{sw}+{b}" if dw == 1 else f"j·{sw}+{b}·{dw}"
            head = (f"{self.symbol} (filter {self.filter + 1}, channel {self.channel + 1}) = "
                    f"Σ x[{rows}, {cols}] · dy[i,j] over the {n} window positions")
            x_name = "0 (padding)" if step.x_cell is None else f"x[{step.x_cell[0]},{step.x_cell[1]}]"
            term = (f"window {k + 1} of {n}: {x_name} · dy[{i},{j}] = {factor(step.factor)}·{factor(step.dy)} "
                    f"= {shown(step.value)}")
        else:
            r, q = self.cell
            head = f"{self.symbol} (channel {self.channel + 1}) gathers from every output it fed: {self.rule}"
            if step.tap is not None:
                a, b = step.tap
                term = (f"term {k + 1} of {n}: w[{a},{b}] (filter {step.channel + 1}) · dy[{i},{j}] = "
                        f"{factor(step.factor)}·{factor(step.dy)} = {shown(step.value)}")
            else:
                term = f"term {k + 1} of {n}: from dy[{i},{j}] (dy = {shown(step.dy)}): {shown(step.value)}"
        total = f"sum so far: {shown(before)} + {factor(step.value)} = {shown(so_far)}"
        if k == n - 1:
            total += f" = {self.symbol} (the backward pass: {shown(self.total)})"
        return [head, term, total]

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
                       title=f"dL/dy, filter {step.channel + 1}" + _crop_note(dy.shape, dy_values, dy_offset),
                       marked=_moved(step.dy_cell, dy_offset))
        result = self.result.copy()
        result[self.cell] = self.partial[k]
        veiled = np.ones(result.shape, bool)
        veiled[self.cell] = False
        # only the sum being built is written: blank cells' numbers would still set the figure's number size
        texts = np.full(result.shape, "", dtype=object)
        texts[self.cell] = format_value(self.partial[k])
        if self.kind == "weight":
            x_values, x_pad, x_offset, window = self._input_view(k)
            x_grid = Grid(x_values, input_levels(self.x) if _is_image(self.x) else symmetric_levels(self.x),
                          GREYS if _is_image(self.x) else DIVERGING,
                          title=f"x, channel {self.channel + 1}" + (" + padding" if any(x_pad) else "")
                          + _crop_note(self.x.shape, x_values, x_offset),
                          pad=x_pad, highlights=[_moved(c, x_offset) for c in window],
                          marked=None if step.x_cell is None else _moved(step.x_cell, x_offset))
            grids = [("x", x_grid, x_values.shape[1] + x_pad[2] + x_pad[3]), ("dy", dy_grid, dy_values.shape[1])]
            between = ["×"]
            res_title = f"dL/dW, filter {self.filter + 1}, ch {self.channel + 1}"
            res_grid = Grid(result, symmetric_levels(self.result), DIVERGING, title=res_title, dimmed=veiled,
                            texts=texts, marked=self.cell, colorbar=True)
            grids.append(("result", res_grid, result.shape[1] + 3))
            between.append("Σ→")
        else:
            grids, between = [("dy", dy_grid, dy_values.shape[1])], []
            if step.tap is not None:
                kernel = self.layer.get_weights()[0][:, :, self.channel, step.channel]
                grids.append(("kernel", Grid(kernel, symmetric_levels(kernel), DIVERGING,
                                             title=f"w, filter {step.channel + 1}, ch {self.channel + 1}",
                                             marked=step.tap), kernel.shape[1]))
                between.append("×")
            res_values, _, res_offset = crop_around(result.shape, (0, 0, 0, 0), _centre(self.cell)).cut(
                result, (0, 0, 0, 0))
            grids.append(("result", Grid(res_values, symmetric_levels(self.result), DIVERGING,
                                         title=f"dL/dx, channel {self.channel + 1}"
                                         + _crop_note(result.shape, res_values, res_offset),
                                         dimmed=_cut(veiled, res_offset, res_values.shape),
                                         texts=_cut(texts, res_offset, res_values.shape),
                                         marked=_moved(self.cell, res_offset), colorbar=True),
                          res_values.shape[1] + 3))
            between.append("Σ→")
        weights = []
        for n, (_, _, cols) in enumerate(grids):
            weights.append(grid_weight(cols) + 1)
            if n < len(between):
                weights.append(1.2)
        columns = split_row(rect, weights)
        for n, (key, grid, _) in enumerate(grids):
            placed.append((key, columns[2 * n], grid))
            if n < len(between):
                symbols.append((columns[2 * n + 1], between[n]))
        geometries = paint_grid_groups(painter, [[p] for p in placed])
        for sym_rect, sym in symbols:
            draw_symbol(painter, sym_rect, sym)
        return geometries

    def _input_view(self, k: int):
        """(values, pad, offset, window cells) of x's channel around step `k`'s window (a crop of a large x)."""
        i, j = self.steps[k].dy_cell
        x = self.x[:, :, self.channel]
        window = list(cell_provenance(self.layer, self.x, (i, j, self.filter)).window)
        top, bottom, left, right = _conv_pad(self.layer, self.x.shape)
        rows = np.array(window, float).reshape(-1, 2)
        centre = (rows[:, 0].mean() + top + 0.5, rows[:, 1].mean() + left + 0.5)
        values, pad, offset = crop_around(x.shape, (top, bottom, left, right), centre).cut(
            x, (top, bottom, left, right))
        return values, pad, offset, window


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
def weight_steps(layer: Conv2D, x, dy, dw, a: int, b: int, c: int, o: int) -> BackwardSteps:
    """dL/dw[a, b, c, o] of a Conv2D summed over its window positions; `dw` the backward pass's dL/dW."""
    steps = []
    for i, j, r, q, xv, d in weight_gradient_terms(layer, x, dy, a, b, c, o):
        inside = 0 <= r < x.shape[0] and 0 <= q < x.shape[1]
        steps.append(GatherStep((i, j), o, (r, q) if inside else None, (a, b), xv, d, xv * d))
    return BackwardSteps("weight", layer, x, dy, (a, b), c, np.asarray(dw)[:, :, c, o], steps, filter_=o)


def input_steps(layer, x, dy, dx, r: int, q: int, c: int, rule: str, contributions=None) -> BackwardSteps:
    """dL/dx[r, q, c] gathered term by term: a Conv2D's w·dy over every output that read the cell; any other
    layer's `contributions` [(i, j, o, value)] (what each output's dy sends back to this cell)."""
    if isinstance(layer, Conv2D):
        kernel = layer.get_weights()[0]
        steps = [GatherStep((i, j), o, (r, q), (a, b), w, d, w * d)
                 for i, j, o, a, b, w, d in input_gradient_terms(layer, x.shape, kernel, dy, r, q, c)]
    else:
        steps = [GatherStep((i, j), o, (r, q), None, 1.0, float(dy[i, j, o]), v) for i, j, o, v in contributions]
    return BackwardSteps("input", layer, x, dy, (r, q), c, np.asarray(dx)[:, :, c], steps, rule)


def session_backward_steps(session, layer: int | None, kind: str, cell: tuple[int, int], filter_: int = 0,
                           channel: int = 0, target_class: int = 0) -> BackwardSteps:
    """The backward step-through of a loaded session (`cnnviz render --animate --backward`): layer `layer`
    (1-based; None: the first Conv2D), dL/dw[cell] of filter `filter_` and input channel `channel`, or
    dL/dx[cell] of `channel`. The loss is taken against the session's own target: a classifier's class
    `target_class`, or the teacher task's output (the training section's data); anything else is refused."""
    pipeline, x = session.pipeline, session.input
    layers = pipeline.layers
    convs = [i for i, lay in enumerate(layers, start=1) if isinstance(lay, Conv2D)]
    index = layer if layer is not None else (convs[0] if convs else None)
    if index is None:
        raise SessionError("--backward: this pipeline has no Conv2D; give --layer N for the layer to step back "
                           "through")
    chosen = layers[index - 1]
    if kind == "weight" and not isinstance(chosen, Conv2D):
        raise SessionError(f"--backward weight: {chosen.label} has no filter weights: step through its input "
                           "gradient (--backward input) or a Conv2D's weights")
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
    _, levels = backward_pass(pipeline, x, target, loss, training=bool(session.view.get("training")))
    g = levels[index - 1]
    gx, gdy, gdx = (np.asarray(a) for a in (g.x, g.dy, g.dx))
    if gx.ndim != 3 or gdy.ndim != 3:
        raise SessionError(f"--backward: {chosen.label} works on vectors; the backward step-through shows maps")
    filters, channels = gdy.shape[2], gx.shape[2]
    for flag, value, top in (("--filter", filter_, filters), ("--channel", channel, channels)):
        if not 0 <= value < top:
            raise SessionError(f"{flag} {value + 1}: {chosen.label} has {flag[2:]}s 1 to {top}")
    limits = chosen.kernel_size if kind == "weight" else gx.shape[:2]
    if not all(0 <= v < n for v, n in zip(cell, limits)):
        what = "kernel" if kind == "weight" else "input"
        raise SessionError(f"--cell {cell[0]},{cell[1]}: {chosen.label}'s {what} is {limits[0]}×{limits[1]}, so "
                           f"the cell must be 0..{limits[0] - 1},0..{limits[1] - 1}")
    if kind == "weight":
        return weight_steps(chosen, gx, gdy, g.grads[0], *cell, channel, filter_)
    gathered = None if isinstance(chosen, Conv2D) else contributions(chosen, gx, gdy, *cell, channel)
    return input_steps(chosen, gx, gdy, gdx, *cell, channel, gather_rule(chosen), gathered)
