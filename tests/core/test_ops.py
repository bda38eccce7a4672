"""The ops against the worked examples of docs/layers.md, naive loop references and (when present) torch."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import naive_reference as ref
from cnnviz.core import ops
from cnnviz.core.arithmetic import same_padding

X36, EDGE = ref.X36, ref.EDGE
X25 = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
X22 = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(2, 2, 1)


def grid(y):
    return y[:, :, 0].tolist()


# ---- docs/layers.md, Conv2D: on arange(36) with the vertical-edge kernel ------------------------
def test_conv_stride1_valid():
    assert grid(ops.conv2d(X36, EDGE, None, (1, 1), "valid")) == [[-6] * 4] * 4


def test_conv_stride1_same():
    assert grid(ops.conv2d(X36, EDGE, None, (1, 1), "same")) == [
        [-8, -4, -4, -4, -4, 14],
        [-21, -6, -6, -6, -6, 30],
        [-39, -6, -6, -6, -6, 48],
        [-57, -6, -6, -6, -6, 66],
        [-75, -6, -6, -6, -6, 84],
        [-56, -4, -4, -4, -4, 62],
    ]


def test_conv_stride2_valid():
    assert grid(ops.conv2d(X36, EDGE, None, (2, 2), "valid")) == [[-6, -6], [-6, -6]]


def test_conv_stride2_same_pads_bottom_right_only():
    assert grid(ops.conv2d(X36, EDGE, None, (2, 2), "same")) == [[-6, -6, 30], [-6, -6, 66], [-4, -4, 62]]


def test_conv_is_cross_correlation_not_convolution():
    # a flipped kernel (true convolution) would give +6
    assert ops.conv2d(X36, EDGE, None, (1, 1), "valid")[0, 0, 0] == -6
    assert ops.conv2d(X36, EDGE[::-1, ::-1], None, (1, 1), "valid")[0, 0, 0] == 6


def test_conv_bias_and_channels_add_up():
    x = np.stack([X36[:, :, 0], 2 * X36[:, :, 0]], axis=-1)
    kernel = np.concatenate([EDGE, EDGE], axis=2)  # one filter spanning both channels
    y = ops.conv2d(x, kernel, np.array([0.5], np.float32), (1, 1), "valid")
    assert grid(y) == [[-6 * 3 + 0.5] * 4] * 4


# ---- docs/layers.md, padding: the TF `same` split, measured by a probe --------------------------------------
SPLIT_TABLE = [  # n, k, s, O, before, after
    (6, 3, 2, 3, 0, 1), (5, 3, 2, 3, 1, 1), (7, 3, 2, 4, 1, 1), (6, 3, 3, 2, 0, 0),
    (6, 2, 1, 6, 0, 1), (6, 4, 1, 6, 1, 2), (7, 4, 2, 4, 1, 2), (8, 5, 3, 3, 1, 2),
]


@pytest.mark.parametrize("n, k, s, out, before, after", SPLIT_TABLE)
def test_same_padding_split_table(n, k, s, out, before, after):
    assert same_padding(n, k, s) == (before, after)
    # Probe like the Keras measurement: ones through a ones k×1 kernel count the real rows per window.
    y = ops.conv2d(np.ones((n, 1, 1), np.float32), np.ones((k, 1, 1, 1), np.float32), None, (s, 1), "same")
    assert y.shape == (out, 1, 1)
    assert y[0, 0, 0] == k - before  # the first window hangs `before` rows over the top
    assert y[-1, 0, 0] == k - after  # the last one `after` rows over the bottom


# ---- docs/layers.md: Conv2DTranspose ----------------------------------------------------------------
def test_transpose_delta_gives_the_kernel_unflipped():
    kernel = np.arange(1, 10, dtype=np.float32).reshape(3, 3, 1, 1)
    y = ops.conv2d_transpose(np.ones((1, 1, 1), np.float32), kernel, None, (1, 1), "valid")
    assert grid(y) == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_transpose_ones_stride3_blocks():
    y = ops.conv2d_transpose(X22, np.ones((3, 3, 1, 1), np.float32), None, (3, 3), "valid")
    assert grid(y) == [[1, 1, 1, 2, 2, 2]] * 3 + [[3, 3, 3, 4, 4, 4]] * 3


def test_seed_round_trip_back_to_6x6():
    pooled = np.full((2, 2, 1), -6, np.float32)
    for y in (
        ops.upsample2d(pooled, (3, 3), "nearest"),
        ops.upsample2d(pooled, (3, 3), "bilinear"),
        ops.conv2d_transpose(pooled, np.ones((3, 3, 1, 1), np.float32), None, (3, 3), "valid"),
    ):
        assert grid(y) == [[-6] * 6] * 6


TRANSPOSE_GRID = [
    (n, k, s, op, padding)
    for padding in ("valid", "same")
    for n in (2, 3)
    for k in (2, 3, 4)
    for s in (1, 2, 3)
    for op in (None, 0, 1)
    if op is None or op < s
]


def test_transpose_grid_has_the_96_cases_of_semantics():
    assert len(TRANSPOSE_GRID) == 96


@pytest.mark.parametrize("n, k, s, op, padding", TRANSPOSE_GRID)
def test_transpose_grid_shape_and_values(n, k, s, op, padding):
    """Every case of the Keras torch-backend grid is accepted (TF refuses 12 of them; see cnnviz/core/layers/convolutional.py)."""
    rng = np.random.default_rng(n * 100 + k * 10 + s)
    x = rng.standard_normal((n, n + 1, 2)).astype(np.float32)
    kernel = rng.standard_normal((k, k, 3, 2)).astype(np.float32)
    ops_op = None if op is None else (op, op)
    y = ops.conv2d_transpose(x, kernel, None, (s, s), padding, ops_op)
    expected_rows = ref.transpose_shape(n, k, s, padding, op)[0]
    expected_cols = ref.transpose_shape(n + 1, k, s, padding, op)[0]
    assert y.shape == (expected_rows, expected_cols, 3)
    if padding == "same":
        ke = k
        assert expected_rows == (n * s if op is None else (n - 1) * s + ke % 2 + op)
    np.testing.assert_allclose(y, ref.conv2d_transpose(x, kernel, None, (s, s), padding, ops_op, (1, 1)), atol=1e-5)


def test_transpose_same_pads_zeros_when_output_exceeds_full():
    # n=2, k=2, s=3, same: O = 6 > F = (2−1)·3 + 2 = 5 -> the last row/col is zero
    y = ops.conv2d_transpose(np.ones((2, 2, 1), np.float32), np.ones((2, 2, 1, 1), np.float32), None, (3, 3), "same")
    assert y.shape == (6, 6, 1)
    assert (y[-1] == 0).all() and (y[:, -1] == 0).all()
    assert grid(y)[0] == [1, 1, 0, 1, 1, 0]


# ---- docs/layers.md: pooling ------------------------------------------------------------------------
def test_max_pool_valid_on_5x5():
    assert grid(ops.pool2d(X25, (2, 2), None, "valid", "max")) == [[6, 8], [16, 18]]


def test_max_pool_seed_example():
    pooled = ops.pool2d(ops.conv2d(X36, EDGE, None, (1, 1), "valid"), (2, 2), None, "valid", "max")
    assert grid(pooled) == [[-6, -6], [-6, -6]]


def test_max_pool_same_ignores_padding_on_negative_input():
    y = ops.pool2d(-X25 - 1, (2, 2), None, "same", "max")
    assert grid(y)[0] == [-1, -3, -5]
    assert grid(y) == [[-1, -3, -5], [-11, -13, -15], [-21, -23, -25]]


def test_max_pool_same_on_5x5_equals_torch_ceil_mode_example():
    assert grid(ops.pool2d(X25, (2, 2), None, "same", "max")) == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]


def test_average_pool_same_divides_by_real_cells():
    y = ops.pool2d(X25, (3, 3), (1, 1), "same", "average")
    assert grid(y)[0] == [3, 3.5, 4.5, 5.5, 6]


# ---- docs/layers.md: up-sampling --------------------------------------------------------------------
def test_bilinear_matrix_factor_2():
    np.testing.assert_allclose(ops.bilinear_matrix(2, 4), [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])


def test_bilinear_matrix_factor_3():
    np.testing.assert_allclose(
        ops.bilinear_matrix(2, 6), [[1, 0], [1, 0], [2 / 3, 1 / 3], [1 / 3, 2 / 3], [0, 1], [0, 1]], atol=1e-12
    )


def test_bilinear_factor_2_example():
    assert grid(ops.upsample2d(X22, (2, 2), "bilinear")) == [
        [1, 1.25, 1.75, 2],
        [1.5, 1.75, 2.25, 2.5],
        [2.5, 2.75, 3.25, 3.5],
        [3, 3.25, 3.75, 4],
    ]


def test_bilinear_factor_3_example_is_r_x_rt():
    expected = [
        [1, 1, 4 / 3, 5 / 3, 2, 2],
        [1, 1, 4 / 3, 5 / 3, 2, 2],
        [5 / 3, 5 / 3, 2, 7 / 3, 8 / 3, 8 / 3],
        [7 / 3, 7 / 3, 8 / 3, 3, 10 / 3, 10 / 3],
        [3, 3, 10 / 3, 11 / 3, 4, 4],
        [3, 3, 10 / 3, 11 / 3, 4, 4],
    ]
    y = ops.upsample2d(X22, (3, 3), "bilinear")
    np.testing.assert_allclose(grid(y), expected, atol=1e-6)
    r = ops.bilinear_matrix(2, 6)
    np.testing.assert_allclose(r @ X22[:, :, 0] @ r.T, expected, atol=1e-12)


def test_nearest_repeats():
    assert grid(ops.upsample2d(X22, (2, 3), "nearest")) == [[1, 1, 1, 2, 2, 2]] * 2 + [[3, 3, 3, 4, 4, 4]] * 2


# ---- docs/layers.md: dropout and activations --------------------------------------------------------
def test_dropout_inverted_scaling_with_injected_mask():
    mask = np.array([[True, False], [True, True]]).reshape(2, 2, 1)
    y = ops.dropout(X22, 0.25, mask)
    np.testing.assert_allclose(grid(y), [[1 / 0.75, 0], [3 / 0.75, 4 / 0.75]], rtol=1e-6)


def test_dropout_without_mask_is_identity():
    assert grid(ops.dropout(X22, 0.5, None)) == grid(X22)


def test_activations():
    x = np.array([-2, 0, 3], np.float32).reshape(1, 3, 1)
    assert ops.activation(x, "relu").ravel().tolist() == [0, 0, 3]
    assert ops.activation(x, "linear").ravel().tolist() == [-2, 0, 3]
    np.testing.assert_allclose(ops.activation(x, "tanh").ravel(), np.tanh([-2, 0, 3]), rtol=1e-6)
    np.testing.assert_allclose(ops.activation(x, "sigmoid").ravel(), 1 / (1 + np.exp([2.0, 0, -3])), rtol=1e-6)
    big = np.array([-1000, 1000], np.float32).reshape(1, 2, 1)
    with np.errstate(over="raise"):
        assert ops.activation(big, "sigmoid").ravel().tolist() == [0, 1]


def test_results_are_float32():
    x64 = X36.astype(np.float64)
    for y in (
        ops.conv2d(x64, EDGE.astype(np.float64), None, (1, 1), "same"),
        ops.conv2d_transpose(x64, EDGE, None, (2, 2), "same"),
        ops.pool2d(x64, (2, 2), None, "same", "average"),
        ops.upsample2d(x64, (2, 2), "bilinear"),
        ops.dropout(x64, 0.5, np.ones((6, 6, 1), bool)),
        ops.activation(x64, "sigmoid"),
    ):
        assert y.dtype == np.float32


# ---- hypothesis against the naive loops ------------------------------------------------------------
small = st.integers(1, 7)
padding = st.sampled_from(["valid", "same"])


@settings(max_examples=60, deadline=None)
@given(h=small, w=small, c=st.integers(1, 3), f=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2), dw=st.integers(1, 2), padding=padding,
       seed=st.integers(0, 2**16))
def test_conv2d_matches_naive(h, w, c, f, kh, kw, sh, sw, dh, dw, padding, seed):
    if padding == "valid":
        assume(h >= dh * (kh - 1) + 1 and w >= dw * (kw - 1) + 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    kernel = rng.standard_normal((kh, kw, c, f)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32)
    y = ops.conv2d(x, kernel, bias, (sh, sw), padding, (dh, dw))
    np.testing.assert_allclose(y, ref.conv2d(x, kernel, bias, (sh, sw), padding, (dh, dw)), atol=1e-5)


def random_conv(seed, h, w, c, f, k):
    """A float32 (h, w, c) input, a (k, k, c, f) kernel and f biases."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((h, w, c)).astype(np.float32), rng.standard_normal((k, k, c, f)).astype(np.float32),
            rng.standard_normal(f).astype(np.float32))


