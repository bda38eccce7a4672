"""The maths of every layer as pure functions on one channels-last image (docs/layers.md).

Arguments are assumed valid (the layers validate them and raise ConfigError); these functions only
compute. Everything is vectorised: loops run over kernel offsets at most, never over pixels.
Results are float32.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnviz.core.arithmetic import (
    conv_output_size,
    conv_padding,
    effective_size,
    transpose_crop,
    transpose_output_size,
)

ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear", "softmax")
INTERPOLATIONS = ("nearest", "bilinear")
POOL_MODES = ("max", "average")

# Large layers are computed in bands of about this many values: a band's buffers stay in cache and
# are reused, so only the result is fresh memory (page faults cost more than the maths here).
_BAND_VALUES = 1 << 16
# Stride-1 Conv2D runs on two threads on a multi-core machine (this one has 2 cores), as long as the
# products per output row are small enough for OpenBLAS to run each on one thread (m·n·k < 2¹⁹ with two
# cores: its GEMM_MULTITHREAD_THRESHOLD); beyond that BLAS threads them itself.
_THREADS = min(2, os.cpu_count() or 1)
_ONE_BLAS_THREAD = 1 << 19
_HELPER_START_S = 3e-4


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _pad(x: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], value: float = 0.0) -> np.ndarray:
    if rows == (0, 0) and cols == (0, 0):
        return x
    return np.pad(x, (rows, cols, (0, 0)), constant_values=value)


def _windows(xp: np.ndarray, kh: int, kw: int, out: tuple[int, int], strides, dilation) -> np.ndarray:
    """im2col: every (kh, kw, C) window as one contiguous row, shape (oh·ow, kh·kw·C)."""
    (oh, ow), (sh, sw), (dh, dw) = out, strides, dilation
    view = sliding_window_view(xp, (effective_size(kh, dh), effective_size(kw, dw)), axis=(0, 1))
    view = view[: (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, :, ::dh, ::dw]  # (oh, ow, C, kh, kw)
    return np.ascontiguousarray(view.transpose(0, 1, 3, 4, 2)).reshape(oh * ow, kh * kw * xp.shape[2])


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1)) -> np.ndarray:
    """Keras Conv2D: cross-correlation (no flip), kernel (kh, kw, in, out), TF `same` split (docs/layers.md).

    y[i,j,o] = bias[o] + Σ_{a,b,c} xpad[i·s + a·d, j·s + b·d, c] · W[a,b,c,o]
    """
    x, kernel = _f32(x), _f32(kernel)
    h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    oh = conv_output_size(h, kh, sh, padding, dh)
    ow = conv_output_size(w, kw, sw, padding, dw)
    rows, cols = conv_padding(h, kh, sh, padding, dh), conv_padding(w, kw, sw, padding, dw)
    bias = None if bias is None else _f32(bias)
    if (sh, sw) == (1, 1):
        return _conv_stride1(x, kernel, bias, rows, cols, (dh, dw))
    xp = _pad(x, rows, cols)
    y = (_windows(xp, kh, kw, (oh, ow), (sh, sw), (dh, dw)) @ kernel.reshape(kh * kw * c, f)).reshape(oh, ow * f)
    if bias is not None:
        y += np.tile(bias, ow)  # one long row per output row: twice as fast as broadcasting (f,)
    return y.reshape(oh, ow, f)


def _conv_stride1(x: np.ndarray, kernel: np.ndarray, bias, rows, cols, dilation) -> np.ndarray:
    """Stride-1 convolution: im2col in bands of output rows, two threads taking bands in turn.

    Shaped by measurement (benchmarks/bench_core.py, 256×256×8 -> 16):
    - a band's input rows are copied channels-first into a small zero-bordered buffer (no padded copy
      of the image), so every (channel, ky, kx) row of the band's patch matrix is a run of contiguous
      input and the band's whole im2col is one fast copy (channels-last patches copy in runs of kw·C
      values: 3× slower);
    - the patches are kept (K, pixels) and each output row is one (ow, K) @ (K, f) product, all of a
      band's rows in one matmul call; a row of ones against the bias as the last weight row adds the
      bias inside the product;
    - such small products run on one OpenBLAS thread with the GIL released, so a second Python thread
      working on other bands uses the second core (OpenBLAS's own threading of larger products was
      slower: its threads share freshly written patches across cores at every band).
    """
    h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    (top, bottom), (left, right), (dh, dw) = rows, cols, dilation
    eh, ew = effective_size(kh, dh), effective_size(kw, dw)
    oh, ow = h + top + bottom - eh + 1, w + left + right - ew + 1
    k = kh * kw * c
    weights = kernel.transpose(2, 0, 1, 3).reshape(k, f)  # rows in (channel, ky, kx) order, as the patches
    if bias is not None:
        weights = np.concatenate([weights, bias[None]])
    y = np.empty((oh, ow, f), np.float32)
    band = min(oh, max(1, 4 * _BAND_VALUES // (ow * len(weights))))  # patches of ≤ 1 MB: one core's L2
    starts = iter(range(0, oh, band))  # shared by the threads: each takes the next band

    def compute_bands() -> None:
        band_in = np.zeros((c, band + eh - 1, w + left + right), np.float32)  # padding columns stay 0
        image_part = band_in[:, :, left : left + w]
        windows = sliding_window_view(band_in, (eh, ew), axis=(1, 2))[..., ::dh, ::dw].transpose(0, 3, 4, 1, 2)
        patches = np.empty((len(weights), band * ow), np.float32)
        patches[k:] = 1  # the bias's input
        im2col = patches[:k].reshape(c, kh, kw, band, ow)
        per_row = patches.reshape(-1, band, ow).transpose(1, 2, 0)  # (band, ow, K): one matrix per output row
        for r0 in starts:
            n = min(band, oh - r0)
            lo, hi = max(r0 - top, 0), min(r0 + n + eh - 1 - top, h)  # the image rows this band reads
            if hi - lo < n + eh - 1:  # the band reaches into the top or bottom padding
                band_in[:] = 0
            image_part[:, lo - (r0 - top) :][:, : hi - lo] = x[lo:hi].transpose(2, 0, 1)
            np.copyto(im2col[..., :n, :], windows[..., :n, :])
            np.matmul(per_row[:n], weights, out=y[r0 : r0 + n])

    # below 4 bands (~0.5 ms of work) starting the helper costs more than it saves
    if _THREADS > 1 and oh >= 4 * band and ow * len(weights) * f < _ONE_BLAS_THREAD:
        _with_helper_thread(compute_bands)
    else:
        compute_bands()
    return y


@functools.cache
def _helper() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnviz-ops")


def _with_helper_thread(task) -> None:
    """Run task() here and, if it starts soon, in a helper thread too (the two share their work through
    an iterator, so either one alone finishes it).

    This thread first waits a moment for the helper to run: a thread re-taking the GIL after each numpy
    call can otherwise finish most of the work before a waiting thread gets the GIL once. Not longer: on
    a busy machine the helper may get no core for milliseconds; it is then cancelled if it never started.
    """
    started = threading.Event()

    def helper() -> None:
        started.set()
        task()

    done = _helper().submit(helper)
    started.wait(_HELPER_START_S)
    task()
    if not done.cancel():
        done.result()


def conv2d_transpose(
    x, kernel, bias=None, strides=(1, 1), padding="valid", output_padding=None, dilation=(1, 1)
) -> np.ndarray:
    """Keras Conv2DTranspose: scatter-add without flip, kernel (kh, kw, out, in), Keras crop (docs/layers.md).

    full[i·s + a·d, j·s + b·d, o] += Σ_c x[i,j,c] · W[a,b,o,c];  y = full[top:top+O, left:left+O] + bias
    Rows/cols of y past the canvas F stay at the bias. The scatter writes straight into y: the parts of
    `full` outside the crop are never made.
    """
    x, kernel = _f32(x), _f32(kernel)
    h, w, c = x.shape
    kh, kw, f, _ = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    oph, opw = (None, None) if output_padding is None else output_padding
    oh = transpose_output_size(h, kh, sh, padding, oph, dh)
    ow = transpose_output_size(w, kw, sw, padding, opw, dw)
    top = transpose_crop(h, kh, sh, padding, oph, dh)
    left = transpose_crop(w, kw, sw, padding, opw, dw)
    y = np.empty((oh, ow, f), np.float32)
    y[...] = 0 if bias is None else _f32(bias)
    x2 = x.reshape(h * w, c)
    weights = np.ascontiguousarray(kernel.transpose(0, 1, 3, 2))  # (kh, kw, in, out)
    band = max(1, _BAND_VALUES // (w * f))  # input rows per pass: small products, one reused buffer
    part_buffer = np.empty((band * w, f), np.float32)
    col_ranges = [_scatter_range(w, b * dw, sw, left, ow) for b in range(kw)]
    for i0 in range(0, h, band):
        i1 = min(i0 + band, h)
        part = part_buffer[: (i1 - i0) * w]
        for a in range(kh):
            ilo, ihi = _scatter_range(h, a * dh, sh, top, oh)
            ilo, ihi = max(ilo, i0), min(ihi, i1 - 1)
            for b, (jlo, jhi) in enumerate(col_ranges):
                if ilo > ihi or jlo > jhi:
                    continue
                # the band's contribution through kernel offset (a, b), added at stride s
                np.matmul(x2[i0 * w : i1 * w], weights[a, b], out=part)
                r, q = ilo * sh + a * dh - top, jlo * sw + b * dw - left
                y[r : r + (ihi - ilo) * sh + 1 : sh, q : q + (jhi - jlo) * sw + 1 : sw] += part.reshape(
                    i1 - i0, w, f)[ilo - i0 : ihi - i0 + 1, jlo : jhi + 1]
    return y


def depthwise_conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1)) -> np.ndarray:
    """Keras DepthwiseConv2D: every input channel c convolved on its own with its M filters, kernel
    (kh, kw, in, M); output channel c·M + m (input channel major). Strides and dilation may both be > 1.

    y[i,j,c·M+m] = bias[c·M+m] + Σ_{a,b} xpad[i·s + a·d, j·s + b·d, c] · K[a,b,c,m]
    """
    x, kernel = _f32(x), _f32(kernel)
    h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    oh, ow = conv_output_size(h, kh, sh, padding, dh), conv_output_size(w, kw, sw, padding, dw)
    xp = _pad(x, conv_padding(h, kh, sh, padding, dh), conv_padding(w, kw, sw, padding, dw))
    view = sliding_window_view(xp, (effective_size(kh, dh), effective_size(kw, dw)), axis=(0, 1))
    view = view[: (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, :, ::dh, ::dw]  # (oh, ow, C, kh, kw)
    y = np.einsum("ijcab,abcm->ijcm", view, kernel, optimize=True).reshape(oh, ow, c * m)
    return y if bias is None else y + _f32(bias)


def _scatter_range(n: int, offset: int, s: int, crop: int, out: int) -> tuple[int, int]:
    """First and last input index i whose scatter target i·s + offset − crop lies in 0..out−1."""
    return max(0, -((offset - crop) // s)), min(n - 1, (out - 1 + crop - offset) // s)


def pool2d(x, pool_size=(2, 2), strides=None, padding="valid", mode="max") -> np.ndarray:
    """Keras Max/AveragePooling2D; under `same` the padded cells are ignored (docs/layers.md).

    Max treats padding as −∞; average divides by the number of real cells in each window.
    """
    x = _f32(x)
    h, w, c = x.shape
    kh, kw = pool_size
    sh, sw = pool_size if strides is None else strides
    oh = conv_output_size(h, kh, sh, padding)
    ow = conv_output_size(w, kw, sw, padding)
    prow, pcol = conv_padding(h, kh, sh, padding), conv_padding(w, kw, sw, padding)
    if mode == "max":
        xp = _pad(x, prow, pcol, -np.inf)
        return _reduce_windows(xp, (kh, kw), (oh, ow), (sh, sw), np.maximum)
    sums = _reduce_windows(_pad(x, prow, pcol), (kh, kw), (oh, ow), (sh, sw), np.add)
    counts = np.outer(_real_counts(h, kh, sh, oh, prow[0]), _real_counts(w, kw, sw, ow, pcol[0]))
    return sums / counts[:, :, None].astype(np.float32)


def _reduce_windows(xp, pool, out, strides, ufunc) -> np.ndarray:
    """ufunc-reduce every window. Max and sum are separable: reduce along columns, then along rows,
    one strided slice per pool offset (kh + kw slices in all)."""
    (kh, kw), (oh, ow), (sh, sw) = pool, out, strides
    cols = xp[:, : (ow - 1) * sw + 1 : sw, :].copy()
    for b in range(1, kw):
        ufunc(cols, xp[:, b : b + (ow - 1) * sw + 1 : sw, :], out=cols)
    acc = cols[: (oh - 1) * sh + 1 : sh].copy()
    for a in range(1, kh):
        ufunc(acc, cols[a : a + (oh - 1) * sh + 1 : sh], out=acc)
    return acc


def _real_counts(n: int, k: int, s: int, out: int, before: int) -> np.ndarray:
    """Per output position, how many of the k window cells along an axis lie inside the input."""
    start = np.arange(out) * s - before
    return np.minimum(start + k, n) - np.maximum(start, 0)


def bilinear_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-pixel-centre sources per output position: (i0, i1, w) with y = (1−w)·x[i0] + w·x[i1] (docs/layers.md)."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """R (n_out, n_in) with y = R · x along one axis; bilinear up-sampling is R_h · X · R_wᵀ."""
    i0, i1, wt = bilinear_weights(n_in, n_out)
    r = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(r, (rows, i0), 1 - wt)
    np.add.at(r, (rows, i1), wt)
    return r


def upsample2d(x, size=(2, 2), interpolation="nearest", rows=None) -> np.ndarray:
    """Keras UpSampling2D: `nearest` repeats, `bilinear` resizes with half-pixel centres (docs/layers.md).
    `rows` (o0, o1): only those output rows, each computed as in the whole result."""
    x = _f32(x)
    fh, fw = size
    oh = x.shape[0] * fh
    first, last = (0, oh) if rows is None else rows
    if interpolation == "nearest":
        picked = np.repeat(x, fh, axis=0) if rows is None else x[np.arange(first, last) // fh]
        return np.repeat(picked, fw, axis=1)
    return _bilinear(x, oh, x.shape[1] * fw, first, last)


def _bilinear(x: np.ndarray, oh: int, ow: int, first: int = 0, last: int | None = None) -> np.ndarray:
    """Y = R_h · X · R_wᵀ through the two non-zeros per row of each bilinear_matrix: a + w·(b − a) per
    axis (the form tf.image.resize uses), a gather rather than dense products. Bands of output rows keep
    the temporaries small; only the result is fresh memory. Output rows first..last−1 only."""
    h, w, c = x.shape
    last = oh if last is None else last
    i0, i1, wr = bilinear_weights(h, oh)
    j0, j1, wc = bilinear_weights(w, ow)
    wr, wc = wr.astype(np.float32)[:, None, None], wc.astype(np.float32)[None, :, None]
    y = np.empty((last - first, ow, c), np.float32)
    band = max(1, _BAND_VALUES // (ow * c))
    for r0 in range(first, last, band):
        r1 = min(r0 + band, last)
        rows = x[i0[r0:r1]]  # rows first: (band, w, c)
        rows += wr[r0:r1] * (x[i1[r0:r1]] - rows)
        out = y[r0 - first : r1 - first]  # then columns, straight into the result
        np.take(rows, j0, axis=1, out=out)
        right = np.take(rows, j1, axis=1)
        right -= out
        right *= wc
        out += right
    return y


def dropout(x, rate: float, mask=None) -> np.ndarray:
    """Inverted dropout (docs/layers.md): kept cells are scaled by 1/(1−rate), dropped ones are 0; no mask = identity."""
    x = _f32(x)
    if mask is None or rate == 0:
        return x.copy()
    return np.where(mask, x / np.float32(1 - rate), np.float32(0)).astype(np.float32)


def softmax(x) -> np.ndarray:
    """Softmax along the last axis (channels of a map, the entries of a vector), in the stable form
    exp(x − max) / Σ exp(x − max): [1000, 1001, 1002] gives what [1, 2, 3] gives."""
    x = _f32(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def leaky_relu(x, negative_slope: float) -> np.ndarray:
    """x where x > 0, negative_slope·x elsewhere."""
    x = _f32(x)
    return np.where(x > 0, x, np.float32(negative_slope) * x).astype(np.float32)


def dense(x, kernel, bias=None, name: str = "linear") -> np.ndarray:
    """Keras Dense: y = activation(x @ kernel + bias) on the last axis, kernel (in, units). On a map this is
    every cell's channels times the kernel: a 1×1 convolution."""
    y = _f32(x) @ _f32(kernel)
    if bias is not None:
        y += _f32(bias)
    return activation(y, name)


def activation(x, name: str) -> np.ndarray:
    """Activation by name: relu, sigmoid, tanh, linear (identity) or softmax (along the last axis)."""
    x = _f32(x)
    if name == "softmax":
        return softmax(x)
    if name == "relu":
        return np.maximum(x, np.float32(0))
    if name == "sigmoid":
        # exp of a non-positive number only: no overflow warning for large |x|.
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)
    if name == "tanh":
        return np.tanh(x)
    return x.copy()


__all__ = [
    "ACTIVATIONS",
    "INTERPOLATIONS",
    "POOL_MODES",
    "activation",
    "bilinear_matrix",
    "bilinear_weights",
    "conv2d",
    "conv2d_transpose",
    "dense",
    "depthwise_conv2d",
    "dropout",
    "leaky_relu",
    "pool2d",
    "softmax",
    "upsample2d",
]
