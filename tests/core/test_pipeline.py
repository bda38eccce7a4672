"""Pipeline: shape chain, unique names, run with partial recompute, configs, weights, limits."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    AveragePooling2D,
    ConfigError,
    Conv2D,
    Conv2DTranspose,
    Dropout,
    MaxPooling2D,
    Pipeline,
    ReLU,
    UpSampling2D,
    seed_input,
    seed_pipeline,
)
from naive_reference import EDGE, X36



def lecture_pipeline(up="nearest"):
    conv = Conv2D(1, 3)
    conv.set_weights([EDGE, np.zeros(1)])
    return Pipeline((6, 6, 1), [conv, MaxPooling2D(2), UpSampling2D(3, up)])


def test_lecture_chain_on_arange_gives_the_worked_numbers():
    outputs = lecture_pipeline().run(X36)
    assert [o.shape for o in outputs] == [(4, 4, 1), (2, 2, 1), (6, 6, 1)]
    assert outputs[1][:, :, 0].tolist() == [[-6, -6], [-6, -6]]
    assert outputs[2][:, :, 0].tolist() == [[-6] * 6] * 6


def test_transpose_back_to_6x6():
    up = Conv2DTranspose(1, 3, strides=3, use_bias=False)
    up.set_weights([np.ones((3, 3, 1, 1))])
    conv = Conv2D(1, 3)
    conv.set_weights([EDGE, np.zeros(1)])
    outputs = Pipeline((6, 6, 1), [conv, MaxPooling2D(2), up]).run(X36)
    assert outputs[-1][:, :, 0].tolist() == [[-6] * 6] * 6


def test_indices_and_unique_keras_names():
    layers = [Conv2D(1, 3), ReLU(), Conv2D(1, 1), Conv2D(1, 1, name="conv2d_1"), MaxPooling2D(1)]
    pipeline = Pipeline((6, 6, 1), layers)
    assert [layer.index for layer in pipeline.layers] == [1, 2, 3, 4, 5]
    assert [layer.name for layer in pipeline.layers] == ["conv2d", "re_lu", "conv2d_2", "conv2d_1", "max_pooling2d"]
    assert pipeline.layers[2].label == "Conv2D #3"


def test_an_inserted_layer_is_renamed_not_the_existing_one():
    pipeline = Pipeline((6, 6, 1), [Conv2D(1, 3), MaxPooling2D(2)])
    again = Pipeline((6, 6, 1), [Conv2D(2, 1), *pipeline.layers])
    assert [layer.name for layer in again.layers] == ["conv2d_1", "conv2d", "max_pooling2d"]
    assert [layer.index for layer in again.layers] == [1, 2, 3]


def test_output_shapes_and_the_error_names_the_layer():
    pipeline = Pipeline((6, 6, 1), [Conv2D(2, 3), MaxPooling2D(2), MaxPooling2D(3)])
    with pytest.raises(ConfigError) as info:
        pipeline.output_shapes()
    assert str(info.value) == ('MaxPooling2D #3: pool 3×3 does not fit a 2×2 input with padding "valid": '
                               "output would be 0×0")
    assert info.value.param == "pool_size" and info.value.layer == "MaxPooling2D #3"
    pipeline.layers = pipeline.layers[:2]
    assert pipeline.output_shapes() == [(4, 4, 2), (2, 2, 2)]


def test_run_from_start_recomputes_only_later_layers():
    pipeline = lecture_pipeline(up="bilinear")
    first = pipeline.run(X36)
    pipeline.layers[0].set_weights([-EDGE, np.zeros(1)])  # a change that start=1 must NOT see
    partial = pipeline.run(X36, start=1, previous=first)
    assert partial[0] is first[0]
    for a, b in zip(partial, first):
        np.testing.assert_array_equal(a, b)
    full = pipeline.run(X36)
    assert full[1][:, :, 0].tolist() == [[6, 6], [6, 6]]


def test_run_from_start_uses_the_changed_layer():
    pipeline = lecture_pipeline()
    first = pipeline.run(X36)
    pipeline.layers = [*pipeline.layers[:2], pipeline.layers[2].replace(size=2)]
    partial = pipeline.run(X36, start=2, previous=first)
    assert partial[1] is first[1]
    assert partial[2].shape == (4, 4, 1)


def test_run_without_usable_previous_falls_back_to_everything():
    pipeline = lecture_pipeline()
    assert len(pipeline.run(X36, start=2, previous=None)) == 3
    stale = [np.zeros((3, 3, 1)), np.zeros((1, 1, 1))]  # shapes of some other pipeline
    outputs = pipeline.run(X36, start=2, previous=stale)
    assert outputs[1][:, :, 0].tolist() == [[-6, -6], [-6, -6]]


def test_run_rejects_wrong_input_and_start():
    pipeline = lecture_pipeline()
    with pytest.raises(ConfigError, match=r"Input: array has shape \(5, 5, 1\), the pipeline expects \(6, 6, 1\)"):
        pipeline.run(np.ones((5, 5, 1)))
    with pytest.raises(ConfigError, match="start must be in 0..3"):
        pipeline.run(X36, start=4)


def test_training_flag_reaches_dropout():
    pipeline = Pipeline((4, 4, 1), [Dropout(0.5, seed=0)])
    x = np.ones((4, 4, 1), np.float32)
    np.testing.assert_array_equal(pipeline.run(x)[0], x)
    y = pipeline.run(x, training=True)[0]
    np.testing.assert_array_equal(y, np.where(pipeline.layers[0].mask, 2, 0))


def test_levels():
    pipeline = lecture_pipeline()
    outputs = pipeline.run(X36)
    levels = pipeline.levels(X36, outputs)
    assert levels[0] is X36 and levels[1:] == outputs


def test_config_round_trip_through_json():
    pipeline = Pipeline((6, 6, 1), [Conv2D(2, 3, padding="same"), MaxPooling2D(2), Dropout(0.3, seed=2),
                                    UpSampling2D(2, "bilinear"), Conv2DTranspose(1, 2, strides=2)])
    config = pipeline.get_config()
    assert config["input_shape"] == [6, 6, 1]
    again = Pipeline.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    assert [layer.name for layer in again.layers] == [layer.name for layer in pipeline.layers]


def test_weights_round_trip_and_copy_is_deep():
    pipeline = seed_pipeline()
    weights = pipeline.get_weights()
    assert [len(w) for w in weights] == [2, 0, 0]
    twin = Pipeline.from_config(pipeline.get_config())
    twin.set_weights(weights)
    for a, b in zip(twin.run(seed_input()), pipeline.run(seed_input())):
        np.testing.assert_array_equal(a, b)
    copy = pipeline.copy()
    copy.layers[0].kernel[...] = 0
    assert pipeline.layers[0].kernel.any()
    with pytest.raises(ConfigError, match="expected 3 weight lists, got 1"):
        pipeline.set_weights([[]])


def test_build_is_seeded_per_position():
    a = Pipeline((6, 6, 1), [Conv2D(2, 3), Conv2D(2, 3)], seed=4)
    b = Pipeline((6, 6, 1), [ReLU(), Conv2D(2, 3), Conv2D(2, 3)], seed=4)
    a.build()
    b.build()
    np.testing.assert_array_equal(a.layers[0].kernel, Pipeline((6, 6, 1), [Conv2D(2, 3)], seed=4).get_weights()[0][0])
    assert not np.array_equal(a.layers[0].kernel, a.layers[1].kernel)
    assert not np.array_equal(a.layers[0].kernel, b.layers[1].kernel)  # another position, another stream


@pytest.mark.parametrize("shape, message", [
    ((5000, 10, 1), "too large"),
    ((10, 10, 65), "too large"),
    ((6, 0, 1), "three positive integers"),
    ((6, 6), "three positive integers"),
])
def test_input_shape_limits(shape, message):
    with pytest.raises(ConfigError, match=message) as info:
        Pipeline(shape, [])
    assert info.value.param == "input_shape"


def test_too_large_intermediate_is_refused():
    pipeline = Pipeline((1024, 1024, 1), [UpSampling2D(4), Conv2D(64, 1)])
    with pytest.raises(ConfigError, match=r"Conv2D #2: output 4096×4096×64 has 1,073,741,824 values, more than 2\^26"
                                          r": too large to compute interactively"):
        pipeline.output_shapes()


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 5), training=st.booleans(), seed=st.integers(0, 99))
def test_partial_run_equals_full_run(start, training, seed):
    pipeline = Pipeline((9, 8, 2), [Conv2D(3, 3, padding="same"), ReLU(), Dropout(0.4, seed=seed),
                                    AveragePooling2D(2, padding="same"), UpSampling2D(2, "bilinear")], seed=seed)
    x = np.random.default_rng(seed).standard_normal((9, 8, 2)).astype(np.float32)
    full = pipeline.run(x, training=training)
    partial = pipeline.run(x, training=training, start=start, previous=full)
    assert all(a is b for a, b in zip(partial[:start], full))
    for a, b in zip(partial, full):
        np.testing.assert_array_equal(a, b)
