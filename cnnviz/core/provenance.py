"""Where every output number comes from (docs/layers.md).

`cell_provenance` writes one output cell as the linear terms that make it:
``value = f(Σ coefficient·x[cell] + bias)``. `receptive_field`, `weight_footprint` and `weights_used`
answer the UI's hover questions: which cells and weights light up.

Each layer type describes its own terms and receptive-field mapping (`Layer.provenance`,
`Layer.field_back`, `Layer.kernel_reach`, `Layer.weight_footprint`); this module asks the layer, checks
the question and assembles the answer. The per-axis tap tables of the sliding layers are in arithmetic.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from cnnviz.core import ops
from cnnviz.core.arithmetic import conv_taps, transpose_taps
from cnnviz.core.errors import ConfigError
from cnnviz.core.layers.description import Term

Cell = tuple  # (row, col, channel) on a map, (index,) on a vector

__all__ = ["Provenance", "Term", "axis_geometry", "cell_provenance", "conv_taps", "kernel_for", "product_mask",
           "receptive_field", "receptive_field_axes", "receptive_field_masks", "tap_sources", "transpose_taps",
           "weight_footprint", "weight_footprint_mask", "weights_reaching", "weights_reaching_mask", "weights_used"]


@dataclass(frozen=True)
class Provenance:
    layer: int | None  # layer index if known
    cell: Cell  # output cell
    terms: tuple[Term, ...]  # the linear terms (padding terms included, with value 0)
    bias: float
    activation: str | None  # None, or "relu"/"sigmoid"/"tanh"/"softmax" applied to the sum
    value: float  # f(Σ coefficient·value + bias)
    window: tuple[tuple[int, int], ...]  # input (row, col) positions the window covers (sliding layers)
    logits: tuple[float, ...] = ()  # softmax: every pre-activation value along its axis (this cell's included)


def tap_sources(layer, axis: int, n: int, index: int) -> list[tuple[int, int]]:
    """The (tap, input index) pairs that feed output `index` along one axis of a sliding layer."""
    return layer.tap_sources(axis, n, index)


def axis_geometry(layer, axis: int) -> dict:
    """The per-axis settings of a sliding layer as keyword arguments for the tap tables."""
    return layer.axis_geometry(axis)


# --- one cell -----------------------------------------------------------------------------------------


def cell_provenance(layer, x: np.ndarray, cell: Cell, training: bool = False) -> Provenance:
    """The terms that make output cell `cell` of `layer` applied to its input `x`.

    `training` matters only for Dropout (it then uses the layer's mask, as `layer(x, training=True)`).
    """
    x = np.asarray(x)
    out_shape = layer.compute_output_shape(x.shape)
    cell = _checked_cell(layer.label, cell, out_shape)
    if layer.weight_specs():
        kernel_for(layer, x.shape)
    made = layer.provenance(x, cell, training)
    total = sum(t.coefficient * t.value for t in made.terms) + made.bias
    return Provenance(layer.index, cell, tuple(made.terms), float(made.bias), made.activation,
                      _activate(total, made.activation, made.logits), tuple(made.window), tuple(made.logits))


def _activate(total: float, activation: str | None, logits) -> float:
    if activation is None:
        return float(total)
    if activation == "softmax":  # this cell's logit against every logit along the softmax axis
        z = np.asarray(logits, np.float64)
        return float(np.exp(total - z.max()) / np.exp(z - z.max()).sum())
    return float(ops.activation(np.array([total]), activation)[0])


def _checked_cell(label: str, cell, shape) -> Cell:
    cell = tuple(int(v) for v in cell)
    if len(cell) != len(shape) or not all(0 <= v < n for v, n in zip(cell, shape)):
        dims = "×".join(map(str, shape))
        raise ConfigError(f"{label}: cell {cell} is outside the {dims} output", param="cell", layer=label)
    return cell


# --- hover questions: which cells and weights light up ---------------------------------------------


def receptive_field(pipeline, levels, level: int, cell: Cell) -> dict[int, set[Cell]]:
    """The cells of every level 0..`level` that cell `cell` of `level` structurally depends on.

    Level 0 is the input, level i the output of layer i (`levels` gives their shapes). Padding is
    never included; max pooling counts its whole window. Every layer is separable per axis, so the
    field stays a product rows × cols × channels and is carried back as three index arrays.
    """
    fields = receptive_field_axes(pipeline, [np.shape(v) for v in levels], level, cell)
    return {lvl: set(itertools.product(*(axis.tolist() for axis in axes))) for lvl, axes in fields.items()}


def _field_back(layer, input_shape, field):
    """One layer back: the input index arrays (one per input axis) an output product field depends on."""
    return layer.field_back(tuple(input_shape), field)


def weight_footprint(layer, input_shape, weight: tuple) -> set[Cell]:
    """Every input cell that kernel weight `weight` (Keras layout index) multiplies over all outputs.
    Layers without a kernel have an empty footprint."""
    if not _has_kernel(layer):
        return set()
    layer.compute_output_shape(tuple(input_shape))
    kernel_for(layer, input_shape)
    return _indices(layer.weight_footprint(tuple(input_shape), weight))


def weights_used(layer, cell: Cell, input_shape) -> set[tuple]:
    """The kernel weights (Keras layout indices) that multiply a real input cell for output `cell`.

    Taps that fall on padding multiply zero and are not counted. Layers without a kernel: empty.
    """
    if not _has_kernel(layer):
        return set()
    cell = _checked_cell(layer.label, cell, layer.compute_output_shape(tuple(input_shape)))
    kernel_for(layer, input_shape)
    mask = layer.kernel_reach(tuple(input_shape), tuple(np.array([v]) for v in cell))
    return set() if mask is None else _indices(mask)


def weights_reaching(layer, cells, input_shape) -> set[tuple]:
    """The union of `weights_used` over many output cells. A deep hover's field can hold thousands of
    cells; when they form a product of rows × cols × channels (as receptive fields do) one question to
    the layer answers it."""
    if not _has_kernel(layer):
        return set()
    kernel_for(layer, input_shape)
    if not cells:
        return set()
    cells = np.array(list(cells), int)
    axes = [np.unique(column) for column in cells.T]
    distinct = len(np.unique(cells, axis=0))
    fields = [tuple(axes)] if distinct == np.prod([len(a) for a in axes]) else \
        [tuple(np.array([v]) for v in c) for c in cells]
    shape = tuple(input_shape)
    return _indices(np.logical_or.reduce([layer.kernel_reach(shape, f) for f in fields]))


def _indices(mask: np.ndarray) -> set[tuple]:
    """The True positions of a mask as a set of index tuples of Python ints."""
    return set(map(tuple, np.argwhere(mask).tolist()))


def _has_kernel(layer) -> bool:
    specs = layer.weight_specs()
    return bool(specs) and specs[0].name == "kernel"


def kernel_for(layer, input_shape) -> np.ndarray:
    """The first weight array (the kernel) of a layer for this input: built on first need, as layer(x) does.

    Weights made for another channel count are a ConfigError (never an IndexError later).
    """
    if not layer.built:
        layer.build(tuple(input_shape))
    made_for = layer._weights_channels()
    if made_for is not None and made_for != input_shape[-1]:
        raise ConfigError(
            f"{layer.label}: input has {input_shape[-1]} channels, the kernel was made for {made_for}",
            param="input",
            layer=layer.label,
        )
    return getattr(layer, layer.weight_specs()[0].name)


# --- hover answers as boolean masks (the UI lights thousands of cells: no per-cell Python sets) -----------


def receptive_field_axes(pipeline, shapes, level: int, cell: Cell) -> dict[int, tuple[np.ndarray, ...]]:
    """`receptive_field` as index arrays per level (one per axis): each level's field is their product.

    `shapes` are the levels' shapes (level 0 the input); nothing is built or run.
    """
    shapes = [tuple(s) for s in shapes][: len(pipeline.layers) + 1]
    if not 0 <= level < len(shapes):
        raise ConfigError(f"level {level} does not exist; levels are 0..{len(shapes) - 1}", param="level")
    _checked_cell(pipeline.layers[level - 1].label if level else "Input", cell, shapes[level])
    field = tuple(np.array([int(v)]) for v in cell)
    fields = {level: field}
    for index in range(level, 0, -1):
        field = _field_back(pipeline.layers[index - 1], shapes[index - 1], field)
        fields[index - 1] = field
    return fields


def product_mask(shape, axes) -> np.ndarray:
    """A boolean array of `shape`, True on the product of the index arrays `axes`."""
    mask = np.zeros(tuple(shape), bool)
    mask[np.ix_(*[np.asarray(a, int) for a in axes])] = True
    return mask


def receptive_field_masks(pipeline, shapes, level: int, cell: Cell) -> dict[int, np.ndarray]:
    """`receptive_field` as one boolean mask per level, of that level's shape."""
    shapes = [tuple(s) for s in shapes]
    return {lvl: product_mask(shapes[lvl], axes) for lvl, axes in receptive_field_axes(pipeline, shapes, level, cell).items()}


def weight_footprint_mask(layer, input_shape, weight: tuple) -> np.ndarray:
    """`weight_footprint` as a boolean mask of the input's shape. The layer must be built (it is not built
    here: a query changes nothing); an unbuilt layer or one without a kernel lights nothing."""
    if not _has_kernel(layer) or not layer.built:
        return np.zeros(tuple(input_shape), bool)
    layer.compute_output_shape(tuple(input_shape))
    return np.asarray(layer.weight_footprint(tuple(input_shape), weight), bool)


def weights_reaching_mask(layer, field_axes, input_shape) -> np.ndarray | None:
    """`weights_reaching` for a product field (one index array per output axis) as a boolean mask of the
    kernel's shape; None for a layer without a kernel or not built."""
    if not _has_kernel(layer) or not layer.built:
        return None
    return layer.kernel_reach(tuple(input_shape), tuple(field_axes))
