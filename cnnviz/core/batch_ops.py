"""The forward maths of every layer on a batch (N, H, W, C) (vectors: (N, units)), for training.

Same formulas as cnnviz.core.ops (docs/layers.md), but batched and in the caller's float
dtype (float32 in a layer, float64 in the gradient tests), so one image of a batch gives the numbers of
the single-image op. Convolutions go through the window matrix (im2col) of the whole batch: one matrix
product per layer, the form the gradients in cnnviz.core.grad_ops reuse. Loops run over kernel or pool
offsets at most, never over pixels or images.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnviz.core.arithmetic import (
    conv_output_size,
    conv_padding,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
)
from cnnviz.core.ops import bilinear_matrix


def float_array(x) -> np.ndarray:
    """x as a float array, keeping float32/float64 (integers become float32, as the layers use)."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def _dtype(*arrays) -> np.dtype:
    return np.result_type(*(a for a in arrays if a is not None))


def pad_hw(x: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], value: float = 0.0) -> np.ndarray:
    if rows == (0, 0) and cols == (0, 0):
        return x
    return np.pad(x, ((0, 0), rows, cols, (0, 0)), constant_values=value)


def crop_hw(x: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """The inverse of pad_hw: drop rows[0] top, rows[1] bottom, cols[0] left, cols[1] right."""
    return x[:, rows[0] : x.shape[1] - rows[1], cols[0] : x.shape[2] - cols[1]]


def windows(xp: np.ndarray, size, out, strides, dilation=(1, 1)) -> np.ndarray:
    """Every window of a padded batch as a read-only view (N, oh, ow, kh, kw, C):
    view[n, i, j, a, b, c] = xp[n, i·s + a·d, j·s + b·d, c]."""
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = size, out, strides, dilation
    n, r, q, c = xp.strides
    return as_strided(xp, (xp.shape[0], oh, ow, kh, kw, xp.shape[3]), (n, r * sh, q * sw, r * dh, q * dw, c),
                      writeable=False)


@functools.lru_cache(maxsize=256)
def _geometry(h, w, size, strides, padding, dilation):
    out = tuple(conv_output_size(n, k, s, padding, d) for n, k, s, d in zip((h, w), size, strides, dilation))
    rows, cols = (conv_padding(n, k, s, padding, d) for n, k, s, d in zip((h, w), size, strides, dilation))
    return out, rows, cols


def scatter_windows(parts: np.ndarray, shape, strides, dilation=(1, 1)) -> np.ndarray:
    """The adjoint of windows: a zero batch of `shape` with parts (N, oh, ow, kh, kw, C) added back at
    [n, i·s + a·d, j·s + b·d, c]; one contiguous block per kernel offset (a copy that pays for itself)."""
    _, oh, ow, kh, kw, _ = parts.shape
    (sh, sw), (dh, dw) = strides, dilation
    blocks = np.ascontiguousarray(parts.transpose(3, 4, 0, 1, 2, 5))
    out = np.zeros(shape, parts.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, a * dh : a * dh + (oh - 1) * sh + 1 : sh, b * dw : b * dw + (ow - 1) * sw + 1 : sw] += blocks[a, b]
    return out


def conv_geometry(shape, size, strides, padding, dilation=(1, 1)):
    """((oh, ow), row padding, col padding) of a Conv2D or pooling on an (N, H, W, C) batch."""
    return _geometry(shape[1], shape[2], tuple(size), tuple(strides), padding, tuple(dilation))


def window_matrix(x, size, strides, padding, dilation=(1, 1)) -> np.ndarray:
    """im2col of a batch: (N·oh·ow, kh·kw·C), row (n, i, j), columns in (a, b, c) order (the kernel's)."""
    out, rows, cols = conv_geometry(x.shape, size, strides, padding, dilation)
    view = windows(pad_hw(x, rows, cols), size, out, strides, dilation)
    return view.reshape(-1, size[0] * size[1] * x.shape[3])


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1)) -> np.ndarray:
    """Keras Conv2D on a batch: y = window_matrix(x) · W + b (kernel (kh, kw, in, out))."""
    kh, kw, c, f = kernel.shape
    (oh, ow), _, _ = conv_geometry(x.shape, (kh, kw), strides, padding, dilation)
    y = window_matrix(x, (kh, kw), strides, padding, dilation) @ kernel.reshape(kh * kw * c, f)
    if bias is not None:
        y += bias
    return y.reshape(x.shape[0], oh, ow, f)


