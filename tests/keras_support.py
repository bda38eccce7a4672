"""Import real Keras for the tests that compare against it, or skip them (Keras is not a dependency).

Keras 3 picks its backend at import time and defaults to TensorFlow; where TensorFlow is absent the tests
ask for the torch backend (unless KERAS_BACKEND is already set), so they run wherever keras and torch are.
"""

import importlib.util
import math
import os

import numpy as np
import pytest

from cnnviz.core.arithmetic import conv_padding, same_padding, transpose_output_size

# Keras's torch backend turns tensors into numpy with np.array(tensor); numpy 2 warns that torch's
# __array__ takes no `copy` argument. Noise from the two libraries, not from cnnviz.
QUIET_KERAS = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def import_keras():
    """The keras module, or a pytest skip when keras (or its backend) cannot be imported."""
    if importlib.util.find_spec("tensorflow") is None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def keras_average_pool_differs(keras, layer, input_shape) -> bool:
    """True for the one case where the Keras torch backend computes different numbers from Keras on
    TensorFlow (whose semantics cnnviz implements, docs/layers.md): AveragePooling2D `same` with uneven
    padding on an axis, which that backend pads by replicating edge cells (keras-team/keras#18452)."""
    if keras.backend.backend() != "torch" or type(layer).__name__ != "AveragePooling2D" or layer.padding != "same":
        return False
    return any(before != after for before, after in (
        same_padding(n, k, s) for n, k, s in zip(input_shape[:2], layer.pool_size, layer.strides)))


def keras_cannot_compute(keras, layer, input_shape=None) -> bool:
    """True where Keras on TensorFlow refuses to run a Conv2DTranspose cnnviz computes (the torch backend runs
    them all, with cnnviz's numbers): TensorFlow's CPU kernels have no dilated transposed convolution, and
    TensorFlow checks that a convolution of the requested output would give back the input size, which an
    explicit output_padding can break (an even kernel with `same` and output_padding 0, say)."""
    if keras.backend.backend() != "tensorflow" or type(layer).__name__ != "Conv2DTranspose":
        return False
    if max(layer.dilation_rate) > 1:
        return True
    if input_shape is None or layer.output_padding is None:
        return False
    for n, k, s, op in zip(input_shape[:2], layer.kernel_size, layer.strides, layer.output_padding):
        out = transpose_output_size(n, k, s, layer.padding, op)
        back = math.ceil(out / s) if layer.padding == "same" else (out - k) // s + 1
        if back != n:
            return True
    return False


def torch_layout_conv(keras, layer, x):
    """For a Conv2D under the Keras torch backend: torch's own conv2d of x in the plain (contiguous) layout,
    when torch gives different numbers for the channels-last tensors that backend hands it; else None.

    torch 2.13 on CPU gets channels-last conv2d wrong for one input channel, ≥ 2 filters, a kernel of at
    least 4×4, stride 1 along rows and > 1 along columns and a one-column output (it reads stale memory):
    Keras then shows garbage there, not a cnnviz mismatch. Compared with the plain layout instead."""
    if keras.backend.backend() != "torch" or type(layer).__name__ != "Conv2D":
        return None
    import torch
    import torch.nn.functional as F

    (top, bottom), (left, right) = (conv_padding(n, k, s, layer.padding, d) for n, k, s, d in
                                    zip(x.shape[:2], layer.kernel_size, layer.strides, layer.dilation_rate))
    xt = F.pad(torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None], (left, right, top, bottom))
    kt = torch.from_numpy(layer.kernel).permute(3, 2, 0, 1)
    args = dict(stride=layer.strides, dilation=layer.dilation_rate)
    plain = F.conv2d(xt.contiguous(), kt.contiguous(), **args)
    channels_last = F.conv2d(xt.contiguous(memory_format=torch.channels_last),
                             kt.contiguous(memory_format=torch.channels_last), **args)
    if torch.allclose(plain, channels_last, atol=1e-5):
        return None
    bias = 0 if layer.bias is None else layer.bias
    return plain[0].permute(1, 2, 0).numpy() + bias


def assert_keras_layers_match(keras, keras_layers, pipeline, x, atol=1e-5) -> int:
    """Feed each Keras layer cnnviz's own input for that layer (a batch of one) and compare its output with
    cnnviz's, layer by layer (so a mismatch names its layer). Returns how many layers were compared."""
    levels = pipeline.levels(x, pipeline.run(x))
    assert len(keras_layers) == len(pipeline.layers)
    compared = 0
    for klayer, layer, below, above in zip(keras_layers, pipeline.layers, levels, levels[1:]):
        assert klayer.name == layer.name
        if (keras_average_pool_differs(keras, layer, below.shape) or keras_cannot_compute(keras, layer, below.shape)
                or torch_layout_conv(keras, layer, below) is not None):
            continue
        y = keras.ops.convert_to_numpy(klayer(below[None], training=False))[0]
        assert y.shape == above.shape, layer.label
        np.testing.assert_allclose(y, above, atol=atol, rtol=1e-5, err_msg=layer.label)
        compared += 1
    return compared
