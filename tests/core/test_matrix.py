"""Convolution as a matrix: C equals the layer, and the transposed convolution equals Cᵀ."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnviz.core import ConfigError, Conv2D, Conv2DTranspose, cell_provenance, conv_matrix, transpose_matrix
from cnnviz.core.arithmetic import conv_output_size, effective_size

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def conv_configs(draw):
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilated = draw(st.booleans())  # strided or dilated: the core (like Keras) refuses both at once
    return {
        "kernel_size": (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        "strides": (1, 1) if dilated else strides,
        "dilation_rate": dilation if dilated else (1, 1),
        "padding": draw(st.sampled_from(["valid", "same"])),
        "shape": (draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 3))),
        "filters": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**16)),
    }


def built(layer, shape, seed, use_bias=True):
    try:
        layer.compute_output_shape(shape)
    except ConfigError:
        assume(False)
    rng = np.random.default_rng(seed)
    layer.build(shape)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights if use_bias else weights[:1])
    return layer, rng.standard_normal(shape).astype(np.float32)


def make_conv(cfg, use_bias=True):
    layer = Conv2D(cfg["filters"], cfg["kernel_size"], strides=cfg["strides"], padding=cfg["padding"],
                   dilation_rate=cfg["dilation_rate"], use_bias=use_bias)
    return built(layer, cfg["shape"], cfg["seed"], use_bias)


def assert_matrix_is_the_layer(m, layer, x):
    y = layer(x)
    assert m.matrix.shape == (y.size, x.size) and (m.input_shape, m.output_shape) == (x.shape, y.shape)
    np.testing.assert_allclose(m.matrix @ x.ravel() + m.bias, y.ravel(), rtol=1e-5, atol=1e-5)
    placed = m.weight_index >= 0
    np.testing.assert_array_equal(m.matrix[placed], layer.kernel.ravel()[m.weight_index[placed]])
    assert not m.matrix[~placed].any()


@given(conv_configs(), st.booleans())
@SETTINGS
def test_conv_matrix_times_input_is_the_conv2d_output(cfg, use_bias):
    layer, x = make_conv(cfg, use_bias)
    assert_matrix_is_the_layer(conv_matrix(layer, x.shape), layer, x)


@given(conv_configs(), st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 2))))
@SETTINGS
def test_transpose_matrix_times_input_is_the_conv2d_transpose_output(cfg, output_padding):
    if output_padding is not None:
        assume(all(op < s for op, s in zip(output_padding, cfg["strides"])))
    layer = Conv2DTranspose(cfg["filters"], cfg["kernel_size"], strides=cfg["strides"], padding=cfg["padding"],
                            output_padding=output_padding, dilation_rate=cfg["dilation_rate"])
    layer, x = built(layer, cfg["shape"], cfg["seed"])
    assert_matrix_is_the_layer(transpose_matrix(layer, x.shape), layer, x)


def matching_output_padding(n, k, s, d, padding):
    """The output_padding that makes a Conv2DTranspose map the Conv2D's output size back to n."""
    m = conv_output_size(n, k, s, padding, d)
    if padding == "valid":
        return n - (m - 1) * s - effective_size(k, d)
    return n - (m - 1) * s - effective_size(k, d) % 2


@given(conv_configs())
@SETTINGS
def test_transpose_with_the_same_kernel_is_the_transposed_matrix(cfg):
    conv, a = make_conv(cfg, use_bias=False)
    h, w, channels = cfg["shape"]
    output_padding = tuple(
        matching_output_padding(n, k, s, d, cfg["padding"])
        for n, k, s, d in zip((h, w), cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])
    )
    assume(all(0 <= op < s for op, s in zip(output_padding, cfg["strides"])))
    transpose = Conv2DTranspose(channels, cfg["kernel_size"], strides=cfg["strides"], padding=cfg["padding"],
                                output_padding=output_padding, dilation_rate=cfg["dilation_rate"], use_bias=False)
    out_shape = conv.compute_output_shape(a.shape)
    transpose.build(out_shape)
    transpose.set_weights([conv.kernel])  # (kh, kw, in, out) read as (kh, kw, out, in): the adjoint
    assert transpose.compute_output_shape(out_shape) == a.shape

    c, t = conv_matrix(conv, a.shape), transpose_matrix(transpose, out_shape)
    np.testing.assert_array_equal(t.matrix, c.matrix.T)
    np.testing.assert_array_equal(t.weight_index, c.weight_index.T)
    b = np.random.default_rng(cfg["seed"] + 1).standard_normal(out_shape).astype(np.float32)
    # ⟨Conv(a), b⟩ == ⟨ConvT(b), a⟩, measured on the layers' own forward passes.
    assert np.vdot(conv(a), b) == pytest.approx(np.vdot(transpose(b), a), rel=1e-4, abs=1e-4)


def test_worked_example_matrix():
    layer = Conv2D(1, 3)
    layer.build((6, 6, 1))
    kernel = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], np.float32)[:, :, None, None]
    layer.set_weights([kernel, np.zeros(1, np.float32)])
    m = conv_matrix(layer, (6, 6, 1))
    assert m.matrix.shape == (16, 36)
    assert (m.matrix @ np.arange(36) == -6).all()  # the lecture example (docs/layers.md)
    window = [r * 6 + c for r in range(3) for c in range(3)]
    assert np.flatnonzero(m.weight_index[0] >= 0).tolist() == window
    assert m.weight_index[0, window].tolist() == list(range(9))
    assert np.flatnonzero(m.weight_index[5] >= 0).tolist() == [v + 7 for v in window]  # output (1, 1)
    assert (m.weight_index >= 0).sum(axis=1).tolist() == [9] * 16


@given(conv_configs())
@SETTINGS
def test_matrix_rows_are_the_provenance_terms(cfg):
    layer, x = make_conv(cfg)
    m = conv_matrix(layer, x.shape)
    out_shape = m.output_shape
    for row, cell in enumerate(np.ndindex(out_shape)):
        terms = [t for t in cell_provenance(layer, x, cell).terms if not t.padding]
        expected = np.zeros(x.size)
        expected[[np.ravel_multi_index(t.cell, x.shape) for t in terms]] = [t.coefficient for t in terms]
        np.testing.assert_array_equal(m.matrix[row], expected)


def test_matrices_beyond_the_limit_are_refused_with_the_arithmetic():
    layer = Conv2D(1, 3, padding="same")
    with pytest.raises(ConfigError, match="matrix would be 16384×16384 entries .*limit is 4096×4096") as err:
        conv_matrix(layer, (128, 128, 1))
    assert err.value.param == "input"
    assert conv_matrix(Conv2D(1, 3, padding="same"), (64, 64, 1)).matrix.shape == (4096, 4096)


def test_a_kernel_for_other_channels_is_refused():
    layer = Conv2D(1, 3)
    layer.build((6, 6, 1))
    with pytest.raises(ConfigError, match="input has 2 channels, the kernel was made for 1"):
        conv_matrix(layer, (6, 6, 2))
