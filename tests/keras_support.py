"""Import real Keras for the tests that compare against it, or skip them (Keras is not a dependency).

Keras 3 picks its backend at import time and defaults to TensorFlow; where TensorFlow is absent the tests
ask for the torch backend (unless KERAS_BACKEND is already set), so they run wherever keras and torch are.
"""

import importlib.util
import os

import numpy as np
import pytest

from cnnviz.core.arithmetic import same_padding


def import_keras():
    """The keras module, or a pytest skip when keras (or its backend) cannot be imported."""
    if importlib.util.find_spec("tensorflow") is None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def keras_average_pool_differs(keras, layer, input_shape) -> bool:
    """True for the one case where the Keras torch backend computes different numbers from Keras on
    TensorFlow (whose semantics cnnviz implements, SEMANTICS.md §3): AveragePooling2D `same` with uneven
    padding on an axis, which that backend pads by replicating edge cells (keras-team/keras#18452)."""
    if keras.backend.backend() != "torch" or type(layer).__name__ != "AveragePooling2D" or layer.padding != "same":
        return False
    return any(before != after for before, after in (
        same_padding(n, k, s) for n, k, s in zip(input_shape[:2], layer.pool_size, layer.strides)))


def assert_keras_layers_match(keras, keras_layers, pipeline, x, atol=1e-5) -> int:
    """Feed each Keras layer cnnviz's own input for that layer (a batch of one) and compare its output with
    cnnviz's, layer by layer (so a mismatch names its layer). Returns how many layers were compared."""
    levels = pipeline.levels(x, pipeline.run(x))
    assert len(keras_layers) == len(pipeline.layers)
    compared = 0
    for klayer, layer, below, above in zip(keras_layers, pipeline.layers, levels, levels[1:]):
        assert klayer.name == layer.name
        if keras_average_pool_differs(keras, layer, below.shape):
            continue
        y = keras.ops.convert_to_numpy(klayer(below[None], training=False))[0]
        assert y.shape == above.shape, layer.label
        np.testing.assert_allclose(y, above, atol=atol, rtol=1e-5, err_msg=layer.label)
        compared += 1
    return compared
