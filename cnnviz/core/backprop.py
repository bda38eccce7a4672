"""Backpropagation written out for one input: every level's dL/dy, every layer's weight gradients, and the
sums that make single numbers of them (docs/training.md, "Batches and backward passes").

For a Conv2D, one weight's gradient is a sum over the window positions,
    dL/dW[a, b, c, o] = Σ_ij x_pad[i·s + a·d, j·s + b·d, c] · dy[i, j, o],
and one input cell's gradient gathers from every output that read it (the transposed convolution of dy),
    dL/dx[r, q, c] = Σ W[a, b, c, o] · dy[i, j, o]  over every (i, j, a, b, o) with i·s + a·d − top = r, ….
A DepthwiseConv2D is the same sum with channel c's own filters only (output o = c·M + m); a Conv2DTranspose
runs it the other way round (its input cell (i, j) reached output i·s + a·d − crop through tap a); a Dense's
weight is x[i] · dz[j] (dz: dL/d of its pre-activation sums), a bias is Σ dz over the cells, and a
BatchNormalization's γ is Σ x̂ · dy with x̂ = (x − μ)/√(σ² + ε).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core import grad_ops
from cnnviz.core.arithmetic import conv_padding, transpose_crop
from cnnviz.core.layers import Conv2D, Dense
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.training.losses import get_loss


@dataclass(frozen=True)
class LayerGradients:
    x: np.ndarray  # the layer's input (one image, no batch axis)
    y: np.ndarray  # its output
    dy: np.ndarray  # dL/dy (of the logits, for a final softmax or sigmoid under a crossentropy)
    dx: np.ndarray  # dL/dx
    grads: list  # dL/dW for each array of get_weights()
    dz: np.ndarray | None = None  # a Dense's dL/d(x·W + b), its pre-activation sums (dy for a linear one)


def backward_pass(pipeline: Pipeline, x: np.ndarray, target, loss="mean_squared_error",
                  training: bool = False) -> tuple[float, list[LayerGradients]]:
    """The loss of one input against `target` and every layer's gradients, in float64 so the written-out
    sums agree with them to the printed digits. A crossentropy after a final softmax is taken from the
    logits, as the Trainer does."""
    loss = get_loss(loss)
    pipeline.build()
    layers = pipeline.layers
    last = layers[-1]
    head = getattr(last, "logits_activation", lambda: None)() and loss.CROSSENTROPY and not loss.from_logits
    inputs, current = [], np.asarray(x, np.float64)[None]
    for layer in layers:
        inputs.append(current)
        current = layer.forward(current, training)
    outputs = inputs[1:] + [current]
    logits = last.forward_logits(inputs[-1], training) if head else None
    value, dy = loss.value_and_grad(np.asarray(target)[None], current, logits)
    grads_by_layer, dys = [None] * len(layers), [None] * len(layers)
    dxs = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        if i == len(layers) - 1 and head:
            dxs[i], grads_by_layer[i] = layer.backward_logits(inputs[i], dy, training)
            dys[i] = dy  # for a softmax head: dL/dz of its logits (p − t), what the lecture draws
        else:
            dys[i] = dy
            dxs[i], grads_by_layer[i] = layer.backward(inputs[i], dy, training)
        dy = dxs[i]
    dzs = [_pre_activation_grad(layer, inputs[i], dys[i], i == len(layers) - 1 and head)
           for i, layer in enumerate(layers)]
    return float(value), [LayerGradients(inputs[i][0], outputs[i][0], np.asarray(dys[i])[0], np.asarray(dxs[i])[0],
                                         [np.asarray(g) for g in grads_by_layer[i]],
                                         None if dzs[i] is None else np.asarray(dzs[i])[0])
                          for i in range(len(layers))]


def _pre_activation_grad(layer, x, dy, head: bool):
    """A Dense's gradient at its sums x·W + b: dy itself for a linear one or a softmax head (dy is already
    of the logits there), otherwise dy through the activation's derivative."""
    if not isinstance(layer, Dense):
        return None
    if head or layer.activation == "linear":
        return dy
    return grad_ops.activation(layer.forward_logits(x), dy, layer.activation)


def _geometry(layer: Conv2D, x_shape):
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    top, _ = conv_padding(x_shape[0], kh, sh, layer.padding, dh)
    left, _ = conv_padding(x_shape[1], kw, sw, layer.padding, dw)
    return (kh, kw), (sh, sw), (dh, dw), (top, left)


def weight_gradient_terms(layer: Conv2D, x: np.ndarray, dy: np.ndarray, a: int, b: int, c: int, o: int) -> list:
    """[(i, j, r, q, x value, dy value)] for dL/dW[a, b, c, o]: output cell (i, j) read input cell (r, q) with
    this weight (x = 0 where (r, q) is padding, r or q then outside the input)."""
    _, (sh, sw), (dh, dw), (top, left) = _geometry(layer, x.shape)
    terms = []
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            r, q = i * sh + a * dh - top, j * sw + b * dw - left
            inside = 0 <= r < x.shape[0] and 0 <= q < x.shape[1]
            terms.append((i, j, r, q, float(x[r, q, c]) if inside else 0.0, float(dy[i, j, o])))
    return terms


def input_gradient_terms(layer: Conv2D, x_shape, kernel: np.ndarray, dy: np.ndarray, r: int, q: int, c: int) -> list:
    """[(i, j, o, a, b, weight, dy value)] for dL/dx[r, q, c]: every output cell whose window read input cell
    (r, q) of channel c, with the weight that read it."""
    reads = _readers(layer, x_shape, dy.shape, r, q)
    return [(i, j, o, a, b, float(kernel[a, b, c, o]), float(dy[i, j, o]))
            for o in range(dy.shape[2]) for i, j, a, b in reads]


