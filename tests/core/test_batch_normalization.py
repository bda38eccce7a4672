"""BatchNormalization at inference: the Keras example, its four weight arrays in Keras order, the naive
reference over random shapes and settings, refusals, provenance (its session file: tests/io/test_session_layers.py)."""

import naive_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    BatchNormalization,
    ConfigError,
    Conv2D,
    Flatten,
    Pipeline,
    cell_provenance,
    receptive_field,
)

GAMMA, BETA, MEAN, VARIANCE = ([2, 0.5], [1, -1], [1, 2], [4, 0.25])


def example_layer(**kwargs):
    layer = BatchNormalization(**kwargs)
    layer.build((2, 2, 2))
    arrays = {"gamma": GAMMA, "beta": BETA, "moving_mean": MEAN, "moving_variance": VARIANCE}
    layer.set_weights([np.array(arrays[w.name], np.float32) for w in layer.weight_specs()])
    return layer


def test_the_keras_example_to_the_last_bit():
    """Pixels [1, 2], [3, 4], [5, 6], [7, 8]; TensorFlow's x·inv + (β − μ·inv) order gives −1.0000001."""
    x = np.arange(1, 9, dtype=np.float32).reshape(2, 2, 2)
    y = example_layer()(x)
    expected = np.array([[1, -1.0000001], [2.99975014, 0.99601197], [4.99950027, 2.99202394],
                         [6.99925041, 4.98803616]], np.float32).reshape(2, 2, 2)
    np.testing.assert_allclose(y, expected, rtol=2e-7, atol=0)
    np.testing.assert_allclose(y, ref.batch_norm(x, GAMMA, BETA, MEAN, VARIANCE, 1e-3), atol=3e-7)


@pytest.mark.parametrize("center,scale,names", [
    (True, True, ["gamma", "beta", "moving_mean", "moving_variance"]),
    (False, True, ["gamma", "moving_mean", "moving_variance"]),
    (True, False, ["beta", "moving_mean", "moving_variance"]),
    (False, False, ["moving_mean", "moving_variance"]),
])
def test_weights_in_keras_order_and_counts(center, scale, names):
    layer = BatchNormalization(center=center, scale=scale)
    layer.build((3, 3, 5))
    assert [w.name for w in layer.weight_specs()] == names
    assert sum(w.size for w in layer.get_weights()) == 5 * len(names)  # Keras's summary: 4C, 3C or 2C
    assert [w.trainable for w in layer.weight_specs()] == [n in ("gamma", "beta") for n in names]
    initial = {"gamma": 1, "beta": 0, "moving_mean": 0, "moving_variance": 1}
    assert [float(w[0]) for w in layer.get_weights()] == [initial[n] for n in names]
    x = np.random.default_rng(0).standard_normal((3, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(layer(x), x / np.sqrt(1 + 1e-3), rtol=1e-6)  # fresh: only the epsilon


@settings(max_examples=40, deadline=None)
@given(shape=st.one_of(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)), st.tuples(st.integers(1, 9))),
       center=st.booleans(), scale=st.booleans(), epsilon=st.sampled_from([0.0, 1e-5, 1e-3, 0.5]),
       seed=st.integers(0, 2**16))
