"""GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D and DepthwiseConv2D: against naive
loops, the exact Keras examples of docs/layers.md, refusals with their arithmetic, provenance and receptive
fields."""

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import naive_reference as ref
from cnnviz.core import (
    ConfigError,
    Conv2D,
    Cropping2D,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Pipeline,
    ZeroPadding2D,
    cell_provenance,
    layer_from_config,
    layer_to_config,
    receptive_field,
    weight_footprint,
    weights_used,
)
from cnnviz.core.provenance import weights_reaching

ATOL = 1e-5
SETTINGS = settings(max_examples=40, deadline=None)
maps = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3))
side = st.integers(0, 3)
sides = st.one_of(side, st.tuples(side, side), st.tuples(st.tuples(side, side), st.tuples(side, side)),
                  st.tuples(st.tuples(side, side), side))


def random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def normalised(value):
    if isinstance(value, int):
        return ((value, value), (value, value))
    return tuple(tuple(v) if isinstance(v, tuple) else (v, v) for v in value)


def assert_terms_give_the_output(layer, x, y):
    for cell in np.ndindex(*y.shape):
        assert cell_provenance(layer, x, cell).value == pytest.approx(float(y[cell]), rel=1e-5, abs=ATOL), cell


# ---- the exact examples -------------------------------------------------------------------------------


def test_global_pooling_example():
    x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    assert GlobalAveragePooling2D()(x).tolist() == [4.5, 5.5, 6.5]
    assert GlobalMaxPooling2D()(x).tolist() == [9, 10, 11]
    assert GlobalAveragePooling2D().explain_output_shape((2, 2, 3)) == [
        "length: 3 (one number per channel, from all 2×2 of its cells)"]


def test_padding_and_cropping_examples():
    x = np.array([[1, 2], [3, 4]], np.float32)[:, :, None]
    assert ZeroPadding2D(((1, 0), (0, 2)))(x)[:, :, 0].tolist() == [[0, 0, 0, 0], [1, 2, 0, 0], [3, 4, 0, 0]]
    y = np.arange(1, 26, dtype=np.float32).reshape(5, 5, 1)
    assert Cropping2D(((1, 2), (0, 1)))(y)[:, :, 0].tolist() == [[6, 7, 8, 9], [11, 12, 13, 14]]
    assert ZeroPadding2D().padding == ((1, 1), (1, 1)) and Cropping2D().cropping == ((0, 0), (0, 0))
    assert ZeroPadding2D(((0, 1), 2)).padding == ((0, 1), (2, 2)) and ZeroPadding2D((1, 2)).padding == ((1, 1), (2, 2))
    assert ZeroPadding2D(1).explain_output_shape((6, 6, 1))[0] == "rows: 1 + 6 + 1 = 8 (zero rows: 1 top, 1 bottom)"
    assert Cropping2D(((1, 2), 0)).explain_output_shape((6, 6, 1))[0] == "rows: 6 − 1 − 2 = 3 (1 cropped top, 2 bottom)"


def test_depthwise_example_keeps_input_channel_major_order():
    """Valid 2×2, M = 2: channel 0 = arange(9) as 3×3, channel 1 = all 10s."""
    x = np.stack([np.arange(9, dtype=np.float32).reshape(3, 3), np.full((3, 3), 10, np.float32)], axis=2)
    k = np.zeros((2, 2, 2, 2), np.float32)
    k[0, 0, 0, 0] = 1  # top-left
    k[1, 1, 0, 1] = 1  # bottom-right
    k[:, :, 1, 0] = 1  # ones
    k[0, 0, 1, 1] = -1
    layer = DepthwiseConv2D(2, depth_multiplier=2, use_bias=False)
    layer.build(x.shape)
    layer.set_weights([k])
    y = layer(x)
    assert y.shape == (2, 2, 4)
    assert y[:, :, 0].tolist() == [[0, 1], [3, 4]] and y[:, :, 1].tolist() == [[4, 5], [7, 8]]
    assert (y[:, :, 2] == 40).all() and (y[:, :, 3] == -10).all()
    assert layer.explain_output_shape((3, 3, 2))[2] == "depth: 2·2 = 4 (2 filters per input channel)"
    assert DepthwiseConv2D(3, depth_multiplier=2).weight_shapes((8, 8, 3)) == [(3, 3, 3, 2), (6,)]


