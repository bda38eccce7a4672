"""Vector-Jacobian products of every layer's maths on a batch: given the input x and the upstream
gradient dy = ∂L/∂y, return dx = ∂L/∂x and the weight gradients (Keras layouts).

What TensorFlow computes for Keras, including its ties and kinks (docs/training.md): a max-pooling window
sends its gradient to its first maximum in row-major order and overlapping windows add; a global max
splits it among tied maxima; ReLU's slope at 0 is 0, a leaky ReLU's is its negative slope. For a
convolution dW is the window matrix (im2col) transposed times dy and dx is the transposed convolution
of dy (its scatter back through the kernel). Loops run over kernel or pool offsets only.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core import batch_ops as B


def _padded_shape(shape, rows, cols):
    n, h, w, c = shape
    return n, h + sum(rows), w + sum(cols), c


def conv2d(x, dy, kernel, strides=(1, 1), padding="valid", dilation=(1, 1), need_dx=True):
    """(dx, dkernel, dbias) of Conv2D: dW = colsᵀ·dy, db = Σ dy, dx = dy scattered back through W
    (dx is None when not needed: the lowest trained layer)."""
    kh, kw, c, f = kernel.shape
    out, rows, cols = B.conv_geometry(x.shape, (kh, kw), strides, padding, dilation)
    dy2 = dy.reshape(-1, f)
    dkernel = (B.window_matrix(x, (kh, kw), strides, padding, dilation).T @ dy2).reshape(kernel.shape)
    if not need_dx:
        return None, dkernel, dy2.sum(axis=0)
    # the transposed convolution of dy: each window's share of dy through W, added back where it was read
    dwin = (dy2 @ kernel.reshape(-1, f).T).reshape(x.shape[0], *out, kh, kw, c)
    dxp = B.scatter_windows(dwin, _padded_shape(x.shape, rows, cols), strides, dilation)
    return B.crop_hw(dxp, rows, cols), dkernel, dy2.sum(axis=0)


def conv2d_transpose(x, dy, kernel, strides=(1, 1), padding="valid", output_padding=None, dilation=(1, 1)):
    """(dx, dkernel, dbias) of Conv2DTranspose: dy is put back on the scatter canvas (cropped rows and
    the appended zero rows get none), then read through the kernel as a strided Conv2D reads its input."""
    n, h, w, c = x.shape
    kh, kw, f, _ = kernel.shape
    (oh, ow), (top, left), canvas = B.transpose_geometry(x.shape, (kh, kw), strides, padding, output_padding,
                                                         dilation)
    dfull = np.zeros((n, *canvas, f), dy.dtype)
    dfull[:, top : top + oh, left : left + ow] = dy
    dwin = B.windows(dfull, (kh, kw), (h, w), strides, dilation).reshape(n * h * w, kh * kw * f)  # (a, b, o)
    weights = kernel.reshape(kh * kw * f, c)  # rows in (a, b, o) order, as the windows' columns
    dx = (dwin @ weights).reshape(x.shape)
    dkernel = (dwin.T @ x.reshape(-1, c)).reshape(kernel.shape)
    return dx, dkernel, dy.reshape(-1, f).sum(axis=0)


def depthwise_conv2d(x, dy, kernel, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """(dx, dkernel, dbias) of DepthwiseConv2D (output channel c·M + m)."""
    kh, kw, c, m = kernel.shape
    out, rows, cols = B.conv_geometry(x.shape, (kh, kw), strides, padding, dilation)
    view = B.windows(B.pad_hw(x, rows, cols), (kh, kw), out, strides, dilation)
    dy5 = dy.reshape(*dy.shape[:3], c, m)
    dkernel = np.einsum("nijabc,nijcm->abcm", view, dy5, optimize=True)
    dwin = np.einsum("nijcm,abcm->nijabc", dy5, kernel, optimize=True)
    dxp = B.scatter_windows(dwin, _padded_shape(x.shape, rows, cols), strides, dilation)
    return B.crop_hw(dxp, rows, cols), dkernel, dy.reshape(-1, c * m).sum(axis=0)


def pool2d(x, dy, pool_size=(2, 2), strides=None, padding="valid", mode="max") -> np.ndarray:
    """dx of Max/AveragePooling2D. Max: each window's dy goes to its first maximum (row-major);
    average: dy/count to every real cell. Overlapping windows add; padded cells get nothing."""
    strides = pool_size if strides is None else strides
    kh, kw = pool_size
    (oh, ow), rows, cols = B.pool_geometry(x.shape, pool_size, strides, padding)
    n, c = x.shape[0], x.shape[3]
    if mode == "max":
        cells, (index, hp, wp) = B.max_pool_cells(x, pool_size, strides, padding)
        first = cells.argmax(axis=-1)  # (N, C, oh·ow): the first maximum of each window, row-major
        cell = index[np.arange(oh * ow), first]  # its padded-cell number
        flat = (np.arange(n)[:, None, None] * (hp * wp) + cell) * c + np.arange(c)[:, None]
        # overlapping windows add: bincount sums every window's dy on its cell
        dyt = dy.reshape(n, oh * ow, c).transpose(0, 2, 1)
        dxp = np.bincount(flat.ravel(), dyt.ravel(), minlength=n * hp * wp * c).reshape(n, hp, wp, c)
        return B.crop_hw(dxp.astype(dy.dtype, copy=False), rows, cols)
    share = dy / B.real_counts(x.shape, pool_size, strides, padding).astype(dy.dtype)
    dwin = np.broadcast_to(share[:, :, :, None, None, :], (n, oh, ow, kh, kw, c))
    return B.crop_hw(B.scatter_windows(dwin, _padded_shape(x.shape, rows, cols), strides), rows, cols)


def global_pool(x, dy, mode="average", keepdims=False) -> np.ndarray:
    """dx of GlobalAverage/MaxPooling2D: dy/(H·W) everywhere, or dy split equally among tied maxima."""
    dy = dy.reshape(x.shape[0], 1, 1, x.shape[3])
    if mode == "average":
        return np.broadcast_to(dy / dy.dtype.type(x.shape[1] * x.shape[2]), x.shape).copy()
    tied = x == x.max(axis=(1, 2), keepdims=True)
    return np.where(tied, dy / tied.sum(axis=(1, 2), keepdims=True).astype(dy.dtype), dy.dtype.type(0))


def upsample2d(x, dy, size=(2, 2), interpolation="nearest") -> np.ndarray:
    """dx of UpSampling2D: nearest sums each fh×fw block; bilinear is R_hᵀ · dy · R_w per channel."""
    n, h, w, c = x.shape
    fh, fw = size
    if interpolation == "nearest":
        return dy.reshape(n, h, fh, w, fw, c).sum(axis=(2, 4))
    rh, rw = (B.bilinear_matrix(m, m * f).astype(dy.dtype) for m, f in ((h, fh), (w, fw)))
    return np.einsum("ph,npqc,qw->nhwc", rh, dy, rw, optimize=True)


def dropout(dy, rate: float, mask=None) -> np.ndarray:
    """dx of Dropout: the forward pass's own mask, scaled by 1/(1 − rate); identity without a mask."""
    return B.dropout(dy, rate, mask)


