"""The batched forward maths (cnnviz.core.batch_ops) and its vector-Jacobian products (cnnviz.core.grad_ops):
every gradient against central finite differences in float64 on random shapes and parameters, the worked
examples of docs/training.md exactly (ties, kinks), and each batched op against the single-image op."""

import numpy as np
import pytest
from gradcheck import check_vjp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnnviz.core import batch_ops as B
from cnnviz.core import grad_ops as G
from cnnviz.core import ops
from cnnviz.core.arithmetic import conv_output_size, transpose_output_size

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
paddings = st.sampled_from(["valid", "same"])


def rand(rng, *shape):
    return rng.standard_normal(shape)


def fits(h, w, k, s, padding, d=(1, 1)):
    return min(conv_output_size(n, kk, ss, padding, dd) for n, kk, ss, dd in zip((h, w), k, s, d)) >= 1


# ---- finite differences on random shapes and parameters ---------------------------------------------
@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 2), f=st.integers(1, 2),
       k=pair, s=pair, d=pair, padding=paddings, seed=st.integers(0, 2**16))
def test_conv2d_gradients(n, h, w, c, f, k, s, d, padding, seed):
    if max(s) > 1:
        d = (1, 1)  # Keras refuses strides > 1 with dilation > 1
    assume(fits(h, w, k, s, padding, d))
    rng = np.random.default_rng(seed)

    def forward(x, kernel, bias):
        return B.conv2d(x, kernel, bias, s, padding, d)

    def backward(dy, x, kernel, bias):
        return G.conv2d(x, dy, kernel, s, padding, d)

    check_vjp(forward, backward, [rand(rng, n, h, w, c), rand(rng, *k, c, f), rand(rng, f)], rng)


@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 4), w=st.integers(1, 4), c=st.integers(1, 2), f=st.integers(1, 2),
       k=pair, s=pair, d=pair, padding=paddings, op=st.one_of(st.none(), pair), seed=st.integers(0, 2**16))
def test_conv2d_transpose_gradients(n, h, w, c, f, k, s, d, padding, op, seed):
    if max(s) > 1:
        d = (1, 1)
    if op is not None:
        op = tuple(min(o, ss - 1) for o, ss in zip(op, s))
    assume(min(transpose_output_size(nn, kk, ss, padding, None if op is None else o, dd)
               for nn, kk, ss, o, dd in zip((h, w), k, s, op or (0, 0), d)) >= 1)
    rng = np.random.default_rng(seed)

    def forward(x, kernel, bias):
        return B.conv2d_transpose(x, kernel, bias, s, padding, op, d)

    def backward(dy, x, kernel, bias):
        return G.conv2d_transpose(x, dy, kernel, s, padding, op, d)

    check_vjp(forward, backward, [rand(rng, n, h, w, c), rand(rng, *k, f, c), rand(rng, f)], rng)


@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 2), m=st.integers(1, 2),
       k=pair, s=pair, d=pair, padding=paddings, seed=st.integers(0, 2**16))
def test_depthwise_conv2d_gradients(n, h, w, c, m, k, s, d, padding, seed):
    assume(fits(h, w, k, s, padding, d))  # Keras accepts strides and dilation together here (docs/layers.md)
    rng = np.random.default_rng(seed)

    def forward(x, kernel, bias):
        return B.depthwise_conv2d(x, kernel, bias, s, padding, d)

    def backward(dy, x, kernel, bias):
        return G.depthwise_conv2d(x, dy, kernel, s, padding, d)

    check_vjp(forward, backward, [rand(rng, n, h, w, c), rand(rng, *k, c, m), rand(rng, c * m)], rng)


@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 2), k=pair,
       s=st.one_of(st.none(), pair), padding=paddings, mode=st.sampled_from(["max", "average"]),
       seed=st.integers(0, 2**16))
def test_pooling_gradients(n, h, w, c, k, s, padding, mode, seed):
    assume(fits(h, w, k, s or k, padding))
    rng = np.random.default_rng(seed)  # continuous values: no ties, so the max is differentiable

    def forward(x):
        return B.pool2d(x, k, s, padding, mode)

    def backward(dy, x):
        return [G.pool2d(x, dy, k, s, padding, mode)]

    check_vjp(forward, backward, [rand(rng, n, h, w, c)], rng)


