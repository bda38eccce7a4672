"""Flatten, Dense, Softmax / Activation("softmax") and LeakyReLU: the layers a classifier ends with, against
naive loops, the exact Keras examples of docs/layers.md, refusals, vector levels, provenance and receptive
fields."""

import json

import naive_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    Activation,
    ConfigError,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPooling2D,
    Pipeline,
    Softmax,
    cell_provenance,
    layer_from_config,
    layer_to_config,
    receptive_field,
    weight_footprint,
    weights_used,
)
from cnnviz.core.provenance import weights_reaching

ATOL = 1e-5
maps = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4))
levels = st.one_of(maps, st.tuples(st.integers(1, 20)))
SETTINGS = settings(max_examples=40, deadline=None)


def random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def built(layer, shape, seed):
    layer.build(shape)
    rng = np.random.default_rng(seed + 1)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer


def assert_terms_give_the_output(layer, x, y):
    for cell in np.ndindex(*y.shape):
        p = cell_provenance(layer, x, cell)
        assert p.value == pytest.approx(float(y[cell]), rel=1e-5, abs=ATOL), cell


# ---- the exact examples -------------------------------------------------------------------------------


def test_flatten_is_channels_last_row_major():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    assert Flatten()(x).tolist() == list(range(12))
    assert Flatten().compute_output_shape((4, 4, 2)) == (32,)
    assert Flatten().explain_output_shape((4, 4, 2)) == [
        "length: 4·4·2 = 32 (row by row, each cell's channels side by side: index (row·4 + col)·2 + channel)"]


def test_dense_inner_products_with_the_kernel_columns():
    layer = Dense(2)
    layer.build((4,))
    layer.set_weights([np.arange(8, dtype=np.float32).reshape(4, 2), np.array([0.5, -0.5], np.float32)])
    assert layer(np.array([1, 2, 3, 4], np.float32)).tolist() == [40.5, 49.5]
    p = cell_provenance(layer, np.array([1, 2, 3, 4], np.float32), (1,))
    assert [(t.cell, t.coefficient, t.value, t.weight) for t in p.terms] == [
        ((0,), 1.0, 1.0, (0, 1)), ((1,), 3.0, 2.0, (1, 1)), ((2,), 5.0, 3.0, (2, 1)), ((3,), 7.0, 4.0, (3, 1))]
    assert p.bias == -0.5 and p.value == 49.5


def test_dense_on_a_map_acts_on_each_cell_s_channels():
    layer = built(Dense(5), (2, 3, 4), 0)
    assert layer.compute_output_shape((2, 3, 4)) == (2, 3, 5)
    assert sum(w.size for w in layer.get_weights()) == 25  # C·units + units, as Keras's summary counts
    x = random((2, 3, 4), 1)
    np.testing.assert_allclose(layer(x), np.einsum("hwc,cu->hwu", x, layer.kernel) + layer.bias, atol=ATOL)
    assert layer.explain_output_shape((2, 3, 4))[2].startswith("depth: 5 units (Dense acts on each cell's 4 channels")


@pytest.mark.parametrize("make", [Softmax, lambda: Activation("softmax")], ids=["Softmax", "Activation"])
def test_softmax_is_stable_and_keras_exact(make):
    expected = [0.09003057, 0.24472848, 0.6652409]
    np.testing.assert_allclose(make()(np.array([1, 2, 3], np.float32)), expected, rtol=1e-6)
    np.testing.assert_allclose(make()(np.array([1000, 1001, 1002], np.float32)), expected, rtol=1e-6)
    assert make()(np.array([-1000, 0, 1000], np.float32)).tolist() == [0, 0, 1]
    x = random((3, 2, 4), 0)
    np.testing.assert_allclose(make()(x).sum(axis=-1), 1, atol=1e-6)  # over each cell's channels


def test_leaky_relu_default_slope_is_the_keras_layer_s():
    assert LeakyReLU().negative_slope == 0.3
    np.testing.assert_allclose(LeakyReLU()(np.array([-2, -0.5, 0, 3], np.float32)), [-0.6, -0.15, 0, 3], rtol=1e-6)
    assert LeakyReLU(0.1)(np.array([-2, 1], np.float32)).tolist() == pytest.approx([-0.2, 1])


# ---- against the naive references ----------------------------------------------------------------------


@SETTINGS
@given(shape=levels, seed=st.integers(0, 2**16))
def test_flatten_matches_the_reference(shape, seed):
    x = random(shape, seed)
    np.testing.assert_array_equal(Flatten()(x), ref.flatten(x))
    assert_terms_give_the_output(Flatten(), x, Flatten()(x))