@settings(max_examples=40, deadline=None)
@given(h=small, w=small, c=st.integers(1, 3), f=st.integers(1, 3), k=st.integers(1, 4), d=st.integers(1, 2),
       padding=padding, band=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_conv2d_stride1_in_many_bands_matches_naive(h, w, c, f, k, d, padding, band, seed):
    """Stride-1 conv works on bands of output rows; tiny bands make every seam appear on small inputs."""
    if padding == "valid":
        assume(min(h, w) >= d * (k - 1) + 1)
    x, kernel, bias = random_conv(seed, h, w, c, f, k)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ops, "_BAND_VALUES", band)
        y = ops.conv2d(x, kernel, bias, (1, 1), padding, (d, d))
    np.testing.assert_allclose(y, ref.conv2d(x, kernel, bias, (1, 1), padding, (d, d)), atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 3), f=st.integers(1, 3), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=padding, op=st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 2))),
       seed=st.integers(0, 2**16))
def test_conv2d_transpose_matches_naive(h, w, c, f, kh, kw, sh, sw, dh, dw, padding, op, seed):
    if op is not None:
        assume(op[0] < sh and op[1] < sw)
        assume(ref.transpose_shape(h, kh, sh, padding, op[0], dh)[0] >= 1)
        assume(ref.transpose_shape(w, kw, sw, padding, op[1], dw)[0] >= 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    kernel = rng.standard_normal((kh, kw, f, c)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32)
    y = ops.conv2d_transpose(x, kernel, bias, (sh, sw), padding, op, (dh, dw))
    np.testing.assert_allclose(y, ref.conv2d_transpose(x, kernel, bias, (sh, sw), padding, op, (dh, dw)), atol=1e-5)


@settings(max_examples=80, deadline=None)
@given(h=small, w=small, c=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       strides=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))), padding=padding,
       mode=st.sampled_from(["max", "average"]), seed=st.integers(0, 2**16))
