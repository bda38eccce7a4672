"""Convolution as a matrix (conv_arithmetic §4): y.ravel() = C · x.ravel() + bias.

Each row of C is one output cell, each column one input cell (C-order ravel of (H, W, C)). The
entries are placed from the per-axis tap tables of provenance.py (the formulas), never by probing
the layer, so the laws "C equals the layer" and "ConvTranspose equals Cᵀ" are real tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.errors import ConfigError
from cnnviz.core.provenance import axis_geometry, conv_taps, kernel_for, transpose_taps

MAX_CELLS = 4096  # per side: a 4096×4096 float64 matrix is 128 MB, the most a view should hold


@dataclass(frozen=True)
class ConvMatrix:
    matrix: np.ndarray  # (n_out, n_in) float64
    bias: np.ndarray  # (n_out,) float64: the layer's bias repeated for every output position
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    weight_index: np.ndarray  # (n_out, n_in) int32: flat index into the kernel, −1 where structurally zero


def conv_matrix(layer, input_shape) -> ConvMatrix:
    """C of a Conv2D: C[(i,j,o), (i·s − top + a·d, j·s − left + b·d, c)] = W[a,b,c,o] for real cells."""
    input_shape, output_shape = _shapes(layer, input_shape)
    rows = conv_taps(input_shape[0], **axis_geometry(layer, 0))  # (out rows, kh): input row read
    cols = conv_taps(input_shape[1], **axis_geometry(layer, 1))
    kh, kw, channels, filters = layer.kernel.shape
    # One axis per index: (out row, out col, filter, tap a, tap b, in channel).
    i, j, o, a, b, c = np.ix_(*(np.arange(n) for n in (len(rows), len(cols), filters, kh, kw, channels)))
    return _assemble(
        layer,
        input_shape,
        output_shape,
        out_cell=(i, j, o),
        in_cell=(rows[i, a], cols[j, b], c),
        weight=(a, b, c, o),
    )


def transpose_matrix(layer, input_shape) -> ConvMatrix:
    """C of a Conv2DTranspose: input (i,j,c) adds W[a,b,o,c] to output (i·s+a·d − top, j·s+b·d − left, o)."""
    input_shape, output_shape = _shapes(layer, input_shape)
    rows = transpose_taps(input_shape[0], **axis_geometry(layer, 0))  # (in rows, kh): output row reached
    cols = transpose_taps(input_shape[1], **axis_geometry(layer, 1))
    kh, kw, filters, channels = layer.kernel.shape
    # One axis per index: (in row, in col, in channel, tap a, tap b, filter).
    i, j, c, a, b, o = np.ix_(*(np.arange(n) for n in (len(rows), len(cols), channels, kh, kw, filters)))
    return _assemble(
        layer,
        input_shape,
        output_shape,
        out_cell=(rows[i, a], cols[j, b], o),
        in_cell=(i, j, c),
        weight=(a, b, o, c),
    )


def _shapes(layer, input_shape):
    input_shape = tuple(int(v) for v in input_shape)
    output_shape = tuple(layer.compute_output_shape(input_shape))
    n_out, n_in = int(np.prod(output_shape)), int(np.prod(input_shape))
    if n_out > MAX_CELLS or n_in > MAX_CELLS:
        raise ConfigError(
            f"{layer.label}: matrix would be {n_out}×{n_in} entries "
            f"({_dims(output_shape)} output cells × {_dims(input_shape)} input cells); "
            f"limit is {MAX_CELLS}×{MAX_CELLS}",
            param="input",
            layer=layer.label,
        )
    kernel_for(layer, input_shape)
    return input_shape, output_shape


def _dims(shape) -> str:
    return "×".join(map(str, shape))


def _assemble(layer, input_shape, output_shape, out_cell, in_cell, weight) -> ConvMatrix:
    """Place every (output cell, input cell, weight) triple whose cells are both real.

    Each triple arrives as broadcastable index arrays; cells outside the grid are padding (Conv2D)
    or cropped away (Conv2DTranspose) and get no entry. No two triples share an entry: for one output
    cell, different taps reach different input cells.
    """
    arrays = np.broadcast_arrays(*out_cell, *in_cell, *weight)
    out_cell, in_cell, weight = arrays[:3], arrays[3:6], arrays[6:]
    real = _inside(out_cell, output_shape) & _inside(in_cell, input_shape)
    out_flat = np.ravel_multi_index(tuple(v[real] for v in out_cell), output_shape)
    in_flat = np.ravel_multi_index(tuple(v[real] for v in in_cell), input_shape)
    weight_flat = np.ravel_multi_index(tuple(v[real] for v in weight), layer.kernel.shape)

    n_out, n_in = int(np.prod(output_shape)), int(np.prod(input_shape))
    weight_index = np.full((n_out, n_in), -1, dtype=np.int32)
    weight_index[out_flat, in_flat] = weight_flat
    matrix = np.zeros((n_out, n_in))
    matrix[out_flat, in_flat] = layer.kernel.ravel()[weight_flat]
    bias = np.zeros(output_shape) if layer.bias is None else np.broadcast_to(layer.bias, output_shape)
    return ConvMatrix(matrix, np.asarray(bias, dtype=np.float64).ravel(), input_shape, output_shape, weight_index)


def _inside(cell, shape) -> np.ndarray:
    return np.logical_and.reduce([(v >= 0) & (v < n) for v, n in zip(cell, shape)])
