"""Hypothesis strategies for random layers and pipelines of every layer type, for tests that need any
pipeline at all (the summary's counts), not one op's corner cases."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from cnnviz.core import LAYER_TYPES, ConfigError, Pipeline

small_pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
paddings = st.sampled_from(["valid", "same"])


@st.composite
def strides_or_dilation(draw):
    """Keras allows strides > 1 or dilation > 1, not both."""
    if draw(st.booleans()):
        return draw(small_pair), (1, 1)
    return (1, 1), draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))


def _conv(draw) -> dict:
    strides, dilation = draw(strides_or_dilation())
    return dict(filters=draw(st.integers(1, 3)), kernel_size=draw(small_pair), strides=strides,
                padding=draw(paddings), dilation_rate=dilation, use_bias=draw(st.booleans()))


@st.composite
def sides(draw, most: int):
    """An int, a (rows, cols) pair or ((top, bottom), (left, right)), as ZeroPadding2D and Cropping2D take."""
    n = st.integers(0, most)
    return draw(st.one_of(n, st.tuples(n, n), st.tuples(st.tuples(n, n), st.tuples(n, n))))


def _depthwise(draw) -> dict:
    strides, dilation = draw(strides_or_dilation())
    return dict(kernel_size=draw(small_pair), strides=(strides[0], strides[0]), padding=draw(paddings),
                depth_multiplier=draw(st.integers(1, 2)), dilation_rate=dilation, use_bias=draw(st.booleans()))


# Keyword arguments of every layer type, drawn: a test checks that every registered type is here.
KWARGS = {
    "Conv2D": _conv,
    "Conv2DTranspose": _conv,
    "MaxPooling2D": lambda draw: dict(pool_size=draw(small_pair), strides=draw(st.none() | small_pair),
                                      padding=draw(paddings)),
    "AveragePooling2D": lambda draw: dict(pool_size=draw(small_pair), padding=draw(paddings)),
    "UpSampling2D": lambda draw: dict(size=draw(small_pair),
                                      interpolation=draw(st.sampled_from(["nearest", "bilinear"]))),
    "Dropout": lambda draw: dict(rate=draw(st.sampled_from([0.0, 0.25, 0.5]))),
    "ReLU": lambda draw: {},
    "Activation": lambda draw: dict(activation=draw(st.sampled_from(["relu", "sigmoid", "tanh", "linear", "softmax"]))),
    "Flatten": lambda draw: {},
    "Dense": lambda draw: dict(units=draw(st.integers(1, 4)), use_bias=draw(st.booleans()),
                               activation=draw(st.sampled_from([None, "relu", "softmax"]))),
    "Softmax": lambda draw: {},
    "LeakyReLU": lambda draw: dict(negative_slope=draw(st.sampled_from([0.0, 0.1, 0.3]))),
    "GlobalAveragePooling2D": lambda draw: {},
    "GlobalMaxPooling2D": lambda draw: {},
    "ZeroPadding2D": lambda draw: dict(padding=draw(sides(2))),
    "Cropping2D": lambda draw: dict(cropping=draw(sides(1))),
    "DepthwiseConv2D": _depthwise,
    "BatchNormalization": lambda draw: dict(epsilon=draw(st.sampled_from([0.001, 0.01])), center=draw(st.booleans()),
                                            scale=draw(st.booleans())),
}


@st.composite
def pipelines(draw, kinds=tuple(LAYER_TYPES), max_layers: int = 4):
    """One to `max_layers` random layers of `kinds` that fit a random input, built (random weights)."""
    shape = draw(st.tuples(st.integers(3, 9), st.integers(3, 9), st.integers(1, 3)))
    layers = []
    for _ in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(kinds))
        try:
            layers.append(LAYER_TYPES[kind](**KWARGS[kind](draw)))
        except ConfigError:
            assume(False)
    pipeline = Pipeline(shape, layers, seed=draw(st.integers(0, 2**16)))
    try:
        pipeline.build()
    except ConfigError:
        assume(False)
    return pipeline