def test_pool2d_matches_naive(h, w, c, kh, kw, strides, padding, mode, seed):
    if padding == "valid":
        assume(h >= kh and w >= kw)
    x = np.random.default_rng(seed).standard_normal((h, w, c)).astype(np.float32)
    y = ops.pool2d(x, (kh, kw), strides, padding, mode)
    np.testing.assert_allclose(y, ref.pool2d(x, (kh, kw), strides, padding, mode), atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(h=small, w=small, c=st.integers(1, 3), fh=st.integers(1, 4), fw=st.integers(1, 4),
       band=st.sampled_from([1, 5, 30, 1 << 16]), seed=st.integers(0, 2**16))
def test_upsampling_matches_naive(h, w, c, fh, fw, band, seed):
    x = np.random.default_rng(seed).standard_normal((h, w, c)).astype(np.float32)
    with pytest.MonkeyPatch.context() as patch:  # bilinear works on bands of output rows
        patch.setattr(ops, "_BAND_VALUES", band)
        bilinear = ops.upsample2d(x, (fh, fw), "bilinear")
    np.testing.assert_allclose(bilinear, ref.bilinear(x, (fh, fw)), atol=1e-5)
    np.testing.assert_array_equal(ops.upsample2d(x, (fh, fw), "nearest"), ref.nearest(x, (fh, fw)))


@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 9), factor=st.integers(1, 5))
def test_bilinear_matrix_rows_are_convex_weights(n_in, factor):
    r = ops.bilinear_matrix(n_in, n_in * factor)
    assert r.shape == (n_in * factor, n_in)
    np.testing.assert_allclose(r.sum(axis=1), 1)
    assert (r >= 0).all() and ((r > 0).sum(axis=1) <= 2).all()


