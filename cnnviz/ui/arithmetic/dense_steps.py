"""The steps of a Dense layer, without any widget: one output unit per step, its inner product written out.

On a vector, step j is output j: the inner product of the whole input with column j of the kernel (in, units),
plus bias j, through the activation (the lecture's "the solution of CNN turns to something like ANN"). On an
(H, W, C) map Keras's Dense acts on each cell's channels (a 1×1 convolution): the steps then go unit by unit
and, within a unit, cell by cell, as a Conv2D's go filter by filter.

How Dense computes, and the Keras source it follows: docs/layers.md.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.layers import Flatten
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.step_model import LayerSteps, Step, Steps

WRITTEN_TERMS = 12  # a longer inner product is written with its first terms, "…", and its last ones


def dense_step(layer, x: np.ndarray, j: int, cell=None) -> dict:
    """Output unit j of Dense `layer` on input `x` (a vector, or cell `cell` (row, col) of an (H, W, C) map):
    the input vector, weight column, products, sum z (with bias), in float64."""
    vector = np.asarray(x, np.float64).reshape(-1) if x.ndim == 1 else np.asarray(x[cell[0], cell[1], :], np.float64)
    column = np.asarray(layer.kernel[:, j], np.float64)  # one column, not a copy of every weight
    products = vector * column
    bias = 0.0 if layer.bias is None else float(layer.bias[j])
    return {"x": vector, "w": column, "products": products, "bias": bias, "z": float(products.sum() + bias)}


def written_terms(n: int) -> list[int | None]:
    """The indices of an n-term inner product that are written out (None: the "…" between them)."""
    return list(range(n)) if n <= WRITTEN_TERMS else list(range(WRITTEN_TERMS - 3)) + [None] + list(range(n - 3, n))


def _result(text: str, rich: bool) -> str:
    return f"<b>{text}</b>" if rich else text


def inner_product_text(step: dict, j: int, name: str = "z", rich: bool = True) -> str:
    """`z[j] = Σ x[i]·W[i, j] + b[j] = x[0]·W[0,j] + … + b[j] = z`, the products with the real numbers (`y[j]`
    for a Dense without activation, whose sum is its output); the result in bold when `rich` (rich text)."""
    x, w = step["x"], step["w"]
    n = len(x)
    terms = ["…" if i is None else f"{formulas.num(x[i])}·{formulas.num(w[i])}" for i in written_terms(n)]
    return (f"{name}[{j}] = Σ x[i]·W[i, {j}] + b[{j}] = " + " + ".join(terms)
            + f" + {formulas.num(step['bias'])} = {_result(formulas.format_value(step['z']), rich)}"
            + (f"   ({n} products)" if n > WRITTEN_TERMS else ""))


def activation_line(layer, step: dict, j: int, value: float, logits=None, rich: bool = True) -> str | None:
    """The activation applied to the sum, with its numbers (None for a linear Dense)."""
    activation = getattr(layer, "activation", None) or "linear"
    out = _result(formulas.format_value(value), rich)
    if activation == "softmax":
        with np.errstate(over="ignore"):
            total = formulas.format_value(np.exp(np.asarray(logits, np.float64)).sum())
        return (f"softmax: y[{j}] = e^z[{j}] / Σₖ e^z[k] = e^{formulas.num(step['z'])} / {total} = {out}"
                f"   (the {layer.units} outputs add up to 1)")
    if activation != "linear":
        return f"{activation}: y[{j}] = {activation}({formulas.format_value(step['z'])}) = {out}"
    return None


def logits(layer, x: np.ndarray, cell=None) -> np.ndarray:
    """Every unit's sum z on the shown input (a softmax needs them all)."""
    return np.array([dense_step(layer, x, k, cell)["z"] for k in range(layer.units)])