@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 4), w=st.integers(1, 4), c=st.integers(1, 2),
       mode=st.sampled_from(["max", "average"]), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_global_pooling_gradients(n, h, w, c, mode, keepdims, seed):
    rng = np.random.default_rng(seed)
    check_vjp(lambda x: B.global_pool(x, mode, keepdims), lambda dy, x: [G.global_pool(x, dy, mode, keepdims)],
              [rand(rng, n, h, w, c)], rng)


@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 4), w=st.integers(1, 4), c=st.integers(1, 2), size=pair,
       interpolation=st.sampled_from(["nearest", "bilinear"]), seed=st.integers(0, 2**16))
def test_upsampling_gradients(n, h, w, c, size, interpolation, seed):
    rng = np.random.default_rng(seed)
    check_vjp(lambda x: B.upsample2d(x, size, interpolation),
              lambda dy, x: [G.upsample2d(x, dy, size, interpolation)], [rand(rng, n, h, w, c)], rng)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       name=st.sampled_from(["relu", "sigmoid", "tanh", "linear", "softmax", "leaky_relu"]),
       slope=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_activation_gradients(shape, name, slope, seed):
    rng = np.random.default_rng(seed)
    check_vjp(lambda x: B.activation(x, name, slope), lambda dy, x: [G.activation(x, dy, name, slope)],
              [rand(rng, *shape)], rng)


@SETTINGS
@given(axes=st.sampled_from([-1, 1, (1, 2)]), seed=st.integers(0, 2**16))
def test_softmax_gradient_along_any_axes(axes, seed):
    rng = np.random.default_rng(seed)
    check_vjp(lambda x: B.softmax(x, axes), lambda dy, x: [G.softmax(B.softmax(x, axes), dy, axes)],
              [rand(rng, 2, 3, 2, 3)], rng)


@SETTINGS
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=3), units_in=st.integers(1, 4),
       units=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_dense_gradients(lead, units_in, units, seed):
    rng = np.random.default_rng(seed)
    check_vjp(B.dense, lambda dy, x, kernel, bias: G.dense(x, dy, kernel),
              [rand(rng, *lead, units_in), rand(rng, units_in, units), rand(rng, units)], rng)


@SETTINGS
@given(n=st.integers(1, 3), h=st.integers(1, 3), c=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_batch_norm_inference_gradients(n, h, c, seed):
    rng = np.random.default_rng(seed)
    mean, variance = rand(rng, c), rng.uniform(0.1, 2, c)

    def forward(x, gamma, beta):
        return B.batch_norm(x, gamma, beta, mean, variance, 1e-3)

    check_vjp(forward, lambda dy, x, gamma, beta: G.batch_norm(x, dy, gamma, mean, variance, 1e-3),
              [rand(rng, n, h, h, c), rand(rng, c), rand(rng, c)], rng)


@SETTINGS
@given(n=st.integers(2, 3), h=st.integers(1, 3), c=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_batch_norm_training_gradients(n, h, c, seed):
    rng = np.random.default_rng(seed)

    def forward(x, gamma, beta):
        axes = (0, 1, 2)
        return B.batch_norm(x, gamma, beta, x.mean(axis=axes), x.var(axis=axes), 1e-3)

    check_vjp(forward, lambda dy, x, gamma, beta: G.batch_norm_training(x, dy, gamma, 1e-3),
              [rand(rng, n, h, h, c), rand(rng, c), rand(rng, c)], rng, atol=1e-5)


def test_dropout_gradient_uses_the_forward_mask():
    rng = np.random.default_rng(0)
    x, mask = rand(rng, 2, 3, 3, 2), rng.random((2, 3, 3, 2)) > 0.25
    check_vjp(lambda x: B.dropout(x, 0.25, mask), lambda dy, x: [G.dropout(dy, 0.25, mask)], [x], rng)
    np.testing.assert_array_equal(G.dropout(np.ones(3), 0.5, None), np.ones(3))  # inference: identity


# ---- docs/training.md, exactly ---------------------------------------------------------------------------
def b4(a):
    """A 2-D example as a batch of one image with one channel."""
    return np.asarray(a, dtype=np.float64)[None, :, :, None]


def test_conv2d_worked_example():
    x, kernel = b4(np.arange(9).reshape(3, 3)), np.array([[1, 2], [3, 4]], float).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(B.conv2d(x, kernel)[0, :, :, 0], [[27, 37], [57, 67]])
    dx, dk, db = G.conv2d(x, b4([[1, 0], [0, 2]]), kernel)
    np.testing.assert_array_equal(dk[:, :, 0, 0], [[8, 11], [17, 20]])
    np.testing.assert_array_equal(db, [3])
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 2, 0], [3, 6, 4], [0, 6, 8]])
    dx, dk, _ = G.conv2d(x, b4(np.ones((2, 2))), kernel)
    np.testing.assert_array_equal(dk[:, :, 0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])