# ---- torch cross-checks (torch is in the dev venv, not a project dependency) -----------------------
def _torch():
    return pytest.importorskip("torch")


def _to_torch(x):
    torch = _torch()
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def _from_torch(t):
    return t[0].numpy().transpose(1, 2, 0)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(2, 12), w=st.integers(2, 12), c=st.integers(1, 4), f=st.integers(1, 4), k=st.integers(1, 5),
       s=st.integers(1, 3), d=st.integers(1, 2), padding=padding, seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(h, w, c, f, k, s, d, padding, seed):
    torch = _torch()
    if padding == "valid":
        assume(min(h, w) >= d * (k - 1) + 1)
    x, kernel, bias = random_conv(seed, h, w, c, f, k)
    xt = _to_torch(x)
    if padding == "same":  # emulate TF's split: F.pad then padding=0
        (top, bottom), (left, right) = same_padding(h, k, s, d), same_padding(w, k, s, d)
        xt = torch.nn.functional.pad(xt, (left, right, top, bottom))
    wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    expected = _from_torch(torch.nn.functional.conv2d(xt, wt, torch.from_numpy(bias), stride=s, dilation=d))
    np.testing.assert_allclose(ops.conv2d(x, kernel, bias, (s, s), padding, (d, d)), expected, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 8), w=st.integers(1, 8), c=st.integers(1, 4), f=st.integers(1, 4), k=st.integers(1, 5),
       s=st.integers(1, 3), d=st.integers(1, 2), padding=padding, op=st.one_of(st.none(), st.integers(0, 2)),
       seed=st.integers(0, 2**16))
