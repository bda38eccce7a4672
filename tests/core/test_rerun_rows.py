"""Pipeline.rerun_rows (an input edit of some rows recomputes only the rows it reaches) against the whole
run: the same numbers bit for bit, on random pipelines of every layer type and random painted boxes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.core import ConfigError, Pipeline
from cnnviz.core.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    MaxPooling2D,
    ReLU,
    UpSampling2D,
)
from tests.core.layer_strategies import pipelines

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _paint(draw, x):
    """x with a random box of cells (some channels) set to random values; the box's rows."""
    h, w, c = x.shape
    r0, c0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
    r1, c1 = draw(st.integers(r0 + 1, h)), draw(st.integers(c0 + 1, w))
    channels = draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    painted = x.copy()
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    painted[r0:r1, c0:c1, channels] = rng.standard_normal((r1 - r0, c1 - c0, len(channels))).astype(np.float32)
    return painted, (r0, r1)


def _assert_same_as_run(pipeline, x, painted, rows):
    previous = pipeline.run(x)
    expected = pipeline.run(painted)
    got, changed = pipeline.rerun_rows(painted, previous, rows)
    assert len(got) == len(expected)
    for i, (g, e, before) in enumerate(zip(got, expected, previous), start=1):
        assert g.dtype == np.float32 and g.shape == e.shape
        assert np.array_equal(g, e), f"level {i} ({pipeline.layers[i - 1].label}) differs from the whole run"
        span = changed[i]
        if span is not None:  # outside the rows it names, the level is what it was
            o0, o1 = span
            assert np.array_equal(np.delete(g, np.s_[o0:o1], axis=0), np.delete(before, np.s_[o0:o1], axis=0))
    assert changed[0] == rows


