"""Labels of a side-by-side comparison: what differs between two settings, in the lecture's words."""

import numpy as np
import pytest

from cnnviz.core import MaxPooling2D, Pipeline, UpSampling2D, seed_input, seed_pipeline
from cnnviz.core.differences import differences, setting_text


def state(pipeline, x=None, training=False):
    return pipeline, seed_input() if x is None else x, training


def with_layer(pipeline, index, **changes):
    p = pipeline.copy()
    layers = list(p.layers)
    layers[index - 1] = layers[index - 1].replace(**changes)
    p.layers = layers
    return p


@pytest.mark.parametrize("index, changes, labels", [
    (1, dict(strides=2), ("stride 1", "stride 2")),
    (1, dict(padding="same"), ("valid", "same")),
    (3, dict(interpolation="bilinear"), ("nearest", "bilinear")),
    (1, dict(kernel_size=(3, 2)), ("kernel 3", "kernel 3×2")),
    (1, dict(filters=1), ("2 filters", "1 filter")),
    (1, dict(use_bias=False), ("bias", "no bias")),
    (2, dict(pool_size=3, strides=1), ("pool 2, stride = pool", "pool 3, stride 1")),
])
def test_one_setting_is_labelled_as_the_lecture_says_it(index, changes, labels):
    before = seed_pipeline()
    after = with_layer(before, index, **changes)
    assert differences(state(before), state(after), layer=index) == labels
    assert differences(state(before), state(after)) == labels  # the whole pipeline: one change needs no name


def test_nothing_differs():
    assert differences(state(seed_pipeline()), state(seed_pipeline()), layer=1) == ("snapshot", "live")


def test_edited_weights_input_and_training():
    before, after = seed_pipeline(), seed_pipeline()
    kernel, bias = after.layers[0].get_weights()
    after.layers[0].set_weights([kernel * 2, bias])
    assert differences(state(before), state(after), layer=1) == ("weights before", "weights edited")
    x = seed_input().copy()
    x[0, 0, 0] = 5
    assert differences(state(before), state(before, x)) == ("input before", "input edited")
    assert differences(state(before), state(before, training=True)) == ("inference", "training")


def test_several_layers_say_which_and_added_layers_are_named():
    before = seed_pipeline()
    after = with_layer(with_layer(before, 1, strides=2), 3, interpolation="bilinear")
    assert differences(state(before), state(after)) == ("Conv2D #1 stride 1; UpSampling2D #3 nearest",
                                                       "Conv2D #1 stride 2; UpSampling2D #3 bilinear")
    longer = Pipeline((6, 6, 1), [layer for layer in before.copy().layers] + [MaxPooling2D(3)])
    assert differences(state(before), state(longer)) == ("without MaxPooling2D #4", "with MaxPooling2D #4")
    other = Pipeline((6, 6, 1), [UpSampling2D(2)])
    assert differences(state(before), state(other), layer=1) == ("Conv2D", "UpSampling2D")


def test_setting_texts():
    assert setting_text("dilation_rate", (2, 2)) == "dilation 2"
    assert setting_text("output_padding", None) == "output padding none"
    assert setting_text("rate", 0.25) == "rate 0.25"
    assert setting_text("activation", "tanh") == "tanh"
    assert np.isscalar(setting_text("strides", (1, 2))) and setting_text("strides", (1, 2)) == "stride 1×2"