def _readers(layer, x_shape, dy_shape, r: int, q: int) -> list:
    """[(i, j, a, b)]: the output cells (i, j) whose window read input cell (r, q), through tap (a, b)."""
    (kh, kw), (sh, sw), (dh, dw), (top, left) = _geometry(layer, x_shape)
    reads = []
    for a in range(kh):
        for b in range(kw):
            i, j = r + top - a * dh, q + left - b * dw
            if i % sh or j % sw:
                continue
            i, j = i // sh, j // sw
            if 0 <= i < dy_shape[0] and 0 <= j < dy_shape[1]:
                reads.append((i, j, a, b))
    return reads


def depthwise_input_gradient_terms(layer, x_shape, kernel: np.ndarray, dy: np.ndarray, r: int, q: int,
                                   c: int) -> list:
    """[(i, j, o, a, b, weight, dy value)] for dL/dx[r, q, c] of a DepthwiseConv2D: only channel c's own filters
    m read it, whose outputs are o = c·M + m. (Its weight terms are weight_gradient_terms with that o.)"""
    m_count = kernel.shape[3]
    reads = _readers(layer, x_shape, dy.shape, r, q)
    return [(i, j, c * m_count + m, a, b, float(kernel[a, b, c, m]), float(dy[i, j, c * m_count + m]))
            for m in range(m_count) for i, j, a, b in reads]


def _crops(layer, x_shape) -> tuple[int, int]:
    return tuple(transpose_crop(x_shape[axis], **layer.axis_geometry(axis)) for axis in (0, 1))


def transpose_weight_terms(layer, x: np.ndarray, dy: np.ndarray, a: int, b: int, o: int, c: int) -> list:
    """[(i, j, r, q, x value, dy value)] for dL/dW[a, b, o, c] of a Conv2DTranspose (Keras's kernel layout:
    rows, cols, filters, input channels): input cell (i, j) added x·W[a, b, o, c] into output cell
    (r, q) = (i·s + a·d − top, j·s + b·d − left). Copies the crop cut off reached no output and are left out."""
    (sh, sw), (dh, dw) = layer.strides, layer.dilation_rate
    top, left = _crops(layer, x.shape)
    terms = []
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            r, q = i * sh + a * dh - top, j * sw + b * dw - left
            if 0 <= r < dy.shape[0] and 0 <= q < dy.shape[1]:
                terms.append((i, j, r, q, float(x[i, j, c]), float(dy[r, q, o])))
    return terms


def transpose_input_gradient_terms(layer, x_shape, kernel: np.ndarray, dy: np.ndarray, i: int, j: int,
                                   c: int) -> list:
    """[(r, q, o, a, b, weight, dy value)] for dL/dx[i, j, c] of a Conv2DTranspose: every output cell (r, q) of
    filter o the input cell scattered into, through W[a, b, o, c] (a strided convolution of dy)."""
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    top, left = _crops(layer, x_shape)
    terms = []
    for o in range(dy.shape[2]):
        for a in range(kh):
            for b in range(kw):
                r, q = i * sh + a * dh - top, j * sw + b * dw - left
                if 0 <= r < dy.shape[0] and 0 <= q < dy.shape[1]:
                    terms.append((r, q, o, a, b, float(kernel[a, b, o, c]), float(dy[r, q, o])))
    return terms


def dense_weight_terms(x: np.ndarray, dz: np.ndarray, i: int, j: int) -> list:
    """[(cell, x value, dz value)] for dL/dW[i, j] of a Dense: on a vector the one product x[i]·dz[j] (dL/dW is
    the outer product x ⊗ dz); on a map one product per cell (cell = (r, q)), as a 1×1 convolution."""
    return [(cell, float(x[cell + (i,)]), float(dz[cell + (j,)])) for cell in np.ndindex(x.shape[:-1])]


def dense_input_gradient_terms(kernel: np.ndarray, dz: np.ndarray, cell: tuple, i: int) -> list:
    """[(j, weight, dz value)] for dL/dx[cell + (i,)] of a Dense: every unit j its input i fed, through W[i, j]."""
    return [(j, float(kernel[i, j]), float(dz[tuple(cell) + (j,)])) for j in range(kernel.shape[1])]


def bias_gradient_terms(dz: np.ndarray, o: int) -> list:
    """[(cell, dz value)] for dL/db[o]: the bias was added to every cell of output channel o, so its gradient is
    the sum of that channel's dy (a Dense's dz)."""
    return [(cell, float(dz[cell + (o,)])) for cell in np.ndindex(dz.shape[:-1])]


def batch_norm_gamma_terms(layer, x: np.ndarray, dy: np.ndarray, c: int, training: bool = False) -> list:
    """[(cell, x̂ value, dy value)] for dL/dγ[c] of a BatchNormalization, x̂ = (x − μ)/√(σ² + ε): the moving
    statistics at inference, this input's own mean and (biased) variance of the channel when training."""
    channel = np.asarray(x, np.float64)[..., c]
    if training:
        mean, variance = channel.mean(), channel.var()
    else:
        mean, variance = float(layer.moving_mean[c]), float(layer.moving_variance[c])
    xhat = (channel - mean) / np.sqrt(variance + layer.epsilon)
    return [(cell, float(xhat[cell]), float(dy[cell + (c,)])) for cell in np.ndindex(channel.shape)]