@SETTINGS
@given(shape=levels, units=st.integers(1, 6), activation=st.sampled_from(["linear", "relu", "sigmoid", "tanh",
                                                                         "softmax"]),
       use_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_dense_matches_the_reference(shape, units, activation, use_bias, seed):
    layer = built(Dense(units, activation, use_bias), shape, seed)
    x = random(shape, seed)
    y = layer(x)
    np.testing.assert_allclose(y, ref.dense(x, layer.kernel, layer.bias, activation), atol=ATOL, rtol=1e-5)
    assert_terms_give_the_output(layer, x, y)


@SETTINGS
@given(shape=levels, cls=st.sampled_from(["Softmax", "Activation"]), seed=st.integers(0, 2**16))
def test_softmax_matches_the_reference(shape, cls, seed):
    layer = Softmax() if cls == "Softmax" else Activation("softmax")
    x = random(shape, seed) * 10
    y = layer(x)
    np.testing.assert_allclose(y, ref.softmax(x), atol=1e-6)
    assert_terms_give_the_output(layer, x, y)


@SETTINGS
@given(shape=levels, slope=st.floats(0, 3), seed=st.integers(0, 2**16))
def test_leaky_relu_matches_the_reference(shape, slope, seed):
    layer, x = LeakyReLU(slope), random(shape, seed)
    y = layer(x)
    np.testing.assert_allclose(y, ref.leaky_relu(x, slope), atol=ATOL, rtol=1e-6)
    assert_terms_give_the_output(layer, x, y)


# ---- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make,message", [
    (lambda: Dense(0), "Dense: units must be a positive integer, got 0"),
    (lambda: Dense(2.5), "Dense: units must be a positive integer, got 2.5"),
    (lambda: Dense(5000), "Dense: units must be at most 4096, got 5000"),
    (lambda: Dense(3, "elu"), 'Dense: activation must be "relu" or "sigmoid" or "tanh" or "linear" or "softmax", '
                              "got 'elu'"),
    (lambda: Dense(3, use_bias="yes"), "Dense: use_bias must be true or false, got 'yes'"),
    (lambda: LeakyReLU(-0.1), "LeakyReLU: negative_slope must be a number ≥ 0, got -0.1"),
    (lambda: LeakyReLU("0.2"), "LeakyReLU: negative_slope must be a number ≥ 0, got '0.2'"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value) == message


def test_a_map_layer_after_flatten_and_too_many_units_on_a_map_are_refused():
    with pytest.raises(ConfigError, match=r"^Conv2D #2: needs an \(H, W, C\) map, got a vector of 32 values: put it "
                                          r"before the Flatten"):
        Pipeline((4, 4, 2), [Flatten(), Conv2D(1, 3)]).output_shapes()
    with pytest.raises(ConfigError) as err:
        Pipeline((6, 6, 3), [Dense(100)]).output_shapes()
    assert str(err.value) == ("Dense #1: output 6×6×100 has 100 channels, more than 64: too many to compute "
                              "interactively")
    assert err.value.param == "units"


# ---- a whole classifier ---------------------------------------------------------------------------------


def classifier():
    p = Pipeline((6, 6, 1), [Conv2D(2, 3), MaxPooling2D(), Flatten(), Dense(3, "softmax")], seed=3)
    p.build()
    return p, random((6, 6, 1), 5)


def test_a_classifier_runs_to_class_probabilities():
    p, x = classifier()
    assert p.output_shapes() == [(4, 4, 2), (2, 2, 2), (8,), (3,)]
    outputs = p.run(x)
    assert outputs[-1].sum() == pytest.approx(1, abs=1e-6) and (outputs[-1] > 0).all()
    np.testing.assert_array_equal(outputs[2], outputs[1].reshape(-1))
    config = json.loads(json.dumps(p.get_config()))
    again = Pipeline.from_config(config)
    assert again.get_config() == p.get_config()
    dense = layer_from_config(json.loads(json.dumps(layer_to_config(p.layers[3]))))
    assert dense.get_config() == {"name": "dense", "units": 3, "activation": "softmax", "use_bias": True}
    assert Dense(4).get_config()["activation"] == "linear"  # None is stored as Keras stores it


def test_receptive_field_of_a_dense_output_is_every_flattened_input():
    p, x = classifier()
    levels = p.levels(x, p.run(x))
    field = receptive_field(p, levels, 4, (1,))
    assert field[3] == {(i,) for i in range(8)}
    assert field[2] == {(r, c, ch) for r in range(2) for c in range(2) for ch in range(2)}
    assert field[0] == {(r, c, 0) for r in range(6) for c in range(6)}
    one = receptive_field(p, levels, 3, (5,))  # flat index 5 = pooled cell (1, 0), channel 1
    assert one[2] == {(1, 0, 1)} and one[1] == {(r, c, ch) for r in (2, 3) for c in (0, 1) for ch in (1,)}


def test_softmax_provenance_names_every_logit():
    p, x = classifier()
    levels = p.levels(x, p.run(x))
    prov = cell_provenance(p.layers[3], levels[3], (2,))
    assert prov.activation == "softmax" and len(prov.logits) == 3
    assert prov.value == pytest.approx(float(levels[4][2]), rel=1e-5)
    z = levels[3].astype(np.float64) @ p.layers[3].kernel + p.layers[3].bias
    np.testing.assert_allclose(prov.logits, z, rtol=1e-6)


def test_dense_weights_touched_and_footprints():
    layer = built(Dense(3), (4,), 0)
    assert weights_used(layer, (2,), (4,)) == {(i, 2) for i in range(4)}
    assert weight_footprint(layer, (4,), (1, 0)) == {(1,)}
    on_map = built(Dense(3), (2, 2, 4), 0)
    assert weight_footprint(on_map, (2, 2, 4), (1, 0)) == {(r, c, 1) for r in range(2) for c in range(2)}
    cells = {(0, 0, 1), (1, 1, 1), (0, 1, 2)}
    assert weights_reaching(on_map, cells, (2, 2, 4)) == {(i, u) for i in range(4) for u in (1, 2)}


def test_vector_levels_pass_dropout_and_activations():
    p = Pipeline((2, 2, 1), [Flatten(), Dropout(0.5, seed=0), Activation("relu"), LeakyReLU(), Softmax()])
    x = random((2, 2, 1), 0)
    outputs = p.run(x, training=True)
    assert [o.shape for o in outputs] == [(4,)] * 5
    assert outputs[-1].sum() == pytest.approx(1, abs=1e-6)
