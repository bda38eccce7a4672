"""The summary's parameter counts and totals lines against real Keras's model.summary() (skipped where
keras is not installed; it is not a dependency)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from keras_support import QUIET_KERAS, import_keras
from layer_strategies import pipelines

from cnnviz.core import seed_pipeline
from cnnviz.core.summary import format_summary, summarize

keras = import_keras()
pytestmark = QUIET_KERAS


def keras_model(pipeline):
    """keras.Sequential of the same layers (from cnnviz's configs), with cnnviz's weights."""
    pipeline.build()
    layers = [getattr(keras.layers, type(layer).__name__).from_config(layer.get_config()) for layer in pipeline.layers]
    model = keras.Sequential([keras.Input(pipeline.input_shape), *layers])
    for layer in pipeline.layers:
        model.get_layer(layer.name).set_weights(layer.get_weights())
    return model


def keras_totals(model) -> list[str]:
    lines = []
    model.summary(print_fn=lambda text, **_: lines.extend(text.splitlines()))
    return [line for line in lines if "params:" in line]


def count(variables) -> int:
    return sum(int(np.prod(v.shape)) for v in variables)


def assert_counts_match(pipeline):
    model = keras_model(pipeline)
    s = summarize(pipeline)
    for row, klayer in zip(s.layers, model.layers, strict=True):
        assert (row.name, row.class_name) == (klayer.name, type(klayer).__name__)
        assert row.output_shape == tuple(klayer.output.shape[1:])
        assert row.params == klayer.count_params()
        assert row.trainable_params == count(klayer.trainable_weights)
        assert row.non_trainable_params == count(klayer.non_trainable_weights)
    assert (s.params, s.trainable_params, s.non_trainable_params) == (
        model.count_params(), count(model.trainable_weights), count(model.non_trainable_weights))
    ours = [line.strip() for line in format_summary(s).splitlines() if "params:" in line][:3]
    assert ours == [line.strip() for line in keras_totals(model)]


def test_the_lecture_counts_and_totals_equal_keras():
    assert_counts_match(seed_pipeline())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pipeline=pipelines())
def test_every_layer_type_counts_as_keras_counts(pipeline):
    assert_counts_match(pipeline)


def test_a_classifier_head_counts_as_keras_counts():
    from cnnviz.core.layers import Dense, Flatten, LeakyReLU, Softmax

    pipeline = seed_pipeline()
    pipeline.layers = pipeline.layers[:2] + [LeakyReLU(0.1), Flatten(), Dense(5), Dense(3, use_bias=False), Softmax()]
    assert_counts_match(pipeline)
    assert summarize(pipeline).params == 20 + 8 * 5 + 5 + 5 * 3


def test_padding_depthwise_cropping_and_global_pooling_count_as_keras_counts():
    from cnnviz.core import Pipeline
    from cnnviz.core.layers import Cropping2D, DepthwiseConv2D, GlobalMaxPooling2D, ZeroPadding2D

    pipeline = Pipeline((6, 6, 2), [ZeroPadding2D(((1, 0), (2, 1))), DepthwiseConv2D(3, depth_multiplier=2),
                                    Cropping2D(1), GlobalMaxPooling2D()])
    assert_counts_match(pipeline)
    assert summarize(pipeline).params == 3 * 3 * 2 * 2 + 4


def test_batch_normalization_s_moving_statistics_are_non_trainable_as_in_keras():
    from cnnviz.core.layers import BatchNormalization

    pipeline = seed_pipeline()
    pipeline.layers = pipeline.layers[:1] + [BatchNormalization(), BatchNormalization(center=False)]
    assert_counts_match(pipeline)
    assert summarize(pipeline).non_trainable_params == 4 + 4
