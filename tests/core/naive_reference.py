"""Naive loop references for the core ops, written straight from docs/layers.md (no shared code with
cnnviz.core, so a wrong formula there cannot hide in both)."""

from __future__ import annotations

import math

import numpy as np

# The lecture's worked example (docs/layers.md): x = arange(36) as 6×6×1 and the vertical-edge kernel (kh, kw, in, out).
X36 = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
EDGE = np.array([[1, 0, -1]] * 3, dtype=np.float32).reshape(3, 3, 1, 1)


def same_split(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    ke = d * (k - 1) + 1
    out = math.ceil(n / s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, bias, strides, padding, dilation):
    h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    if padding == "same":
        (top, _), (left, _) = same_split(h, kh, sh, dh), same_split(w, kw, sw, dw)
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
    else:
        top = left = 0
        oh = (h - (dh * (kh - 1) + 1)) // sh + 1
        ow = (w - (dw * (kw - 1) + 1)) // sw + 1
    y = np.zeros((oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for o in range(f):
                total = 0.0 if bias is None else float(bias[o])
                for a in range(kh):
                    for b in range(kw):
                        r, q = i * sh + a * dh - top, j * sw + b * dw - left
                        if 0 <= r < h and 0 <= q < w:
                            for ch in range(c):
                                total += float(x[r, q, ch]) * float(kernel[a, b, ch, o])
                y[i, j, o] = total
    return y


def transpose_shape(n, k, s, padding, op, d=1):
    """(output size, top crop) per docs/layers.md (Conv2DTranspose)."""
    ke = d * (k - 1) + 1
    full = (n - 1) * s + ke
    if padding == "valid":
        return (n - 1) * s + ke + (max(ke, s) - ke if op is None else op), 0
    out = n * s if op is None else (n - 1) * s + ke % 2 + op
    return out, max(full - out, 0) // 2


def conv2d_transpose(x, kernel, bias, strides, padding, output_padding, dilation):
    h, w, c = x.shape
    kh, kw, f, _ = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    oph, opw = (None, None) if output_padding is None else output_padding
    oh, top = transpose_shape(h, kh, sh, padding, oph, dh)
    ow, left = transpose_shape(w, kw, sw, padding, opw, dw)
    full = np.zeros(((h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1, f))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    for o in range(f):
                        for ch in range(c):
                            full[i * sh + a * dh, j * sw + b * dw, o] += float(x[i, j, ch]) * float(kernel[a, b, o, ch])
    y = np.zeros((oh, ow, f))
    for r in range(oh):
        for q in range(ow):
            if r + top < full.shape[0] and q + left < full.shape[1]:
                y[r, q] = full[r + top, q + left]
    return y if bias is None else y + bias


def pool2d(x, pool_size, strides, padding, mode):
    h, w, c = x.shape
    kh, kw = pool_size
    sh, sw = pool_size if strides is None else strides
    if padding == "same":
        (top, _), (left, _) = same_split(h, kh, sh), same_split(w, kw, sw)
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
    else:
        top = left = 0
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.zeros((oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            for ch in range(c):
                cells = [
                    float(x[r, q, ch])
                    for r in range(i * sh - top, i * sh - top + kh)
                    for q in range(j * sw - left, j * sw - left + kw)
                    if 0 <= r < h and 0 <= q < w
                ]
                y[i, j, ch] = max(cells) if mode == "max" else sum(cells) / len(cells)
    return y


def bilinear(x, size):
    h, w, c = x.shape
    fh, fw = size
    y = np.zeros((h * fh, w * fw, c))

    def source(dst, n_in, n_out):
        src = min(max((dst + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1)
        i0 = int(math.floor(src))
        return i0, min(i0 + 1, n_in - 1), src - i0

    for r in range(h * fh):
        r0, r1, wr = source(r, h, h * fh)
        for q in range(w * fw):
            c0, c1, wc = source(q, w, w * fw)
            y[r, q] = ((1 - wr) * ((1 - wc) * x[r0, c0] + wc * x[r0, c1])
                       + wr * ((1 - wc) * x[r1, c0] + wc * x[r1, c1]))
    return y


def nearest(x, size):
    h, w, c = x.shape
    fh, fw = size
    y = np.zeros((h * fh, w * fw, c))
    for r in range(h * fh):
        for q in range(w * fw):
            y[r, q] = x[r // fh, q // fw]
    return y


def flatten(x):
    """Row by row, channels of a cell side by side: flat[(r·W + c)·C + ch] = x[r, c, ch]."""
    if x.ndim == 1:
        return np.array(x, dtype=np.float64)
    h, w, c = x.shape
    flat = np.zeros(h * w * c)
    for r in range(h):
        for q in range(w):
            for ch in range(c):
                flat[(r * w + q) * c + ch] = x[r, q, ch]
    return flat


def _apply(values, activation):
    """One vector of pre-activation sums through an activation (softmax over the whole vector)."""
    if activation == "softmax":
        top = max(values)
        e = [math.exp(v - top) for v in values]
        return [v / sum(e) for v in e]
    f = {"linear": lambda v: v, "relu": lambda v: max(v, 0.0), "tanh": math.tanh,
         "sigmoid": lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))}[activation]
    return [f(v) for v in values]


def dense(x, kernel, bias, activation="linear"):
    """y[..., u] = f(Σ_i x[..., i]·W[i, u] + b[u]) on the last axis (a map: every cell on its own)."""
    x = np.asarray(x, dtype=np.float64)
    positions = np.ndindex(*x.shape[:-1])
    n_in, units = kernel.shape
    y = np.zeros((*x.shape[:-1], units))
    for where in positions:
        sums = [sum(float(x[where + (i,)]) * float(kernel[i, u]) for i in range(n_in))
                + (0.0 if bias is None else float(bias[u])) for u in range(units)]
        y[where] = _apply(sums, activation)
    return y


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    y = np.zeros(x.shape)
    for where in np.ndindex(*x.shape[:-1]):
        y[where] = _apply(list(x[where]), "softmax")
    return y


def leaky_relu(x, slope):
    return np.array([v if v > 0 else slope * v for v in np.asarray(x, np.float64).ravel()]).reshape(np.shape(x))


def global_pool(x, mode):
    h, w, c = x.shape
    cells = [[float(x[r, q, ch]) for r in range(h) for q in range(w)] for ch in range(c)]
    return np.array([max(v) if mode == "max" else sum(v) / len(v) for v in cells])


def zero_pad(x, sides):
    (top, bottom), (left, right) = sides
    h, w, c = x.shape
    y = np.zeros((h + top + bottom, w + left + right, c))
    for r in range(h):
        for q in range(w):
            y[r + top, q + left] = x[r, q]
    return y


def crop(x, sides):
    (top, bottom), (left, right) = sides
    h, w, c = x.shape
    return np.array([[x[r, q] for q in range(left, w - right)] for r in range(top, h - bottom)], dtype=np.float64)


def depthwise_conv2d(x, kernel, bias, strides, padding, dilation):
    """Each input channel c through its own filters m: output channel c·M + m."""
    h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    out = []
    for ch in range(c):
        for k in range(m):
            single = kernel[:, :, ch : ch + 1, k : k + 1]
            out.append(conv2d(x[:, :, ch : ch + 1], single, None, strides, padding, dilation)[:, :, 0])
    y = np.stack(out, axis=2)
    return y if bias is None else y + bias


def batch_norm(x, gamma, beta, mean, variance, epsilon):
    """The textbook order, per channel (last axis): γ·(x − μ)/√(σ² + ε) + β; None for γ is 1, for β is 0."""
    x = np.asarray(x, np.float64)
    y = np.zeros(x.shape)
    for where in np.ndindex(*x.shape):
        c = where[-1]
        g = 1.0 if gamma is None else float(gamma[c])
        b = 0.0 if beta is None else float(beta[c])
        y[where] = g * (x[where] - float(mean[c])) / math.sqrt(float(variance[c]) + epsilon) + b
    return y