def test_conv2d_transpose_matches_torch(h, w, c, f, k, s, d, padding, op, seed):
    """torch with padding=0, then the Keras crop sliced out (rows past F are zeros)."""
    torch = _torch()
    if op is not None:
        assume(op < s)
    oh, top = ref.transpose_shape(h, k, s, padding, op, d)
    ow, left = ref.transpose_shape(w, k, s, padding, op, d)
    assume(oh >= 1 and ow >= 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    kernel = rng.standard_normal((k, k, f, c)).astype(np.float32)
    wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    full = _from_torch(torch.nn.functional.conv_transpose2d(_to_torch(x), wt, stride=s, dilation=d))
    expected = np.zeros((oh, ow, f), np.float32)
    part = full[top : top + oh, left : left + ow]
    expected[: part.shape[0], : part.shape[1]] = part
    y = ops.conv2d_transpose(x, kernel, None, (s, s), padding, None if op is None else (op, op), (d, d))
    np.testing.assert_allclose(y, expected, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), c=st.integers(1, 3), k=st.integers(1, 4), s=st.integers(1, 3),
       padding=padding, seed=st.integers(0, 2**16))
def test_pooling_matches_torch(h, w, c, k, s, padding, seed):
    torch = _torch()
    if padding == "valid":
        assume(min(h, w) >= k)
    x = np.random.default_rng(seed).standard_normal((h, w, c)).astype(np.float32)
    xt = _to_torch(x)
    if padding == "same":
        (top, bottom), (left, right) = same_padding(h, k, s), same_padding(w, k, s)
        pads = (left, right, top, bottom)
        max_in = torch.nn.functional.pad(xt, pads, value=-float("inf"))
        sums = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(xt, pads), k, s) * k * k
        counts = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(torch.ones_like(xt), pads), k, s) * k * k
        avg = sums / counts
    else:
        max_in, avg = xt, torch.nn.functional.avg_pool2d(xt, k, s)
    np.testing.assert_allclose(ops.pool2d(x, (k, k), (s, s), padding, "max"),
                               _from_torch(torch.nn.functional.max_pool2d(max_in, k, s)), atol=1e-5)
    np.testing.assert_allclose(ops.pool2d(x, (k, k), (s, s), padding, "average"), _from_torch(avg), atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 10), w=st.integers(1, 10), c=st.integers(1, 3), fh=st.integers(1, 4), fw=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_upsampling_matches_torch_interpolate(h, w, c, fh, fw, seed):
    torch = _torch()
    x = np.random.default_rng(seed).standard_normal((h, w, c)).astype(np.float32)
    size = (h * fh, w * fw)
    bilinear = torch.nn.functional.interpolate(_to_torch(x), size=size, mode="bilinear", align_corners=False)
    nearest = torch.nn.functional.interpolate(_to_torch(x), size=size, mode="nearest")
    np.testing.assert_allclose(ops.upsample2d(x, (fh, fw), "bilinear"), _from_torch(bilinear), atol=1e-5)
    np.testing.assert_array_equal(ops.upsample2d(x, (fh, fw), "nearest"), _from_torch(nearest))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 9), k=st.integers(1, 4), s=st.integers(1, 3), padding=padding, c=st.integers(1, 3),
       f=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_transpose_is_the_adjoint_of_conv_with_the_same_kernel(n, k, s, padding, c, f, seed):
    """⟨Conv(a), b⟩ = ⟨ConvT(b), a⟩ (docs/layers.md), with output_padding chosen to give back n."""
    out = -(-n // s) if padding == "same" else (n - k) // s + 1
    assume(out >= 1)
    op = n - ((out - 1) * s + (k % 2 if padding == "same" else k))
    assume(0 <= op < s)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n, c)).astype(np.float32)
    b = rng.standard_normal((out, out, f)).astype(np.float32)
    kernel = rng.standard_normal((k, k, c, f)).astype(np.float32)  # Conv2D (in=c, out=f) = ConvT (out=c, in=f)
    conv = ops.conv2d(a, kernel, None, (s, s), padding)
    back = ops.conv2d_transpose(b, kernel, None, (s, s), padding, (op, op))
    assert back.shape == a.shape
    np.testing.assert_allclose(np.vdot(conv, b), np.vdot(back, a), rtol=1e-4, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 3), f=st.integers(1, 3), k=st.integers(1, 4),
       s=st.integers(1, 3), d=st.integers(1, 2), padding=padding, op=st.one_of(st.none(), st.integers(0, 2)),
       band=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_conv2d_transpose_in_many_bands_matches_naive(h, w, c, f, k, s, d, padding, op, band, seed):
    """The scatter runs over bands of input rows straight into the cropped output; tiny bands show seams."""
    if op is not None:
        assume(op < s)
        assume(ref.transpose_shape(h, k, s, padding, op, d)[0] >= 1)
        assume(ref.transpose_shape(w, k, s, padding, op, d)[0] >= 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    kernel = rng.standard_normal((k, k, f, c)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32)
    ops_op = None if op is None else (op, op)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ops, "_BAND_VALUES", band)
        y = ops.conv2d_transpose(x, kernel, bias, (s, s), padding, ops_op, (d, d))
    np.testing.assert_allclose(y, ref.conv2d_transpose(x, kernel, bias, (s, s), padding, ops_op, (d, d)), atol=1e-5)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 6), k=st.integers(1, 5), s=st.integers(1, 3), padding=padding,
       op=st.one_of(st.none(), st.integers(0, 2)), c=st.integers(1, 2), f=st.integers(1, 2), seed=st.integers(0, 999))