class DenseStepModel(LayerSteps):
    """Dense on a vector: step j is unit j. Dense on a map: unit by unit, then cells row-major.

    `previous` is the layer before and `before` its input's shape: after a Flatten of an (H, W, C) map each
    input entry is labelled with the map cell it was."""

    def __init__(self, layer, x: np.ndarray, y: np.ndarray, level: int, previous=None, before=None):
        super().__init__(layer, x, y, level)
        self.on_map = x.ndim == 3
        units = layer.units
        self.steps = Steps(False, units, 1, *x.shape[:2]) if self.on_map else Steps(False, 1, 1, 1, units)
        self.axis_names = ("unit", "", "row", "col") if self.on_map else ("", "", "", "unit")
        flattened = isinstance(previous, Flatten) and before is not None and len(before) == 3
        self.flat_shape = tuple(before) if flattened else None  # the maps the input vector was

    # ------------------------------------------------------------------ what step k is
    def unit(self, k: int) -> int:
        step = self.steps[k]
        return step.channel if self.on_map else step.cell[1]

    def cell(self, k: int) -> tuple[int, int] | None:
        """The map cell whose channels step `k` reads (None on a vector)."""
        return self.steps[k].cell if self.on_map else None

    def output_cell(self, k: int) -> tuple:
        """The layer's output cell step `k` computes: (j,) or (row, col, j)."""
        cell = self.cell(k)
        return (self.unit(k),) if cell is None else (*cell, self.unit(k))

    def inner_product(self, k: int) -> dict:
        return dense_step(self.layer, self.x, self.unit(k), self.cell(k))

    def value(self, k: int) -> float:
        """The layer's own output at step `k`'s cell."""
        return float(self.y[self.output_cell(k)])

    def output_vector(self, k: int) -> np.ndarray:
        """The output entries step `k` belongs to: the whole output, or its cell's units."""
        cell = self.cell(k)
        return self.y if cell is None else self.y[cell[0], cell[1], :]

    def not_yet(self, k: int) -> np.ndarray:
        """Boolean over `output_vector(k)`: the units later steps compute (their values are not drawn yet;
        on a map the steps go unit by unit, so this cell's later units are not computed either)."""
        return np.arange(self.layer.units) > self.unit(k)

    # ------------------------------------------------------------------ the sum written out
    def formula_lines(self, k: int, rich: bool = False) -> list[str]:
        """The sum of step `k` written out (plain text, or with the results in bold as rich text)."""
        j, step = self.unit(k), self.inner_product(k)
        linear = (getattr(self.layer, "activation", None) or "linear") == "linear"
        lines = []
        if self.on_map:
            r, c = self.cell(k)
            lines.append(f"cell (row {r + 1}, col {c + 1}): a Dense on a map acts on each cell's {self.x.shape[2]} "
                         "channels, as a 1×1 convolution")
        lines.append(inner_product_text(step, j, "y" if linear else "z", rich))
        extra = activation_line(self.layer, step, j, self.value(k), logits(self.layer, self.x, self.cell(k))
                                if self.layer.activation == "softmax" else None, rich)
        if extra:
            lines.append(extra)
        return lines

    def input_label(self, i: int) -> str:
        """Entry i of the input vector, with the map cell (row, col, channel) it was before the Flatten
        (channels-last order, docs/layers.md)."""
        if self.flat_shape is None:
            return str(i)
        return f"{i} ← {','.join(str(int(v)) for v in np.unravel_index(i, self.flat_shape))}"

    # ------------------------------------------------------------------ linking to the layer views
    def step_for_cell(self, level: int, cell: tuple, current: int) -> int | None:
        if level != self.level:
            return None
        if self.on_map:
            r, c, j = cell
            return self.steps.index(Step(j, (r, c)))
        return self.steps.index(Step(0, (0, cell[0])))

    def probe_target(self, k: int, key, cell):
        """Grid keys are "x", "w", "products" (entry i of the input) and "output" (unit i)."""
        i, where = cell[0], self.cell(k)
        if key == "output":
            return self.level, (i,) if where is None else (*where, i)
        if key in ("x", "w", "products"):
            return self.level - 1, (i,) if where is None else (*where, i)
        return None
