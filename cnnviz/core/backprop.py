"""Backpropagation written out for one input: every level's dL/dy, every layer's weight gradients, and the
sums that make single numbers of them (docs/training.md, "Batches and backward passes").

For a Conv2D, one weight's gradient is a sum over the window positions,
    dL/dW[a, b, c, o] = Σ_ij x_pad[i·s + a·d, j·s + b·d, c] · dy[i, j, o],
and one input cell's gradient gathers from every output that read it (the transposed convolution of dy),
    dL/dx[r, q, c] = Σ W[a, b, c, o] · dy[i, j, o]  over every (i, j, a, b, o) with i·s + a·d − top = r, ….
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.arithmetic import conv_padding
from cnnviz.core.layers import Conv2D
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.training.losses import get_loss


@dataclass(frozen=True)
class LayerGradients:
    x: np.ndarray  # the layer's input (one image, no batch axis)
    y: np.ndarray  # its output
    dy: np.ndarray  # dL/dy (of the logits, for a final softmax or sigmoid under a crossentropy)
    dx: np.ndarray  # dL/dx
    grads: list  # dL/dW for each array of get_weights()


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
    return float(value), [LayerGradients(inputs[i][0], outputs[i][0], np.asarray(dys[i])[0], np.asarray(dxs[i])[0],
                                         [np.asarray(g) for g in grads_by_layer[i]]) for i in range(len(layers))]


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
    (kh, kw), (sh, sw), (dh, dw), (top, left) = _geometry(layer, x_shape)
    terms = []
    for o in range(dy.shape[2]):
        for a in range(kh):
            for b in range(kw):
                i, j = r + top - a * dh, q + left - b * dw
                if i % sh or j % sw:
                    continue
                i, j = i // sh, j // sw
                if 0 <= i < dy.shape[0] and 0 <= j < dy.shape[1]:
                    terms.append((i, j, o, a, b, float(kernel[a, b, c, o]), float(dy[i, j, o])))
    return terms