def test_transpose_is_conv_of_zero_stuffed_input_with_rotated_kernel(n, k, s, padding, op, c, f, seed):
    """Dumoulin & Visin (vdumoulin/conv_arithmetic): s−1 zeros between samples, p' = k − 1 − top before,
    O + k − 1 − p' − ((n−1)s+1) after, then a valid conv with W[::-1, ::-1] (in/out swapped)."""
    if op is not None:
        assume(op < s)
    out, top = ref.transpose_shape(n, k, s, padding, op)
    assume(out >= 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n, c)).astype(np.float32)
    kernel = rng.standard_normal((k, k, f, c)).astype(np.float32)  # Conv2DTranspose layout (out=f, in=c)
    stuffed = np.zeros(((n - 1) * s + 1, (n - 1) * s + 1, c), np.float32)
    stuffed[::s, ::s] = x
    before = k - 1 - top
    after = out + k - 1 - before - ((n - 1) * s + 1)
    padded = np.pad(stuffed, ((before, after), (before, after), (0, 0)))
    rotated = kernel[::-1, ::-1].transpose(0, 1, 3, 2)  # (k, k, in=c, out=f) for Conv2D
    expected = ops.conv2d(padded, rotated, None, (1, 1), "valid")
    got = ops.conv2d_transpose(x, kernel, None, (s, s), padding, None if op is None else (op, op))
    np.testing.assert_allclose(got, expected, atol=1e-5)