# ---- against the naive references ----------------------------------------------------------------------


@SETTINGS
@given(shape=maps, seed=st.integers(0, 2**16))
def test_global_pooling_matches_the_reference(shape, seed):
    x = random(shape, seed)
    for layer, mode in ((GlobalAveragePooling2D(), "average"), (GlobalMaxPooling2D(), "max")):
        y = layer(x)
        np.testing.assert_allclose(y, ref.global_pool(x, mode), atol=ATOL, rtol=1e-5)
        assert_terms_give_the_output(layer, x, y)


@SETTINGS
@given(shape=maps, padding=sides, seed=st.integers(0, 2**16))
def test_zero_padding_matches_the_reference(shape, padding, seed):
    layer, x = ZeroPadding2D(padding), random(shape, seed)
    assert layer.padding == normalised(padding)
    y = layer(x)
    np.testing.assert_array_equal(y, ref.zero_pad(x, layer.padding))
    assert_terms_give_the_output(layer, x, y)
    assert layer_to_config(layer_from_config(json.loads(json.dumps(layer_to_config(layer))))) == layer_to_config(layer)


@SETTINGS
@given(shape=maps, cropping=sides, seed=st.integers(0, 2**16))
def test_cropping_matches_the_reference_or_is_refused(shape, cropping, seed):
    layer, x = Cropping2D(cropping), random(shape, seed)
    (top, bottom), (left, right) = layer.cropping
    if top + bottom >= shape[0] or left + right >= shape[1]:
        with pytest.raises(ConfigError, match="leaves no"):
            layer(x)
        return
    y = layer(x)
    np.testing.assert_array_equal(y, ref.crop(x, layer.cropping))
    assert_terms_give_the_output(layer, x, y)


