"""The written-out sums of every layer with weights (DepthwiseConv2D, Conv2DTranspose, Dense, the biases,
BatchNormalization's γ and β) add up to the layers' own backward passes, and to central finite differences
of L = Σ y·dy in float64."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import Pipeline
from cnnviz.core.backprop import (
    backward_pass,
    batch_norm_gamma_terms,
    bias_gradient_terms,
    dense_input_gradient_terms,
    dense_weight_terms,
    depthwise_input_gradient_terms,
    transpose_input_gradient_terms,
    transpose_weight_terms,
    weight_gradient_terms,
)
from cnnviz.core.layers import (
    BatchNormalization,
    Conv2DTranspose,
    Dense,
    DepthwiseConv2D,
    Flatten,
)


def built(layer, shape, rng, dtype=np.float32):
    """`layer` built on `shape` with random weights (float64 ones for the finite differences)."""
    layer.build(shape)
    arrays = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights([(np.abs(a) + 0.5 if spec.name == "moving_variance" else a).astype(np.float32)
                       for spec, a in zip(layer.weight_specs(), arrays)])
    if dtype is np.float64:
        for spec in layer.weight_specs():
            setattr(layer, spec.name, getattr(layer, spec.name).astype(np.float64))
    return layer


def pass_of(layer, x, rng, training=False):
    y = layer.forward(x[None], training)[0]
    dy = rng.standard_normal(y.shape)
    dx, grads = layer.backward(x[None], dy[None], training)
    return dy, dx[0], grads


def total(terms):
    return sum(t[-2] * t[-1] for t in terms)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(4, 7), k=st.integers(1, 3), s=st.integers(1, 2), d=st.integers(1, 2), m=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), c=st.integers(1, 2), seed=st.integers(0, 99))
def test_depthwise_sums_equal_the_backward_pass(n, k, s, d, m, padding, c, seed):
    if (n - (k - 1) * d) < 1:
        return
    rng = np.random.default_rng(seed)
    layer = built(DepthwiseConv2D(k, strides=s, dilation_rate=d, padding=padding, depth_multiplier=m), (n, n, c), rng)
    x = rng.standard_normal((n, n, c))
    dy, dx, (dk, db) = pass_of(layer, x, rng)
    for ch in range(c):
        for mm in range(m):
            for a in range(k):
                for b in range(k):
                    terms = weight_gradient_terms(layer, x, dy, a, b, ch, ch * m + mm)
                    assert total(terms) == pytest.approx(dk[a, b, ch, mm], abs=1e-9)
            o = ch * m + mm
            assert sum(v for _, v in bias_gradient_terms(dy, o)) == pytest.approx(db[o], abs=1e-9)
    kernel = layer.get_weights()[0]
    for r in range(n):
        for q in range(n):
            terms = depthwise_input_gradient_terms(layer, x.shape, kernel, dy, r, q, c - 1)
            assert all(o // m == c - 1 for _, _, o, *_ in terms)  # only the channel's own filters
            assert total(terms) == pytest.approx(dx[r, q, c - 1], abs=1e-5)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 4), k=st.integers(1, 4), s=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]),
       op=st.sampled_from([None, 0, 1]), c=st.integers(1, 2), f=st.integers(1, 2), seed=st.integers(0, 99))
def test_transposed_sums_equal_the_backward_pass(n, k, s, padding, op, c, f, seed):
    if op is not None and op >= s:
        return
    rng = np.random.default_rng(seed)
    layer = built(Conv2DTranspose(f, k, strides=s, padding=padding, output_padding=op), (n, n, c), rng)
    x = rng.standard_normal((n, n, c))
    dy, dx, (dw, _db) = pass_of(layer, x, rng)
    assert dw.shape == (k, k, f, c)  # Keras's layout: rows, cols, filters, input channels
    for o in range(f):
        for ch in range(c):
            for a in range(k):
                for b in range(k):
                    terms = transpose_weight_terms(layer, x, dy, a, b, o, ch)
                    assert total(terms) == pytest.approx(dw[a, b, o, ch], abs=1e-9)
    kernel = layer.get_weights()[0]
    for i in range(n):
        for j in range(n):
            for ch in range(c):
                terms = transpose_input_gradient_terms(layer, x.shape, kernel, dy, i, j, ch)
                assert total(terms) == pytest.approx(dx[i, j, ch], abs=1e-5)


@pytest.mark.parametrize("shape", [(5,), (3, 2, 4)])
def test_dense_sums_are_the_outer_product(shape):
    rng = np.random.default_rng(1)
    layer = built(Dense(3), shape, rng)
    x = rng.standard_normal(shape)
    dy, dx, (dw, db) = pass_of(layer, x, rng)
    terms = dense_weight_terms(x, dy, 2, 1)
    assert len(terms) == (1 if len(shape) == 1 else 6)
    if len(shape) == 1:
        assert terms == [((), x[2], dy[1])]
        np.testing.assert_allclose(dw, np.outer(x, dy), atol=1e-12)
    for i in range(shape[-1]):
        for j in range(3):
            assert total(dense_weight_terms(x, dy, i, j)) == pytest.approx(dw[i, j], abs=1e-9)
    kernel = layer.get_weights()[0]
    for cell in np.ndindex(shape[:-1]):
        for i in range(shape[-1]):
            assert total(dense_input_gradient_terms(kernel, dy, cell, i)) == pytest.approx(dx[cell + (i,)], abs=1e-5)
    for j in range(3):
        assert sum(v for _, v in bias_gradient_terms(dy, j)) == pytest.approx(db[j], abs=1e-9)


@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_gamma_and_beta_sums(training):
    rng = np.random.default_rng(2)
    layer = built(BatchNormalization(), (3, 4, 2), rng)
    x = rng.standard_normal((3, 4, 2))
    keep = layer.moving_mean.copy(), layer.moving_variance.copy()
    dy, _dx, (dgamma, dbeta, *_) = pass_of(layer, x, rng, training)
    layer.moving_mean[...], layer.moving_variance[...] = keep  # the training forward moved them
    for c in range(2):
        assert total(batch_norm_gamma_terms(layer, x, dy, c, training)) == pytest.approx(dgamma[c], abs=1e-6)
        assert sum(v for _, v in bias_gradient_terms(dy, c)) == pytest.approx(dbeta[c], abs=1e-12)


def test_a_dense_with_an_activation_sums_over_its_pre_activation_gradient():
    rng = np.random.default_rng(4)
    p = Pipeline((4, 4, 1), [Flatten(), Dense(5, activation="relu"), Dense(3, activation="softmax")])
    p.build()
    p.set_weights([[rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()] for layer in p.layers])
    _, levels = backward_pass(p, rng.random((4, 4, 1)), 1, "sparse_categorical_crossentropy")
    hidden, head = levels[1], levels[2]
    assert levels[0].dz is None
    np.testing.assert_allclose(hidden.dz, np.where(hidden.y > 0, hidden.dy, 0), atol=1e-12)
    np.testing.assert_allclose(hidden.grads[0], np.outer(hidden.x, hidden.dz), atol=1e-9)
    np.testing.assert_allclose(head.dz, head.dy)  # the softmax head's dy is already of its logits (p − t)
    np.testing.assert_allclose(head.grads[1], head.dz, atol=1e-12)


# ---------------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("make, shape", [
    (lambda: DepthwiseConv2D(2, strides=2, padding="same", depth_multiplier=2), (5, 5, 2)),
    (lambda: Conv2DTranspose(2, 3, strides=2, padding="same"), (3, 3, 2)),
    (lambda: Dense(3), (4,)),
    (lambda: BatchNormalization(), (3, 3, 2)),
])
def test_every_written_sum_is_a_central_difference_of_the_loss(make, shape):
    """L = Σ y·dy with float64 weights: ∂L/∂w by central differences equals the written-out sum of every weight
    (each kernel entry, bias, γ and β)."""
    rng = np.random.default_rng(5)
    layer = built(make(), shape, rng, np.float64)
    x = rng.standard_normal(shape)
    dy = rng.standard_normal(layer.forward(x[None])[0].shape)

    def loss():
        return float((layer.forward(x[None])[0] * dy).sum())

    names = [spec.name for spec in layer.weight_specs() if spec.trainable]
    for name in names:
        numeric = numeric_gradient(loss, getattr(layer, name))
        for index in np.ndindex(numeric.shape):
            written = _written(layer, name, x, dy, index)
            assert written == pytest.approx(numeric[index], abs=1e-6), (name, index)


def _written(layer, name, x, dy, index):
    if name in ("bias", "beta"):
        return sum(v for _, v in bias_gradient_terms(dy, index[0]))
    if name == "gamma":
        return total(batch_norm_gamma_terms(layer, x, dy, index[0]))
    if isinstance(layer, DepthwiseConv2D):
        a, b, c, m = index
        return total(weight_gradient_terms(layer, x, dy, a, b, c, c * layer.depth_multiplier + m))
    if isinstance(layer, Conv2DTranspose):
        return total(transpose_weight_terms(layer, x, dy, *index))
    return total(dense_weight_terms(x, dy, *index))