def test_conv2d_cells_valid_never_reads_get_no_gradient():
    dx, _, _ = G.conv2d(np.ones((1, 6, 6, 1)), np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), (2, 2))
    assert (dx[0, 5] == 0).all() and (dx[0, :, 5] == 0).all() and (dx[0, :5, :5] > 0).all()


def test_max_pooling_ties_go_to_the_first_maximum():
    x = b4([[5, 5, 0, 7], [5, 5, 7, 1], [9, 2, 3, 3], [1, 9, 8, 8]])
    np.testing.assert_array_equal(B.pool2d(x, (2, 2))[0, :, :, 0], [[5, 7], [9, 8]])
    dx = G.pool2d(x, b4([[1, 2], [3, 4]]), (2, 2))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0, 0, 2], [0, 0, 0, 0], [3, 0, 0, 0], [0, 0, 4, 0]])


def test_max_pooling_overlapping_windows_add():
    centre = np.zeros((3, 3))
    centre[1, 1] = 9
    dy = b4([[1, 2], [3, 4]])
    np.testing.assert_array_equal(G.pool2d(b4(centre), dy, (2, 2), (1, 1))[0, :, :, 0],
                                  [[0, 0, 0], [0, 10, 0], [0, 0, 0]])
    np.testing.assert_array_equal(G.pool2d(b4(np.full((3, 3), 3)), dy, (2, 2), (1, 1))[0, :, :, 0],
                                  [[1, 2, 0], [3, 4, 0], [0, 0, 0]])


def test_max_pooling_same_ignores_padding_on_negative_input():
    x = b4(-np.arange(1, 10).reshape(3, 3))
    np.testing.assert_array_equal(B.pool2d(x, (2, 2), None, "same")[0, :, :, 0], [[-1, -3], [-7, -9]])
    dx = G.pool2d(x, b4([[1, 2], [3, 4]]), (2, 2), None, "same")
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0, 2], [0, 0, 0], [3, 0, 4]])


def test_global_max_pooling_splits_among_ties():
    x = b4([[3, 1], [3, 3]])
    np.testing.assert_array_equal(G.global_pool(x, np.array([[6.0]]), "max")[0, :, :, 0], [[2, 0], [2, 2]])
    np.testing.assert_array_equal(G.pool2d(x, b4([[6]]), (2, 2))[0, :, :, 0], [[6, 0], [0, 0]])
    np.testing.assert_array_equal(G.global_pool(b4(np.zeros((2, 2))), np.array([[6.0]]))[0, :, :, 0], 1.5)


def test_average_pooling_same_divides_by_real_cells():
    dx = G.pool2d(b4(np.zeros((3, 3))), b4([[1, 2], [3, 4]]), (2, 2), None, "same", "average")
    np.testing.assert_array_equal(dx[0, :, :, 0], [[.25, .25, 1], [.25, .25, 1], [1.5, 1.5, 4]])


def test_bilinear_upsampling_adjoint_worked_example():
    x = b4(np.zeros((2, 2)))
    np.testing.assert_allclose(G.upsample2d(x, b4(np.ones((4, 4))), (2, 2), "bilinear")[0, :, :, 0], 4)
    delta = np.zeros((4, 4))
    delta[1, 1] = 1
    np.testing.assert_allclose(G.upsample2d(x, b4(delta), (2, 2), "bilinear")[0, :, :, 0],
                               [[0.5625, 0.1875], [0.1875, 0.0625]])