def transpose_geometry(shape, size, strides, padding, output_padding, dilation=(1, 1)):
    """((oh, ow), (top, left), canvas (rows, cols)) of a Conv2DTranspose on an (N, H, W, C) batch.

    The canvas holds the scatter-add result and the zero rows Keras appends past it (O > F)."""
    _, h, w, _ = shape
    ops_ = (None, None) if output_padding is None else output_padding
    out, crop, canvas = [], [], []
    for n, k, s, op, d in zip((h, w), size, strides, ops_, dilation):
        o, t = transpose_output_size(n, k, s, padding, op, d), transpose_crop(n, k, s, padding, op, d)
        out.append(o)
        crop.append(t)
        canvas.append(max(transpose_full_size(n, k, s, d), t + o))
    return tuple(out), tuple(crop), tuple(canvas)


def conv2d_transpose(x, kernel, bias=None, strides=(1, 1), padding="valid", output_padding=None,
                     dilation=(1, 1)) -> np.ndarray:
    """Keras Conv2DTranspose on a batch: each input cell scatters x·W[a, b] to (i·s + a·d, j·s + b·d),
    then the Keras crop (kernel (kh, kw, out, in))."""
    n, h, w, c = x.shape
    kh, kw, f, _ = kernel.shape
    (oh, ow), (top, left), canvas = transpose_geometry(x.shape, (kh, kw), strides, padding, output_padding, dilation)
    # every kernel offset's contribution in one product (N·h·w, in) · (in, kh·kw·out), then added at stride s
    parts = (x.reshape(-1, c) @ kernel.transpose(3, 0, 1, 2).reshape(c, -1)).reshape(n, h, w, kh, kw, f)
    full = scatter_windows(parts, (n, *canvas, f), strides, dilation)
    y = full[:, top : top + oh, left : left + ow]
    return y + bias if bias is not None else y.copy()


def depthwise_conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1)) -> np.ndarray:
    """Keras DepthwiseConv2D: one 2-D filter per (channel, multiplier); output channel c·M + m."""
    kh, kw, c, m = kernel.shape
    out, rows, cols = conv_geometry(x.shape, (kh, kw), strides, padding, dilation)
    view = windows(pad_hw(x, rows, cols), (kh, kw), out, strides, dilation)  # (N, oh, ow, kh, kw, C)
    y = np.einsum("nijabc,abcm->nijcm", view, kernel, optimize=True).reshape(x.shape[0], *out, c * m)
    return y + bias if bias is not None else y


def pool_geometry(shape, pool_size, strides, padding):
    return conv_geometry(shape, pool_size, strides, padding)


def real_counts(shape, pool_size, strides, padding) -> np.ndarray:
    """(oh, ow, 1): how many real (not padded) cells each pooling window holds."""
    (oh, ow), rows, cols = pool_geometry(shape, pool_size, strides, padding)
    counts = []
    for n, k, s, o, before in zip(shape[1:3], pool_size, strides, (oh, ow), (rows[0], cols[0])):
        start = np.arange(o) * s - before
        counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
    return np.outer(*counts)[:, :, None]


def pool_windows(x, pool_size, strides, padding, fill) -> np.ndarray:
    """(N, oh, ow, C, kh·kw): each window's cells in row-major order, padding filled with `fill`."""
    out, rows, cols = pool_geometry(x.shape, pool_size, strides, padding)
    view = windows(pad_hw(x, rows, cols, fill), pool_size, out, strides)  # (N, oh, ow, kh, kw, C)
    return view.transpose(0, 1, 2, 5, 3, 4).reshape(*view.shape[:3], x.shape[3], -1)


@functools.lru_cache(maxsize=256)
def pool_index(h, w, pool_size, strides, padding) -> tuple[np.ndarray, int, int]:
    """(index (oh·ow, kh·kw), padded rows, padded cols): the flat padded-cell number r·W_p + q of every
    cell of every window, window cells in row-major order (the order in which ties are decided)."""
    (oh, ow), rows, cols = _geometry(h, w, pool_size, strides, padding, (1, 1))
    hp, wp = h + sum(rows), w + sum(cols)
    (kh, kw), (sh, sw) = pool_size, strides
    r = (np.arange(oh) * sh)[:, None, None, None] + np.arange(kh)[None, None, :, None]
    q = (np.arange(ow) * sw)[None, :, None, None] + np.arange(kw)[None, None, None, :]
    index = (r * wp + q).reshape(oh * ow, kh * kw)
    index.flags.writeable = False  # shared by every call through the cache
    return index, hp, wp


