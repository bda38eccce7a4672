"""The written-out backward sums equal the layers' own gradients: docs/training.md's worked Conv2D example
exactly, then random convolutions (strides, dilation, padding) against the backward pass and central
finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import Pipeline
from cnnviz.core.backprop import backward_pass, input_gradient_terms, weight_gradient_terms
from cnnviz.core.training import get_optimizer
from cnnviz.core.layers import Conv2D, Dense, Flatten


def worked_conv():
    layer = Conv2D(1, 2, use_bias=False)
    layer.build((3, 3, 1))
    layer.set_weights([np.array([[1, 2], [3, 4]], np.float32)[:, :, None, None]])
    return layer, np.arange(9, dtype=np.float64).reshape(3, 3, 1), np.array([[1, 0], [0, 2]], np.float64)[:, :, None]


def test_the_worked_example_weight_and_input_sums():
    layer, x, dy = worked_conv()
    dw = [[sum(xv * d for *_, xv, d in weight_gradient_terms(layer, x, dy, a, b, 0, 0)) for b in range(2)]
          for a in range(2)]
    assert dw == [[8, 11], [17, 20]]
    terms = weight_gradient_terms(layer, x, dy, 1, 0, 0, 0)  # x[i+1, j]·dy[i, j]: 3·1 + 4·0 + 6·0 + 7·2
    assert [(xv, d) for *_, xv, d in terms] == [(3, 1), (4, 0), (6, 0), (7, 2)]
    kernel = layer.get_weights()[0]
    dx = [[sum(w * d for *_, w, d in input_gradient_terms(layer, x.shape, kernel, dy, r, q, 0)) for q in range(3)]
          for r in range(3)]
    assert dx == [[1, 2, 0], [3, 6, 4], [0, 6, 8]]
    assert len(input_gradient_terms(layer, x.shape, kernel, dy, 1, 1, 0)) == 4  # the centre fed all four outputs


@settings(max_examples=40, deadline=None)
@given(n=st.integers(4, 8), k=st.integers(1, 3), s=st.integers(1, 2), d=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), c=st.integers(1, 2), f=st.integers(1, 2), seed=st.integers(0, 99))
def test_the_sums_equal_the_backward_pass(n, k, s, d, padding, c, f, seed):
    if s > 1 and d > 1 or (n - (k - 1) * d) < 1:
        return
    rng = np.random.default_rng(seed)
    layer = Conv2D(f, k, strides=s, dilation_rate=d, padding=padding)
    layer.build((n, n, c))
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    x = rng.standard_normal((n, n, c))
    y = layer.forward(x[None])[0]
    dy = rng.standard_normal(y.shape)
    dx, (dw, _) = layer.backward(x[None], dy[None])
    kernel = layer.get_weights()[0]
    for a in range(k):
        for b in range(k):
            total = sum(xv * g for *_, xv, g in weight_gradient_terms(layer, x, dy, a, b, c - 1, f - 1))
            assert total == pytest.approx(dw[a, b, c - 1, f - 1], abs=1e-4)
    for r in range(n):
        for q in range(n):
            total = sum(w * g for *_, w, g in input_gradient_terms(layer, x.shape, kernel, dy, r, q, 0))
            assert total == pytest.approx(dx[0, r, q, 0], abs=1e-4)


def test_backward_pass_gradients_are_central_differences_of_the_loss():
    rng = np.random.default_rng(3)
    p = Pipeline((5, 5, 1), [Conv2D(2, 3), Flatten(), Dense(3, activation="softmax")])
    p.build()
    p.set_weights([[rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()] for layer in p.layers])
    x = rng.random((5, 5, 1))
    loss, levels = backward_pass(p, x, 2, "sparse_categorical_crossentropy")
    kernel = p.layers[0].kernel
    h = 1e-3

    def loss_at(value):
        old = kernel[1, 2, 0, 1]
        kernel[1, 2, 0, 1] = value
        out = backward_pass(p, x, 2, "sparse_categorical_crossentropy")[0]
        kernel[1, 2, 0, 1] = old
        return out

    w = float(kernel[1, 2, 0, 1])
    numeric = (loss_at(w + h) - loss_at(w - h)) / (2 * h)
    assert levels[0].grads[0][1, 2, 0, 1] == pytest.approx(numeric, rel=2e-2, abs=1e-4)
    assert levels[-1].dy.shape == (3,) and levels[-1].dy.sum() == pytest.approx(0, abs=1e-6)  # p − t


def test_update_numbers_follow_keras_rules():
    # docs/training.md's worked step: gradient 5 on weight 1, lr 0.1
    def first_step(name):
        return get_optimizer({"class_name": name, "config": {"learning_rate": 0.1}}).explain(1.0, 5.0, None)

    assert first_step("SGD")["w_new"] == pytest.approx(0.5)
    adam = first_step("Adam")
    assert adam["slots"]["m"] == pytest.approx(0.5) and adam["slots"]["v"] == pytest.approx(0.025)
    assert adam["w_new"] == pytest.approx(0.90000075, abs=2e-6)
    assert first_step("RMSprop")["w_new"] == pytest.approx(0.68377221, abs=2e-6)