def activation(x, dy, name: str, negative_slope: float = 0.2) -> np.ndarray:
    """dx of an element-wise activation (or softmax along the last axis)."""
    zero = x.dtype.type(0)
    if name == "relu":
        return np.where(x > zero, dy, zero)  # TF: the gradient at exactly 0 is 0
    if name == "leaky_relu":
        return np.where(x > zero, dy, dy * dy.dtype.type(negative_slope))  # at 0: the slope
    if name == "sigmoid":
        y = B.sigmoid(x)
        return dy * y * (1 - y)
    if name == "tanh":
        return dy * (1 - np.tanh(x) ** 2)
    if name == "softmax":
        return softmax(B.softmax(x), dy)
    return dy.copy()


def softmax(y, dy, axis=-1) -> np.ndarray:
    """dx of a softmax from its output y: y ⊙ (dy − Σ dy·y) along `axis`."""
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def dense(x, dy, kernel):
    """(dx, dkernel, dbias) of Dense: dx = dy·Wᵀ; dW = Xᵀ·dY and db = Σ dY over every leading axis."""
    x2, dy2 = x.reshape(-1, kernel.shape[0]), dy.reshape(-1, kernel.shape[1])
    return dy @ kernel.T, x2.T @ dy2, dy2.sum(axis=0)


def batch_norm(x, dy, gamma, mean, variance, epsilon):
    """(dx, dgamma, dbeta) of BatchNormalization at inference (moving statistics are constants)."""
    axes = tuple(range(x.ndim - 1))
    inv = 1 / np.sqrt(variance + x.dtype.type(epsilon))
    scale = inv if gamma is None else gamma * inv
    return dy * scale.astype(dy.dtype), (dy * (x - mean) * inv).sum(axis=axes), dy.sum(axis=axes)


def batch_norm_training(x, dy, gamma, epsilon):
    """(dx, dgamma, dbeta) of BatchNormalization on batch statistics (mean and biased variance of this
    batch over every axis but the channels), the gradient flowing through the statistics too."""
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    inv = 1 / np.sqrt(x.var(axis=axes) + x.dtype.type(epsilon))
    xhat = (x - mean) * inv
    dgamma, dbeta = (dy * xhat).sum(axis=axes), dy.sum(axis=axes)
    dxhat = dy if gamma is None else dy * gamma
    dx = inv * (dxhat - dxhat.mean(axis=axes) - xhat * (dxhat * xhat).mean(axis=axes))
    return dx.astype(dy.dtype, copy=False), dgamma, dbeta