def max_pool_cells(x, pool_size, strides, padding) -> tuple[np.ndarray, tuple]:
    """Every window's cells of a max pooling, (N, C, oh·ow, kh·kw) (a window's cells last, for fast
    reductions), padding at −∞; and the pool_index."""
    index = pool_index(x.shape[1], x.shape[2], tuple(pool_size), tuple(strides), padding)
    _, rows, cols = pool_geometry(x.shape, pool_size, strides, padding)
    xp = pad_hw(x, rows, cols, -np.inf).reshape(x.shape[0], -1, x.shape[3])
    return np.ascontiguousarray(xp.transpose(0, 2, 1))[:, :, index[0]], index


def pool2d(x, pool_size=(2, 2), strides=None, padding="valid", mode="max") -> np.ndarray:
    """Keras Max/AveragePooling2D on a batch; padded cells are ignored (max: −∞, average: not counted)."""
    strides = pool_size if strides is None else strides
    (oh, ow), _, _ = pool_geometry(x.shape, pool_size, strides, padding)
    if mode == "max":
        cells, _ = max_pool_cells(x, pool_size, strides, padding)
        return np.ascontiguousarray(cells.max(axis=-1).transpose(0, 2, 1)).reshape(x.shape[0], oh, ow, x.shape[3])
    sums = pool_windows(x, pool_size, strides, padding, 0).sum(axis=-1)
    return sums / real_counts(x.shape, pool_size, strides, padding).astype(x.dtype)


def global_pool(x, mode="average", keepdims=False) -> np.ndarray:
    """GlobalAverage/MaxPooling2D: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with keepdims."""
    reduce = np.mean if mode == "average" else np.max
    return reduce(x, axis=(1, 2), keepdims=keepdims)


def upsample2d(x, size=(2, 2), interpolation="nearest") -> np.ndarray:
    """Keras UpSampling2D on a batch: repeat, or half-pixel bilinear Y = R_h · X · R_wᵀ per channel."""
    fh, fw = size
    if interpolation == "nearest":
        return np.repeat(np.repeat(x, fh, axis=1), fw, axis=2)
    _, h, w, _ = x.shape
    rh, rw = (bilinear_matrix(n, n * f).astype(x.dtype) for n, f in ((h, fh), (w, fw)))
    return np.einsum("ph,nhwc,qw->npqc", rh, x, rw, optimize=True)


def dropout(x, rate: float, mask=None) -> np.ndarray:
    """Inverted dropout: kept cells scaled by 1/(1 − rate), dropped ones 0; no mask = identity."""
    if mask is None or rate == 0:
        return x.copy()
    return np.where(mask, x / x.dtype.type(1 - rate), x.dtype.type(0))


def sigmoid(x) -> np.ndarray:
    e = np.exp(-np.abs(x))  # exp of a non-positive number only: no overflow for large |x|
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softmax(x, axis=-1) -> np.ndarray:
    """exp(x − max) / Σ exp(x − max) along `axis` (an int or a tuple of axes), stable for large |x|."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def activation(x, name: str, negative_slope: float = 0.2) -> np.ndarray:
    """relu, sigmoid, tanh, linear, softmax (last axis) or leaky_relu (`negative_slope`)."""
    if name == "relu":
        return np.maximum(x, x.dtype.type(0))
    if name == "sigmoid":
        return sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "softmax":
        return softmax(x)
    if name == "leaky_relu":
        return np.where(x > 0, x, x * x.dtype.type(negative_slope))
    return x.copy()


def dense(x, kernel, bias=None) -> np.ndarray:
    """Keras Dense: y = x · W + b on the last axis (kernel (in, units)); any leading axes."""
    y = x @ kernel
    return y + bias if bias is not None else y


def batch_norm(x, gamma, beta, mean, variance, epsilon) -> np.ndarray:
    """γ·(x − μ)/√(σ² + ε) + β per channel, in TF's order x·inv + (β − μ·inv); γ/β may be None."""
    inv = x.dtype.type(1) / np.sqrt(variance + x.dtype.type(epsilon))
    if gamma is not None:
        inv = inv * gamma
    shift = -mean * inv if beta is None else beta - mean * inv
    return x * inv.astype(x.dtype) + shift.astype(x.dtype)
