"""Conv2DTranspose as a convolution of the flipped kernel over the zero-inserted, padded input gives the
layer's own output, for every stride, padding, output_padding and dilation Keras allows."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnviz.core import ConfigError, Conv2DTranspose
from cnnviz.core.provenance import cell_provenance
from cnnviz.core.transpose_as_conv import INPUT, INSERTED, PADDING, transpose_as_conv
from tests.core import naive_reference as naive


def built(layer, x, seed=0):
    layer.build(x.shape, np.random.default_rng(seed))
    if layer.use_bias:
        layer.set_weights([layer.kernel, np.random.default_rng(seed + 1).normal(size=layer.filters)])
    return layer


def test_dumoulin_visin_figure_4_1_shape():
    """2×2 input, 3×3 kernel, stride 1, valid: the input padded with 2 zeros on every side (their Fig. 4.1)."""
    x = np.arange(1, 5, dtype=np.float32).reshape(2, 2, 1)
    view = transpose_as_conv(built(Conv2DTranspose(1, 3), x), x)
    assert view.input.shape == (6, 6, 1)
    assert (view.kind[2:4, 2:4] == INPUT).all() and (view.kind == PADDING).sum() == 32


def test_stride_two_inserts_one_zero_between_neighbours():
    """3×3 input, stride 2, 3×3 kernel, same (Keras: 6×6 out): a 5×5 core with the input on even places."""
    x = np.arange(1, 10, dtype=np.float32).reshape(3, 3, 1)
    layer = built(Conv2DTranspose(1, 3, strides=2, padding="same"), x)
    view = transpose_as_conv(layer, x)
    top, left = view.before
    core = view.input[top:top + 5, left:left + 5, 0]
    np.testing.assert_array_equal(core[::2, ::2], x[:, :, 0])
    assert (core[1::2, :] == 0).all() and (core[:, 1::2] == 0).all()
    assert (view.kind[top:top + 5, left:left + 5][1::2, :] == INSERTED).all()
    assert view.source(top + 2, left + 4) == (1, 2) and view.source(top + 1, left) is None
    out = view.conv(view.input)
    assert out.shape == layer(x).shape == (6, 6, 1)
    np.testing.assert_allclose(out, layer(x), rtol=1e-5, atol=1e-5)


def test_kernel_is_flipped():
    x = np.zeros((1, 1, 1), np.float32)
    layer = Conv2DTranspose(1, (2, 3), use_bias=False)
    layer.set_weights([np.arange(6, dtype=np.float32).reshape(2, 3, 1, 1)])
    layer.build(x.shape)
    view = transpose_as_conv(layer, x)
    np.testing.assert_array_equal(view.conv.kernel[:, :, 0, 0], np.arange(6).reshape(2, 3)[::-1, ::-1])


@settings(max_examples=120, deadline=None)
@given(h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 3), f=st.integers(1, 3), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 3), dw=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), op=st.one_of(st.none(), st.tuples(st.integers(0, 2),
                                                                                       st.integers(0, 2))),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_the_direct_convolution_equals_the_layer_and_the_naive_loop(h, w, c, f, kh, kw, sh, sw, dh, dw, padding,
                                                                      op, bias, seed):
    try:
        layer = Conv2DTranspose(f, (kh, kw), (sh, sw), padding, op, (dh, dw), use_bias=bias)
        x = np.random.default_rng(seed).normal(size=(h, w, c)).astype(np.float32)
        built(layer, x, seed)
        expected = layer(x)
    except ConfigError:  # strides with dilation, output_padding ≥ stride, an empty output: Keras refuses too
        assume(False)
    view = transpose_as_conv(layer, x)
    out = view.conv(view.input)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    reference = naive.conv2d_transpose(x, layer.kernel, layer.bias, (sh, sw), padding, op, (dh, dw))
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)
    # the stretched input holds every input value once, in its place, and nothing else
    assert sorted(map(float, view.input[view.kind == INPUT].ravel())) == sorted(map(float, x.ravel()))
    assert not view.input[view.kind != INPUT].any()
    for i, j in [(0, 0), (h - 1, w - 1)]:
        r, q = view.before[0] + i * sh, view.before[1] + j * sw
        if view.kind[r, q] == INPUT:
            assert view.source(r, q) == (i, j)
    # one output cell written as its terms: the forward convolution's provenance on the stretched input
    cell = (expected.shape[0] - 1, 0, f - 1)
    prov = cell_provenance(view.conv, view.input, cell)
    assert prov.value == pytest.approx(float(expected[cell]), rel=1e-4, abs=1e-4)


def test_paddings_are_never_negative():
    """The stretched input is framed, never cut, for every shape the layer accepts."""
    from cnnviz.core.arithmetic import transpose_as_conv_padding, transpose_output_size

    for n in range(1, 7):
        for k in range(1, 7):
            for s in range(1, 4):
                for d in (1, 2, 3):
                    for padding in ("valid", "same"):
                        for op in [None, *range(s)]:
                            if transpose_output_size(n, k, s, padding, op, d) >= 1:
                                assert min(transpose_as_conv_padding(n, k, s, padding, op, d)) >= 0
