"""Where every output number comes from (SEMANTICS.md §1-§5).

`cell_provenance` writes one output cell as the linear terms that make it:
``value = f(Σ coefficient·x[cell] + bias)``. `receptive_field`, `weight_footprint` and `weights_used`
answer the UI's hover questions: which cells and weights light up.

Every sliding layer is separable per axis, so the geometry lives in two small tables:
``conv_taps`` (which input index each kernel tap of each output reads) and ``transpose_taps`` (which
output index each input reaches through each tap); ``tap_sources`` reads one output's taps from them.
Everything else, matrix.py included, works from these.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from cnnviz.core import ops
from cnnviz.core.arithmetic import conv_output_size, conv_padding, transpose_crop, transpose_output_size
from cnnviz.core.errors import ConfigError
from cnnviz.core.layers import (
    Activation,
    AveragePooling2D,
    Conv2D,
    Conv2DTranspose,
    Dropout,
    MaxPooling2D,
    UpSampling2D,
)

Cell = tuple[int, int, int]


@dataclass(frozen=True)
class Term:
    cell: Cell  # input cell (row, col, channel) of the layer's input; may lie in padding
    coefficient: float  # multiplies value
    value: float  # x[cell], or 0.0 for a padding cell
    weight: tuple | None  # index into the layer's kernel (Keras layout) or None
    padding: bool  # True when cell is outside the input (drawn hatched)


@dataclass(frozen=True)
class Provenance:
    layer: int | None  # layer index if known
    cell: Cell  # output cell
    terms: tuple[Term, ...]  # the linear terms (padding terms included, with value 0)
    bias: float
    activation: str | None  # None, or "relu"/"sigmoid"/"tanh" applied to the sum
    value: float  # f(Σ coefficient·value + bias)
    window: tuple[tuple[int, int], ...]  # input (row, col) positions the window covers (sliding layers)


# --- per-axis geometry -------------------------------------------------------------------------------


def conv_taps(n: int, k: int, s: int, padding: str, d: int = 1) -> np.ndarray:
    """(O, k) table: input index read by tap a of output i, i·s − before + a·d (outside 0..n−1 = padding)."""
    before, _ = conv_padding(n, k, s, padding, d)
    out = conv_output_size(n, k, s, padding, d)
    return np.arange(out)[:, None] * s - before + np.arange(k)[None, :] * d


def transpose_taps(n: int, k: int, s: int, padding: str, output_padding: int | None, d: int = 1) -> np.ndarray:
    """(n, k) table: output index input i reaches through tap a, i·s + a·d − crop (outside 0..O−1 = cropped)."""
    crop = transpose_crop(n, k, s, padding, output_padding, d)
    return np.arange(n)[:, None] * s + np.arange(k)[None, :] * d - crop


def tap_sources(layer, axis: int, n: int, index: int) -> list[tuple[int, int]]:
    """The (tap, input index) pairs that feed output `index` along one axis of a sliding layer.

    Conv2D and pooling: every tap a reads i·s − before + a·d. Conv2DTranspose: the taps a for which
    i·s + a·d − crop = index has an integer solution i (the other taps meet the zeros a stride inserts).
    An input index outside 0..n−1 is padding.
    """
    geometry = axis_geometry(layer, axis)
    if isinstance(layer, Conv2DTranspose):
        k, s, d = geometry["k"], geometry["s"], geometry["d"]
        crop = transpose_crop(n, **geometry)
        return [(a, (index + crop - a * d) // s) for a in range(k) if (index + crop - a * d) % s == 0]
    return [(a, int(i)) for a, i in enumerate(conv_taps(n, **geometry)[index])]


def axis_geometry(layer, axis: int) -> dict:
    """The per-axis settings of a sliding layer as keyword arguments for the tap tables."""
    if isinstance(layer, (MaxPooling2D, AveragePooling2D)):
        return {"k": layer.pool_size[axis], "s": layer.strides[axis], "padding": layer.padding, "d": 1}
    geometry = {
        "k": layer.kernel_size[axis],
        "s": layer.strides[axis],
        "padding": layer.padding,
        "d": layer.dilation_rate[axis],
    }
    if isinstance(layer, Conv2DTranspose):
        geometry["output_padding"] = None if layer.output_padding is None else layer.output_padding[axis]
    return geometry


def _inside(position: int, n: int) -> bool:
    return 0 <= position < n


# --- one cell -----------------------------------------------------------------------------------------


def cell_provenance(layer, x: np.ndarray, cell: Cell, training: bool = False) -> Provenance:
    """The terms that make output cell `cell` of `layer` applied to its input `x`.

    `training` matters only for Dropout (it then uses the layer's mask, as `layer(x, training=True)`).
    """
    x = np.asarray(x)
    out_shape = layer.compute_output_shape(x.shape)
    cell = _checked_cell(layer.label, cell, out_shape)
    if isinstance(layer, (Conv2D, Conv2DTranspose)):
        kernel_for(layer, x.shape)
    explain = _explainer(layer)
    terms, bias, activation, window = explain(layer, x, cell, training)
    total = sum(t.coefficient * t.value for t in terms) + bias
    value = total if activation is None else float(ops.activation(np.array([total]), activation)[0])
    return Provenance(layer.index, cell, tuple(terms), float(bias), activation, float(value), tuple(window))


def _checked_cell(label: str, cell, shape) -> Cell:
    cell = tuple(int(v) for v in cell)
    if len(cell) != 3 or not all(0 <= v < n for v, n in zip(cell, shape)):
        dims = "×".join(map(str, shape))
        raise ConfigError(f"{label}: cell {cell} is outside the {dims} output", param="cell", layer=label)
    return cell


def _conv2d(layer, x, cell, training):
    """y[i,j,o] = bias[o] + Σ_{a,b,c} xpad[i·s + a·d, j·s + b·d, c] · W[a,b,c,o]."""
    rows, cols = _window_taps(layer, x, cell)
    o = cell[2]
    terms = [
        _term(x, (i, j, c), layer.kernel[a, b, c, o], (a, b, c, o))
        for a, i in rows
        for b, j in cols
        for c in range(x.shape[2])
    ]
    return terms, _bias(layer, o), None, _window(rows, cols)


def _conv2d_transpose(layer, x, cell, training):
    """y[r,c,o] = bias[o] + Σ x[i,j,ch] · W[a,b,o,ch] over every (i, a), (j, b) scattering into (r, c)."""
    rows, cols = _window_taps(layer, x, cell)
    o = cell[2]
    terms = [
        _term(x, (i, j, c), layer.kernel[a, b, o, c], (a, b, o, c))
        for a, i in rows
        for b, j in cols
        for c in range(x.shape[2])
    ]
    return terms, _bias(layer, o), None, _window(rows, cols)


def _max_pooling(layer, x, cell, training):
    """The first maximal real cell of the window, in row-major order; padded cells are ignored."""
    window = _window(*_window_taps(layer, x, cell))
    real = [(i, j) for i, j in window if _inside(i, x.shape[0]) and _inside(j, x.shape[1])]
    i, j = max(real, key=lambda ij: x[ij[0], ij[1], cell[2]])  # max() keeps the first of equals
    return [_term(x, (i, j, cell[2]), 1.0, None)], 0.0, None, window


def _average_pooling(layer, x, cell, training):
    """The mean of the real cells; padded cells are terms with coefficient 0 (drawn, never counted)."""
    window = _window(*_window_taps(layer, x, cell))
    real = [_inside(i, x.shape[0]) and _inside(j, x.shape[1]) for i, j in window]
    share = 1.0 / sum(real)
    terms = [_term(x, (i, j, cell[2]), share if inside else 0.0, None) for (i, j), inside in zip(window, real)]
    return terms, 0.0, None, window


def _window_taps(layer, x, cell):
    return tap_sources(layer, 0, x.shape[0], cell[0]), tap_sources(layer, 1, x.shape[1], cell[1])


def _window(rows, cols) -> list[tuple[int, int]]:
    return [(i, j) for _, i in rows for _, j in cols]


def _upsampling(layer, x, cell, training):
    """Nearest: y[r,c] = x[r//fh, c//fw]. Bilinear: Σ R_h[r,i]·R_w[c,j]·x[i,j] (half-pixel centres)."""
    r, c, ch = cell
    rows = _upsampling_sources(layer, 0, x.shape[0], r)
    cols = _upsampling_sources(layer, 1, x.shape[1], c)
    terms = [_term(x, (i, j, ch), wi * wj, None) for i, wi in rows for j, wj in cols]
    return terms, 0.0, None, []


def _upsampling_sources(layer, axis: int, n: int, index: int) -> list[tuple[int, float]]:
    """The (source index, weight) pairs of output `index` along one axis, weights non-zero.

    Bilinear: (1−w)·x[i0] + w·x[i1], one row of R (SEMANTICS §4); i1 only counts when w > 0
    (at a clipped edge i0 = i1 and w = 0).
    """
    factor = layer.size[axis]
    if layer.interpolation == "nearest":
        return [(index // factor, 1.0)]
    i0, i1, w = (float(v[index]) for v in ops.bilinear_weights(n, n * factor))
    return [(int(i0), 1.0 - w)] + ([(int(i1), w)] if w > 0 else [])


def _dropout(layer, x, cell, training):
    """Training: kept cells × 1/(1−rate), dropped cells × 0. Inference: the identity."""
    coefficient = 1.0
    if training and layer.rate > 0:
        if layer.mask is None or layer.mask.shape != x.shape:
            layer.new_mask(x.shape)  # as layer(x, training=True) would: drawn on first need, then kept
        mask = layer.mask
        coefficient = 1.0 / (1.0 - layer.rate) if mask[cell] else 0.0
    return [_term(x, cell, coefficient, None)], 0.0, None, []


def _activation(layer, x, cell, training):
    """One term, coefficient 1; the function (ReLU is Activation("relu")) is applied to it."""
    name = layer.activation
    return [_term(x, cell, 1.0, None)], 0.0, (None if name == "linear" else name), []


def _term(x, cell, coefficient, weight) -> Term:
    r, c, ch = (int(v) for v in cell)
    inside = _inside(r, x.shape[0]) and _inside(c, x.shape[1])
    value = float(x[r, c, ch]) if inside else 0.0
    weight = None if weight is None else tuple(int(v) for v in weight)
    return Term((r, c, ch), float(coefficient), value, weight, not inside)


def _bias(layer, o: int) -> float:
    return 0.0 if layer.bias is None else float(layer.bias[o])


_EXPLAINERS = {
    Conv2D: _conv2d,
    Conv2DTranspose: _conv2d_transpose,
    MaxPooling2D: _max_pooling,
    AveragePooling2D: _average_pooling,
    UpSampling2D: _upsampling,
    Dropout: _dropout,
    Activation: _activation,
}


def _explainer(layer):
    for cls in type(layer).__mro__:  # ReLU finds Activation
        if cls in _EXPLAINERS:
            return _EXPLAINERS[cls]
    raise ConfigError(f"{layer.label}: no provenance for {type(layer).__name__}", layer=layer.label)


# --- hover questions: which cells and weights light up ---------------------------------------------


def receptive_field(pipeline, levels, level: int, cell: Cell) -> dict[int, set[Cell]]:
    """The cells of every level 0..`level` that cell `cell` of `level` structurally depends on.

    Level 0 is the input, level i the output of layer i (`levels` gives their shapes). Padding is
    never included; max pooling counts its whole window. Every layer is separable per axis, so the
    field stays a product rows × cols × channels and is carried back as three index arrays.
    """
    shapes = [np.shape(v) for v in levels][: len(pipeline.layers) + 1]
    if not 0 <= level < len(shapes):
        raise ConfigError(f"level {level} does not exist; levels are 0..{len(shapes) - 1}", param="level")
    _checked_cell(pipeline.layers[level - 1].label if level else "Input", cell, shapes[level])
    field = tuple(np.array([int(v)]) for v in cell)
    fields = {level: field}
    for index in range(level, 0, -1):
        field = _field_back(pipeline.layers[index - 1], shapes[index - 1], field)
        fields[index - 1] = field
    return {lvl: set(itertools.product(*(axis.tolist() for axis in axes))) for lvl, axes in fields.items()}


def _field_back(layer, input_shape, field):
    """One layer back: the input (rows, cols, channels) an output product field depends on."""
    rows, cols, channels = field
    if isinstance(layer, (Conv2D, Conv2DTranspose)):  # every filter reads every input channel
        channels = np.arange(input_shape[2])
    return _axis_back(layer, 0, input_shape[0], rows), _axis_back(layer, 1, input_shape[1], cols), channels


def _axis_back(layer, axis: int, n: int, wanted: np.ndarray) -> np.ndarray:
    """The input indices along one axis that the output indices `wanted` depend on."""
    if isinstance(layer, Conv2DTranspose):
        reached = transpose_taps(n, **axis_geometry(layer, axis))
        return np.flatnonzero(np.isin(reached, wanted).any(axis=1))
    if isinstance(layer, (Conv2D, MaxPooling2D, AveragePooling2D)):
        read = np.unique(conv_taps(n, **axis_geometry(layer, axis))[wanted])
        return read[(read >= 0) & (read < n)]
    if isinstance(layer, UpSampling2D):
        factor = layer.size[axis]
        if layer.interpolation == "nearest":
            return np.unique(wanted // factor)
        i0, i1, w = (v[wanted] for v in ops.bilinear_weights(n, n * factor))
        return np.unique(np.concatenate([i0, i1[w > 0]]))
    return wanted  # Dropout, ReLU, Activation: cell to cell


def weight_footprint(layer, input_shape, weight: tuple) -> set[Cell]:
    """Every input cell that kernel weight `weight` (Keras layout index) multiplies over all outputs.

    Conv2D weight (a, b, c, o): the cells tap (a, b) reads, in channel c. Conv2DTranspose weight
    (a, b, o, c): the cells of channel c whose scatter through tap (a, b) lands inside the output.
    Layers without a kernel have an empty footprint.
    """
    if not isinstance(layer, (Conv2D, Conv2DTranspose)):
        return set()
    layer.compute_output_shape(tuple(input_shape))
    kernel_for(layer, input_shape)
    weight = _checked_weight(layer, weight)
    a, b = weight[:2]
    channel = weight[3] if isinstance(layer, Conv2DTranspose) else weight[2]
    rows = _weight_axis(layer, 0, input_shape[0], a)
    cols = _weight_axis(layer, 1, input_shape[1], b)
    return {(int(r), int(c), channel) for r in rows for c in cols}


def _weight_axis(layer, axis: int, n: int, tap: int) -> np.ndarray:
    geometry = axis_geometry(layer, axis)
    if isinstance(layer, Conv2DTranspose):
        reached = transpose_taps(n, **geometry)[:, tap]
        return np.flatnonzero((reached >= 0) & (reached < transpose_output_size(n, **geometry)))
    read = conv_taps(n, **geometry)[:, tap]
    return np.unique(read[(read >= 0) & (read < n)])


def weights_used(layer, cell: Cell, input_shape) -> set[tuple]:
    """The kernel weights (Keras layout indices) that multiply a real input cell for output `cell`.

    Taps that fall on padding multiply zero and are not counted. Layers without a kernel: empty.
    """
    if not isinstance(layer, (Conv2D, Conv2DTranspose)):
        return set()
    r, c, o = _checked_cell(layer.label, cell, layer.compute_output_shape(tuple(input_shape)))
    kernel_for(layer, input_shape)
    rows = [a for a, i in tap_sources(layer, 0, input_shape[0], r) if _inside(i, input_shape[0])]
    cols = [b for b, j in tap_sources(layer, 1, input_shape[1], c) if _inside(j, input_shape[1])]
    if isinstance(layer, Conv2DTranspose):
        return {(a, b, o, ch) for a in rows for b in cols for ch in range(input_shape[2])}
    return {(a, b, ch, o) for a in rows for b in cols for ch in range(input_shape[2])}


def weights_reaching(layer, cells, input_shape) -> set[tuple]:
    """The union of `weights_used` over many output cells: a deep hover's field can hold thousands of
    cells, so the taps of each distinct row and column are looked up once."""
    if not isinstance(layer, (Conv2D, Conv2DTranspose)):
        return set()
    kernel_for(layer, input_shape)
    n_rows, n_cols, channels = input_shape

    @functools.cache
    def taps(axis: int, n: int, index: int) -> tuple:
        return tuple(tap for tap, source in tap_sources(layer, axis, n, index) if _inside(source, n))

    transpose = isinstance(layer, Conv2DTranspose)  # its kernel is (kh, kw, filters, channels)
    used = set()
    for rows, cols, o in {(taps(0, n_rows, r), taps(1, n_cols, c), o) for r, c, o in cells}:
        used.update((a, b, o, ch) if transpose else (a, b, ch, o) for a in rows for b in cols for ch in range(channels))
    return used


def kernel_for(layer, input_shape) -> np.ndarray:
    """The kernel of a Conv2D/Conv2DTranspose for this input: built on first need, as layer(x) does.

    A kernel made for another channel count is a ConfigError (never an IndexError later).
    """
    if not layer.built:
        layer.build(tuple(input_shape))
    made_for = layer.kernel.shape[3 if isinstance(layer, Conv2DTranspose) else 2]
    if made_for != input_shape[2]:
        raise ConfigError(
            f"{layer.label}: input has {input_shape[2]} channels, the kernel was made for {made_for}",
            param="input",
            layer=layer.label,
        )
    return layer.kernel


def _checked_weight(layer, weight) -> tuple:
    weight = tuple(int(v) for v in weight)
    shape = layer.kernel.shape
    if len(weight) != len(shape) or not all(0 <= v < n for v, n in zip(weight, shape)):
        raise ConfigError(
            f"{layer.label}: weight {weight} is outside the kernel of shape {shape}", param="weight", layer=layer.label
        )
    return weight


# --- hover answers as boolean masks (the UI lights thousands of cells: no per-cell Python sets) -----------


def receptive_field_axes(pipeline, shapes, level: int, cell: Cell) -> dict[int, tuple[np.ndarray, ...]]:
    """`receptive_field` as (rows, cols, channels) index arrays per level: each field is their product.

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
    mask = np.zeros(shape, bool)
    mask[np.ix_(*axes)] = True
    return mask


def receptive_field_masks(pipeline, shapes, level: int, cell: Cell) -> dict[int, np.ndarray]:
    """`receptive_field` as one boolean mask per level, of that level's shape."""
    shapes = [tuple(s) for s in shapes]
    return {lvl: product_mask(shapes[lvl], axes) for lvl, axes in receptive_field_axes(pipeline, shapes, level, cell).items()}


def weight_footprint_mask(layer, input_shape, weight: tuple) -> np.ndarray:
    """`weight_footprint` as a boolean mask of the input's shape. The layer must be built (it is not built
    here: a query changes nothing)."""
    mask = np.zeros(tuple(input_shape), bool)
    if not isinstance(layer, (Conv2D, Conv2DTranspose)) or not layer.built:
        return mask
    layer.compute_output_shape(tuple(input_shape))
    a, b, *rest = _checked_weight(layer, weight)
    channel = rest[1] if isinstance(layer, Conv2DTranspose) else rest[0]
    rows = _weight_axis(layer, 0, input_shape[0], a)
    cols = _weight_axis(layer, 1, input_shape[1], b)
    mask[np.ix_(rows, cols, [channel])] = True
    return mask


def weights_reaching_mask(layer, field_axes, input_shape) -> np.ndarray | None:
    """`weights_reaching` for a product field (rows, cols, output channels) as a boolean mask of the kernel's
    shape; None for a layer without a kernel or not built. Taps that read only padding are left out."""
    if not isinstance(layer, (Conv2D, Conv2DTranspose)) or not layer.built:
        return None
    rows, cols, outs = field_axes
    n_rows, n_cols, channels = input_shape

    def taps(axis: int, n: int, indices) -> np.ndarray:
        used = {tap for i in indices for tap, source in tap_sources(layer, axis, n, int(i)) if _inside(source, n)}
        return np.array(sorted(used), int)

    kernel_axes = [taps(0, n_rows, rows), taps(1, n_cols, cols), np.arange(channels), outs]
    if isinstance(layer, Conv2DTranspose):  # its kernel is (kh, kw, filters, channels)
        kernel_axes[2], kernel_axes[3] = outs, np.arange(channels)
    return product_mask(layer.kernel.shape, kernel_axes)