@given(pipelines(max_layers=5), st.data())
@SETTINGS
def test_rerun_rows_equals_the_whole_run_on_random_pipelines(pipeline, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal(pipeline.input_shape).astype(np.float32)
    painted, rows = _paint(data.draw, x)
    _assert_same_as_run(pipeline, x, painted, rows)


@st.composite
def large_pipelines(draw):
    """Maps large enough for the stride-1 convolution's bands and its second thread."""
    kind = draw(st.sampled_from(["conv", "depthwise", "pool", "up"]))
    strides, dilation = ((draw(st.integers(1, 3)),) * 2, (1, 1)) if draw(st.booleans()) else ((1, 1), (2, 2))
    padding = draw(st.sampled_from(["valid", "same"]))
    layers = {"conv": [Conv2D(8, 3, strides=strides, padding=padding, dilation_rate=dilation), ReLU()],
              "depthwise": [DepthwiseConv2D(3, strides=strides, padding=padding, dilation_rate=dilation)],
              "pool": [MaxPooling2D(draw(st.integers(2, 3)), padding=padding),
                       AveragePooling2D(2, padding=padding)],
              "up": [UpSampling2D(2, draw(st.sampled_from(["nearest", "bilinear"]))), Activation("tanh")]}[kind]
    layers = layers + [Conv2D(4, 3, padding="same"), Activation("sigmoid")]
    pipeline = Pipeline((draw(st.integers(40, 96)), draw(st.integers(40, 96)), 3), layers,
                        seed=draw(st.integers(0, 99)))
    pipeline.build()
    return pipeline


@given(large_pipelines(), st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_rerun_rows_equals_the_whole_run_on_large_maps(pipeline, data):
    x = np.random.default_rng(0).random(pipeline.input_shape, dtype=np.float32)
    painted, rows = _paint(data.draw, x)
    _assert_same_as_run(pipeline, x, painted, rows)


def test_a_window_layer_recomputes_the_rows_its_windows_read():
    assert Conv2D(2, 3, padding="same").rows_reached((10, 10, 1), (4, 5)) == (3, 6)
    # dilation 2: output i reads rows i, i+2, i+4; row 5 only outputs 1, 3, 5 (and the range between)
    assert Conv2D(2, 3, dilation_rate=2).rows_reached((10, 10, 1), (5, 6)) == (1, 6)
    # pool 3, stride 2: output i reads rows 2i..2i+2; row 4 is read by outputs 1 and 2
    assert MaxPooling2D(3, strides=2).rows_reached((10, 10, 1), (4, 5)) == (1, 3)
    # a 1×1 window with stride 2 never reads odd rows: nothing changes
    assert MaxPooling2D(1, strides=2).rows_reached((10, 10, 1), (3, 4)) == (0, 0)
    assert MaxPooling2D(2).rows_reached((10, 10, 1), (3, 6)) == (1, 3)
    assert UpSampling2D(3).rows_reached((4, 4, 1), (1, 2)) == (3, 6)
    # bilinear ×2: output rows 1..4 blend input row 1 with a neighbour; row 0, at the clipped edge, names it
    # with weight 0 (recomputed all the same)
    assert UpSampling2D(2, "bilinear").rows_reached((4, 4, 1), (1, 2)) == (0, 5)
    assert ReLU().rows_reached((4, 4, 1), (1, 3)) == (1, 3)


def test_layers_whose_crop_would_round_or_count_differently_are_computed_whole():
    assert AveragePooling2D(2, padding="same").rows_reached((5, 5, 1), (1, 2)) is None  # divides by real cells
    assert Conv2D(1, 3).rows_reached((10, 10, 1), (4, 5)) is None  # matrix-vector products
    assert Conv2D(2, 3, strides=2).rows_reached((10, 10, 1), (4, 5)) is None  # one product of all rows
    assert DepthwiseConv2D(3).rows_reached((10, 10, 1), (4, 5)) is None


def test_rows_the_edit_does_not_reach_stay_and_later_layers_are_not_computed():
    pipeline = Pipeline((12, 12, 1), [MaxPooling2D(1, strides=2), Conv2D(2, 3, padding="same")])
    x = np.random.default_rng(1).random((12, 12, 1), dtype=np.float32)
    previous = pipeline.run(x)
    painted = x.copy()
    painted[3, :, 0] = 5.0  # an odd row: the 1×1 stride-2 pooling never reads it
    got, changed = pipeline.rerun_rows(painted, previous, (3, 4))
    assert changed == {0: (3, 4), 1: (0, 0), 2: (0, 0)}
    assert got[0] is previous[0] and got[1] is previous[1]


def test_an_overflow_in_the_recomputed_rows_is_refused_as_by_the_whole_run():
    pipeline = Pipeline((6, 6, 1), [Conv2D(1, 3, padding="same", use_bias=False)])
    pipeline.build()
    pipeline.layers[0].set_weights([np.full((3, 3, 1, 1), 3e38, np.float32)])
    x = np.zeros((6, 6, 1), np.float32)
    previous = pipeline.run(x)
    x[2, 2, 0] = 1e10
    with pytest.raises(ConfigError, match="Conv2D #1: output overflows float32"):
        pipeline.run(x)
    with pytest.raises(ConfigError, match="Conv2D #1: output overflows float32"):
        pipeline.rerun_rows(x, previous, (2, 3))


def test_without_usable_previous_outputs_it_is_the_whole_run():
    pipeline = Pipeline((6, 6, 1), [Conv2D(2, 3), ReLU()])
    x = np.random.default_rng(2).random((6, 6, 1), dtype=np.float32)
    got, changed = pipeline.rerun_rows(x, [np.zeros((3, 3, 2), np.float32)], (0, 1))
    assert all(np.array_equal(g, e) for g, e in zip(got, pipeline.run(x)))
    assert changed == {0: None, 1: None, 2: None}


def test_a_channels_first_depthwise_output_then_a_mean_gives_the_same_bits_either_way():
    """A DepthwiseConv2D leaves its maps channels-first in memory; a BatchNormalization keeps that layout and a
    global mean sums in the order of the layout, so the whole run (that layout) and rerun_rows (C-ordered copies)
    differed in the last bit (found by the test above, 144 of 200 random inputs)."""
    pipeline = Pipeline((3, 4, 1), [Conv2D(1, 1, use_bias=False),
                                    DepthwiseConv2D((1, 2), depth_multiplier=2, use_bias=False),
                                    BatchNormalization(center=False, scale=False), GlobalAveragePooling2D()])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 1)).astype(np.float32)
    painted = x.copy()
    painted[0:1] = rng.standard_normal((1, 4, 1)).astype(np.float32)
    _assert_same_as_run(pipeline, x, painted, (0, 1))


@given(pipelines(max_layers=5))
@SETTINGS
def test_every_level_is_laid_out_in_c_order(pipeline):
    x = np.random.default_rng(0).standard_normal(pipeline.input_shape).astype(np.float32)
    assert all(level.flags.c_contiguous for level in pipeline.run(x))
