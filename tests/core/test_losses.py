"""Losses and accuracy: the values and gradients Keras on TensorFlow gives (docs/training.md), and
every gradient against central finite differences away from the clip bounds."""

import numpy as np
import pytest
from gradcheck import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import ConfigError
from cnnviz.core.training import accuracy, get_loss, loss_to_config

NAMES = ["mean_squared_error", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy"]


def value(name, t, p, **kw):
    return get_loss({"class_name": name, "config": kw} if kw else name).value_and_grad(t, p)


def test_mean_squared_error_example():
    loss, grad = value("mse", [[0, 1, 2], [1, 1, 1]], [[1, 1, 4], [1, 2, 1]])
    assert loss == pytest.approx(1.0)
    np.testing.assert_allclose(grad, [[1 / 3, 0, 2 / 3], [0, 1 / 3, 0]])


@pytest.mark.parametrize(("p", "loss", "grad"), [
    ([0.7, 0.2, 0.1], 0.35667497, [-0.4285714, 1, 1]),
    ([0.2, 0.2, 0.1], 0.9162907, [-3, 2, 2]),
    ([0, 1, 0], 16.118095, [0, 0, 0]),
    ([1, 0, 0], 1.1920929e-7, [0, 0, 0]),
    ([0, 0.5, 0], 16.118095, [0, 0, 0]),
])
def test_categorical_crossentropy_renormalises_then_clips(p, loss, grad):
    got, g = value("categorical_crossentropy", [[1, 0, 0]], [p])
    assert got == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(g[0], grad, atol=1e-6)


def test_categorical_crossentropy_from_logits():
    got, g = value("CategoricalCrossentropy", [[0, 1, 0]], [[2, 1, -1]], from_logits=True)
    assert got == pytest.approx(1.3490121, rel=1e-6)
    np.testing.assert_allclose(g[0], [0.70538455, -0.74050355, 0.03511903], atol=1e-7)
    got, g = value("CategoricalCrossentropy", [[1, 0, 0]], [[-20, 20, 0]], from_logits=True)
    assert got == pytest.approx(40.0)
    np.testing.assert_allclose(g[0], [-1, 1, 2.06e-9], atol=1e-10)
    got, g = value("CategoricalCrossentropy", [[1, 0, 0]], [[1000, 0, -1000]], from_logits=True)
    assert got == 0.0 and np.isfinite(g).all()


def test_sparse_categorical_crossentropy_clips_then_renormalises():
    assert value("sparse_categorical_crossentropy", [0], [[0, 0.5, 0]])[0] == pytest.approx(15.4249477, rel=1e-6)
    assert value("categorical_crossentropy", [[1, 0, 0]], [[0, 0.5, 0]])[0] == pytest.approx(16.1180954, rel=1e-6)
    for labels in ([0], [[0]]):  # (N,) or (N, 1)
        assert value("sparse_categorical_crossentropy", labels, [[0.7, 0.2, 0.1]])[0] == pytest.approx(0.35667497)
    got, g = value("SparseCategoricalCrossentropy", [1], [[2, 1, -1]], from_logits=True)
    assert got == pytest.approx(1.3490121, rel=1e-6)
    np.testing.assert_allclose(g[0], [0.70538455, -0.74050355, 0.03511903], atol=1e-7)


def test_sparse_labels_are_checked():
    loss = get_loss("sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match=r"class labels must be integers 0\.\.2"):
        loss([3], [[0.2, 0.3, 0.5]])
    with pytest.raises(ConfigError, match=r"need \(2,\)"):
        loss([0, 1, 2], [[0.2, 0.3, 0.5]] * 2)


def test_binary_crossentropy_examples_and_float32_clip():
    assert value("binary_crossentropy", [[1, 0], [1, 1]], [[0.9, 0.1], [0.5, 1.0]])[0] == pytest.approx(0.22596709)
    for t, p, expected in [(0, 1, 15.942385), (1, 0, 16.118095), (1, 1, 1.1920929e-7)]:
        got, g = value("binary_crossentropy", [[t]], [[p]])
        assert got == pytest.approx(expected, rel=1e-6)
        assert g[0, 0] == 0  # clipped: no gradient
    assert value("BinaryCrossentropy", [[0]], [[20]], from_logits=True)[0] == pytest.approx(20.0)
    assert value("BinaryCrossentropy", [[1]], [[-3]], from_logits=True)[0] == pytest.approx(3.0485873)


def test_reduction_averages_over_every_value_of_a_map_output():
    rng = np.random.default_rng(0)
    t, p = rng.random((2, 3, 3, 4)), rng.random((2, 3, 3, 4))
    assert value("mse", t, p)[0] == pytest.approx(((t - p) ** 2).mean())
    summed = get_loss({"class_name": "MeanSquaredError", "config": {"reduction": "sum"}})
    assert summed(t, p) == pytest.approx(((t - p) ** 2).mean(axis=-1).sum())


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(NAMES), from_logits=st.booleans(), classes=st.integers(2, 4), seed=st.integers(0, 999))
def test_gradients_match_finite_differences(name, from_logits, classes, seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, (3, 2, classes))  # inside the clip bounds
    if name == "categorical_crossentropy":
        t = rng.dirichlet(np.ones(classes), (3, 2))
    elif name == "sparse_categorical_crossentropy":
        t = rng.integers(0, classes, (3, 2))
    else:
        t = rng.random((3, 2, classes))
    config = {} if name == "mean_squared_error" else {"from_logits": from_logits}
    loss = get_loss({"class_name": name, "config": config})
    if from_logits:
        p = rng.standard_normal(p.shape) * 3
    _, grad = loss.value_and_grad(t, p)
    np.testing.assert_allclose(grad, numeric_gradient(lambda: loss(t, p), p), atol=1e-7, rtol=1e-5)


def test_cached_logits_replace_probabilities_for_crossentropies_only():
    z = np.array([[-20.0, 20, 0]])
    e = np.exp(z - z.max())
    p = e / e.sum()
    cce = get_loss("categorical_crossentropy")
    assert cce.value_and_grad([[1, 0, 0]], p)[0] == pytest.approx(16.118095, rel=1e-6)
    assert cce.value_and_grad([[1, 0, 0]], p, logits=z)[0] == pytest.approx(40.0)
    mse = get_loss("mse")
    assert mse.value_and_grad([[1, 0, 0]], p, logits=z)[0] == pytest.approx(mse([[1, 0, 0]], p))


def test_names_configs_and_refusals():
    assert get_loss("mse").name == get_loss("mean_squared_error").name == "mean_squared_error"
    config = loss_to_config(get_loss({"class_name": "SparseCategoricalCrossentropy", "config": {
        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
        "ignore_class": None}}))
    assert config == {"class_name": "SparseCategoricalCrossentropy", "config": {
        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
        "ignore_class": None}}
    with pytest.raises(ConfigError, match="unknown loss 'hinge'"):
        get_loss("hinge")
    with pytest.raises(ConfigError, match="label_smoothing other than 0.0 is not supported"):
        get_loss({"class_name": "CategoricalCrossentropy", "config": {"label_smoothing": 0.1}})
    with pytest.raises(ConfigError, match="reduction must be one of"):
        get_loss({"class_name": "MeanSquaredError", "config": {"reduction": "mean"}})


def test_accuracy_picks_keras_variant_from_shapes():
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert accuracy(np.array([[0, 1], [0, 1], [0, 1]]), probs) == pytest.approx(2 / 3)  # categorical
    assert accuracy(np.array([1, 0, 0]), probs) == pytest.approx(2 / 3)  # sparse
    assert accuracy(np.array([[1], [0], [0]]), probs) == pytest.approx(2 / 3)  # sparse, (N, 1)
    assert accuracy(np.array([[1], [0]]), np.array([[0.6], [0.5]])) == 1.0  # binary, threshold 0.5