def test_matches_the_reference(shape, center, scale, epsilon, seed):
    layer = BatchNormalization(epsilon=epsilon, center=center, scale=scale)
    layer.build(shape)
    rng = np.random.default_rng(seed)
    arrays = {"gamma": rng.normal(size=shape[-1]), "beta": rng.normal(size=shape[-1]),
              "moving_mean": rng.normal(size=shape[-1]), "moving_variance": rng.uniform(0.1, 3, size=shape[-1])}
    layer.set_weights([arrays[w.name].astype(np.float32) for w in layer.weight_specs()])
    x = rng.normal(size=shape).astype(np.float32)
    y = layer(x)
    got = {w.name: a for w, a in zip(layer.weight_specs(), layer.get_weights())}
    expected = ref.batch_norm(x, got.get("gamma"), got.get("beta"), got["moving_mean"], got["moving_variance"], epsilon)
    np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-5)
    for cell in np.ndindex(*shape):  # the terms give the output: x·inv plus the bias β − μ·inv
        p = cell_provenance(layer, x, cell)
        assert len(p.terms) == 1 and p.terms[0].cell == cell
        assert p.value == pytest.approx(float(y[cell]), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("make,message", [
    (lambda: BatchNormalization(epsilon=-1), "BatchNormalization: epsilon must be a number ≥ 0, got -1"),
    (lambda: BatchNormalization(epsilon="0.1"), "BatchNormalization: epsilon must be a number ≥ 0, got '0.1'"),
    (lambda: BatchNormalization(momentum=1.5), "BatchNormalization: momentum must be a number from 0 to 1, got 1.5"),
    (lambda: BatchNormalization(center="yes"), "BatchNormalization: center must be true or false, got 'yes'"),
    (lambda: BatchNormalization(scale=None), "BatchNormalization: scale must be true or false, got None"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value) == message


def test_bad_weights_are_refused_with_their_arithmetic():
    layer = BatchNormalization(epsilon=0.0)
    layer.index = 2
    layer.build((2, 2, 3))
    with pytest.raises(ConfigError) as err:
        layer.set_weights([np.ones(3, np.float32)] * 3 + [np.array([1, 0, 2], np.float32)])
    assert str(err.value) == ("BatchNormalization #2: moving_variance + epsilon must be > 0 (a variance is ≥ 0), "
                              "got 0 + 0 in channel 2")
    with pytest.raises(ConfigError, match=r"^BatchNormalization #2: expected 4 weight arrays \(gamma \(3,\), beta "
                                          r"\(3,\), moving_mean \(3,\) and moving_variance \(3,\)\), got 2$"):
        layer.set_weights([np.ones(3, np.float32)] * 2)
    with pytest.raises(ConfigError, match=r"moving_mean must have shape \(3,\), got \(2,\)"):
        layer.set_weights([np.ones(3, np.float32)] * 2 + [np.ones(2, np.float32), np.ones(3, np.float32)])


def test_cell_to_cell_field_and_vector_levels():
    p = Pipeline((4, 4, 1), [Conv2D(2, 3), BatchNormalization(), Flatten(), BatchNormalization(scale=False)])
    x = np.random.default_rng(1).standard_normal((4, 4, 1)).astype(np.float32)
    outputs = p.run(x)
    assert [o.shape for o in outputs] == [(2, 2, 2), (2, 2, 2), (8,), (8,)]
    levels = p.levels(x, outputs)
    field = receptive_field(p, levels, 2, (1, 0, 1))
    assert field[1] == {(1, 0, 1)} and len(field[0]) == 9
    assert BatchNormalization().explain_output_shape((4, 4, 2)) == ["rows: 4 (unchanged)", "cols: 4 (unchanged)",
                                                                   "depth: 2 (unchanged)"]


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.99, 1.0])
def test_a_training_step_moves_the_moving_statistics_by_the_momentum(momentum):
    """μ ← momentum·μ + (1 − momentum)·(the batch's mean), σ² likewise with the biased variance (as Keras)."""
    layer = BatchNormalization(momentum=momentum)
    x = np.random.default_rng(4).standard_normal((5, 3, 2, 2)).astype(np.float32)
    layer.build(x.shape[1:])
    mean, variance = layer.moving_mean.copy(), layer.moving_variance.copy()
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.moving_mean, momentum * mean + (1 - momentum) * x.mean(axis=(0, 1, 2)), atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, momentum * variance + (1 - momentum) * x.var(axis=(0, 1, 2)),
                               atol=1e-6)
    assert BatchNormalization.from_config(layer.get_config()).momentum == momentum
