"""SGD, Adam and RMSprop against the Keras formulas computed by hand (docs/training.md)."""

import numpy as np
import pytest

from cnnviz.core import ConfigError
from cnnviz.core.training import SGD, Adam, RMSprop, get_optimizer, optimizer_to_config


def steps(optimizer, grads, w0=0.0):
    w = np.array([w0], np.float32)
    out = []
    for g in grads:
        assert optimizer.apply([w], [np.array([g])])
        out.append(float(w[0]))
    return out


def test_sgd_plain_momentum_nesterov():
    assert steps(SGD(0.1), [1, 1]) == pytest.approx([-0.1, -0.2])
    assert steps(SGD(0.1, momentum=0.9), [1, 1, 1]) == pytest.approx([-0.1, -0.29, -0.561])
    assert steps(SGD(0.1, momentum=0.9, nesterov=True), [1, 1, 1]) == pytest.approx([-0.19, -0.461, -0.8049])


@pytest.mark.parametrize(("g", "keras"), [(1, -0.000999990152), (1e-3, -0.000996841001), (1e-6, -0.000240251451),
                                          (1e-8, -3.15228795e-6)])
def test_adam_adds_epsilon_to_the_uncorrected_root(g, keras):
    assert steps(Adam(), [g])[0] == pytest.approx(keras, rel=1e-6)


def test_adam_bias_correction_in_float32():
    adam = Adam(0.1)
    expected = float(np.float32(0.1)) * np.sqrt(np.float32(1) - np.float32(0.999)) / (np.float32(1) - np.float32(0.9))
    assert adam.step_size() == pytest.approx(float(expected), rel=1e-7)
    assert 1 - np.float32(0.999) ** np.float32(1) == pytest.approx(0.00099998713, rel=1e-6)


def test_adam_amsgrad():
    assert steps(Adam(0.1), [1, 0.01, 0.01]) == pytest.approx([-0.0999990, -0.1677451, -0.2207500], abs=2e-7)
    assert steps(Adam(0.1, amsgrad=True), [1, 0.01, 0.01]) == pytest.approx([-0.0999990, -0.1677146, -0.2206718],
                                                                             abs=2e-7)


@pytest.mark.parametrize(("g", "keras"), [(1, -0.00316227623), (1e-3, -0.00223606802), (1e-6, -3.16227624e-6)])
def test_rmsprop_puts_epsilon_inside_the_root(g, keras):
    assert steps(RMSprop(), [g])[0] == pytest.approx(keras, rel=1e-6)


def test_rmsprop_momentum_and_centered_by_hand():
    rho, mu, lr, eps = 0.9, 0.5, 0.1, 1e-7
    v = mean = m = w = 0.0
    expected = []
    for g in (1.0, -0.5, 2.0):
        v = rho * v + (1 - rho) * g * g
        mean = rho * mean + (1 - rho) * g
        m = mu * m + float(np.float32(lr)) * g / np.sqrt(v - mean * mean + eps)
        w -= m
        expected.append(w)
    assert steps(RMSprop(lr, rho, momentum=mu, centered=True), [1.0, -0.5, 2.0]) == pytest.approx(expected, rel=1e-6)


def test_learning_rate_is_float32_as_keras_stores_it():
    assert SGD().lr == pytest.approx(0.009999999776, abs=1e-12)
    assert get_optimizer("sgd").get_config()["learning_rate"] == SGD().lr


def test_non_finite_step_changes_nothing():
    sgd = SGD(0.1, momentum=0.9)
    w = np.array([1.0], np.float32)
    assert sgd.apply([w], [np.array([1.0])])
    before, momentum = w.copy(), sgd._slots[0]["momentum"].copy()
    assert not sgd.apply([w], [np.array([np.inf])])
    np.testing.assert_array_equal(w, before)
    np.testing.assert_array_equal(sgd._slots[0]["momentum"], momentum)
    assert sgd.iterations == 1


def test_keras_configs_round_trip_and_defaults():
    keras_adam = {"class_name": "Adam", "config": {
        "name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None, "clipnorm": None,
        "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None,
        "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}
    assert optimizer_to_config(get_optimizer(keras_adam)) == keras_adam
    assert optimizer_to_config(get_optimizer("adam")) == keras_adam
    rms = get_optimizer("rmsprop")
    assert (rms.lr, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (pytest.approx(0.001), 0.9, 0.0, 1e-7, False)
    sgd = get_optimizer({"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}})
    assert (sgd.momentum, sgd.nesterov) == (0.9, True)


def test_refusals_name_the_argument():
    with pytest.raises(ConfigError, match=r"Adam: beta_1 must be in \[0, 1\), got 1") as e:
        Adam(beta_1=1)
    assert e.value.param == "beta_1"
    with pytest.raises(ConfigError, match="SGD: learning_rate must be in"):
        SGD(0)
    with pytest.raises(ConfigError, match="clipnorm=1.0 is not supported"):
        get_optimizer({"class_name": "SGD", "config": {"clipnorm": 1.0}})
    with pytest.raises(ConfigError, match="unknown optimizer 'Adagrad'"):
        get_optimizer({"class_name": "Adagrad", "config": {}})