def test_activation_kinks_follow_tensorflow():
    x = np.array([-2, -0.5, 0, 0.5, 2, 6, 7])
    ones = np.ones_like(x)
    np.testing.assert_array_equal(G.activation(x, ones, "relu"), [0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(G.activation(x, ones, "leaky_relu", 0.3), [.3, .3, .3, 1, 1, 1, 1])
    np.testing.assert_allclose(G.activation(np.array([0.0, 2, -2]), np.ones(3), "sigmoid"),
                               [0.25, 0.10499359, 0.10499359], atol=1e-8)
    np.testing.assert_allclose(G.activation(np.array([0.0, 2, -2]), np.ones(3), "tanh"),
                               [1, 0.0706508, 0.0706508], atol=1e-7)
    np.testing.assert_allclose(G.activation(np.zeros(2), np.array([1.0, 0]), "softmax"), [0.25, -0.25])


def test_dense_and_batch_norm_worked_examples():
    dx, dk, db = G.dense(np.array([1.0, 2, 3]), np.array([1.0, -1]), np.array([[1.0, 2], [3, 4], [5, 6]]))
    np.testing.assert_array_equal(dx, [-1, -1, -1])
    np.testing.assert_array_equal(dk, [[1, -1], [2, -2], [3, -3]])
    np.testing.assert_array_equal(db, [1, -1])
    x = np.array([3.0, 3])[None, None, None]
    dx, dg, dbeta = G.batch_norm(x, np.ones_like(x), np.array([2, .5]), np.array([1, 2.0]), np.array([4, .25]), 1e-3)
    np.testing.assert_allclose(dg, [0.99987507, 1.99601209])
    np.testing.assert_array_equal(dbeta, [1, 1])
    np.testing.assert_allclose(dx.ravel(), [0.99987507, 0.99800605])


# ---- one image of a batch = the single-image op ----------------------------------------------------------
@SETTINGS
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3), f=st.integers(1, 3), k=pair, s=pair,
       padding=paddings, seed=st.integers(0, 2**16))
def test_batched_ops_equal_single_image_ops(h, w, c, f, k, s, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, h, w, c)).astype(np.float32)
    kernel, bias = rng.standard_normal((*k, c, f)).astype(np.float32), rng.standard_normal(f).astype(np.float32)
    cases = [(lambda v: B.upsample2d(v, s, "bilinear"), lambda v: ops.upsample2d(v, s, "bilinear")),
             (lambda v: B.upsample2d(v, s), lambda v: ops.upsample2d(v, s)),
             (lambda v: B.conv2d_transpose(v, kernel.transpose(0, 1, 3, 2)[..., :c], None, s, padding),
              lambda v: ops.conv2d_transpose(v, kernel.transpose(0, 1, 3, 2)[..., :c], None, s, padding))]
    if fits(h, w, k, s, padding):
        cases += [(lambda v: B.conv2d(v, kernel, bias, s, padding), lambda v: ops.conv2d(v, kernel, bias, s, padding)),
                  (lambda v: B.pool2d(v, k, s, padding), lambda v: ops.pool2d(v, k, s, padding)),
                  (lambda v: B.pool2d(v, k, s, padding, "average"),
                   lambda v: ops.pool2d(v, k, s, padding, "average"))]
    for batched, single in cases:
        y = batched(x)
        assert y.dtype == np.float32
        for i in range(len(x)):
            np.testing.assert_allclose(y[i], single(x[i]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    x = np.ones((1, 4, 4, 1), dtype)
    kernel = np.ones((3, 3, 1, 2), dtype)
    assert B.conv2d(x, kernel, np.zeros(2, dtype)).dtype == dtype
    assert all(g.dtype == dtype for g in G.conv2d(x, np.ones((1, 2, 2, 2), dtype), kernel))
    assert G.pool2d(x, np.ones((1, 2, 2, 1), dtype)).dtype == dtype
    assert G.upsample2d(x, np.ones((1, 8, 8, 1), dtype), (2, 2), "bilinear").dtype == dtype