@SETTINGS
@given(shape=maps, kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       strides=st.integers(1, 2).map(lambda s: (s, s)), dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       padding=st.sampled_from(["valid", "same"]), multiplier=st.integers(1, 3), use_bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_depthwise_matches_the_reference(shape, kernel, strides, dilation, padding, multiplier, use_bias, seed):
    """Strides and dilation together too: Keras 3 accepts them here and computes the direct formula."""
    layer = DepthwiseConv2D(kernel, strides, padding, multiplier, dilation, use_bias)
    try:
        layer.build(shape)
    except ConfigError as err:
        assert "does not fit" in str(err)
        assume(False)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    x = random(shape, seed + 1)
    y = layer(x)
    np.testing.assert_allclose(y, ref.depthwise_conv2d(x, layer.kernel, layer.bias, strides, padding, dilation),
                               atol=ATOL, rtol=1e-5)
    assert_terms_give_the_output(layer, x, y)


# ---- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make,message", [
    (lambda: ZeroPadding2D((1, 2, 3)), "ZeroPadding2D: padding must be an integer, two integers (rows, cols) or "
                                       "((top, bottom), (left, right)), got (1, 2, 3)"),
    (lambda: ZeroPadding2D(((1, 2, 3), (1, 1))), "ZeroPadding2D: padding must be an integer, two integers "
                                                  "(rows, cols) or ((top, bottom), (left, right)), got "
                                                  "((1, 2, 3), (1, 1))"),
    (lambda: ZeroPadding2D((-1, 1)), "ZeroPadding2D: padding must not be negative, got (-1, 1)"),
    (lambda: ZeroPadding2D(-1), "ZeroPadding2D: padding must not be negative, got -1"),
    (lambda: ZeroPadding2D(1.5), "ZeroPadding2D: padding must be an integer, two integers (rows, cols) or "
                                 "((top, bottom), (left, right)), got 1.5"),
    (lambda: ZeroPadding2D("1"), "ZeroPadding2D: padding must be an integer, two integers (rows, cols) or "
                                 "((top, bottom), (left, right)), got '1'"),
    (lambda: Cropping2D(-1), "Cropping2D: cropping must not be negative, got -1"),
    (lambda: Cropping2D(((1, -1), (0, 0))), "Cropping2D: cropping must not be negative, got ((1, -1), (0, 0))"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "DepthwiseConv2D: depth_multiplier must be a positive integer, "
                                                     "got 0"),
    (lambda: DepthwiseConv2D(0), "DepthwiseConv2D: kernel_size must be ≥ 1, got 0×0"),
    (lambda: DepthwiseConv2D(3, strides=(1, 2)), "DepthwiseConv2D: strides 1×2 are not allowed: Keras on TensorFlow "
                                                 "computes a depthwise convolution only with the same stride for rows "
                                                 "and cols"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value) == message


def test_shape_refusals_name_layer_parameter_and_arithmetic():
    with pytest.raises(ConfigError) as err:
        Pipeline((6, 6, 1), [Conv2D(1, 1), ZeroPadding2D(0), Cropping2D(((4, 3), (0, 0)))]).output_shapes()
    assert str(err.value) == "Cropping2D #3: cropping 4+3 rows from a 6×6 input leaves no rows"
    assert err.value.param == "cropping"
    with pytest.raises(ConfigError, match=r"^Cropping2D #1: cropping 2\+4 cols from a 6×6 input leaves no cols$"):
        Pipeline((6, 6, 1), [Cropping2D((0, (2, 4)))]).output_shapes()
    with pytest.raises(ConfigError) as err:
        Pipeline((4, 4, 8), [DepthwiseConv2D(1, depth_multiplier=9)]).output_shapes()
    assert str(err.value) == ("DepthwiseConv2D #1: output 4×4×72 has 72 channels, more than 64: too many to "
                              "compute interactively") and err.value.param == "depth_multiplier"
    with pytest.raises(ConfigError, match=r'^DepthwiseConv2D #1: kernel 5×5 does not fit a 4×4 input with padding '
                                          r'"valid": output would be 0×0$'):
        Pipeline((4, 4, 1), [DepthwiseConv2D(5)]).output_shapes()
    with pytest.raises(ConfigError, match=r"^GlobalMaxPooling2D #2: needs an \(H, W, C\) map, got a vector of 3"):
        Pipeline((4, 4, 3), [GlobalAveragePooling2D(), GlobalMaxPooling2D()]).output_shapes()


# ---- provenance, fields, weights -----------------------------------------------------------------------


def test_zero_padding_cells_are_padding_terms_and_outside_every_field():
    p = Pipeline((3, 3, 1), [ZeroPadding2D(1), Conv2D(1, 3)])
    x = random((3, 3, 1), 0)
    levels = p.levels(x, p.run(x))
    corner = cell_provenance(p.layers[0], x, (0, 0, 0))
    assert corner.terms[0].padding and corner.terms[0].cell == (-1, -1, 0) and corner.value == 0
    field = receptive_field(p, levels, 2, (0, 0, 0))
    assert field[1] == {(r, c, 0) for r in range(3) for c in range(3)}
    assert field[0] == {(r, c, 0) for r in range(2) for c in range(2)}


def test_cropping_and_global_pooling_fields():
    p = Pipeline((5, 5, 2), [Cropping2D(((1, 2), (0, 1))), GlobalMaxPooling2D()])
    x = random((5, 5, 2), 0)
    levels = p.levels(x, p.run(x))
    field = receptive_field(p, levels, 2, (1,))
    assert field[1] == {(r, c, 1) for r in range(2) for c in range(4)}
    assert field[0] == {(r, c, 1) for r in range(1, 3) for c in range(4)}


def test_depthwise_reads_one_channel_and_its_weights_are_its_own():
    layer = DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    layer.index = 1
    layer.build((5, 5, 3))
    p = Pipeline((5, 5, 3), [layer])
    x = random((5, 5, 3), 0)
    levels = p.levels(x, p.run(x))
    assert receptive_field(p, levels, 1, (0, 0, 3))[0] == {(r, c, 1) for r in range(2) for c in range(2)}
    assert weights_used(layer, (0, 0, 3), (5, 5, 3)) == {(a, b, 1, 1) for a in (1, 2) for b in (1, 2)}
    assert weight_footprint(layer, (5, 5, 3), (0, 0, 2, 0)) == {(r, c, 2) for r in range(4) for c in range(4)}
    cells = {(r, c, o) for r in range(5) for c in range(5) for o in (0, 5)}
    assert weights_reaching(layer, cells, (5, 5, 3)) == {(a, b, c, m) for a in range(3) for b in range(3)
                                                         for c, m in ((0, 0), (2, 1))}
