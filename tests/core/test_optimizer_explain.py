"""One weight's next update written out (Optimizer.explain) equals what the optimizer itself does to that
weight on its next step, at the first step and after several, for every optimizer and variant; and a
Trainer's optimizer state names each weight array by its layer and place in get_weights()."""

import numpy as np
import pytest

from cnnviz.core import Pipeline
from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.core.training import SGD, Adam, RMSprop, Trainer
from cnnviz.core.training.optimizers import slots_at

VARIANTS = {
    "sgd": lambda: SGD(0.1), "sgd-momentum": lambda: SGD(0.05, momentum=0.9),
    "sgd-nesterov": lambda: SGD(0.05, momentum=0.8, nesterov=True), "adam": lambda: Adam(0.01),
    "adam-amsgrad": lambda: Adam(0.02, beta_1=0.8, beta_2=0.99, amsgrad=True), "rmsprop": lambda: RMSprop(0.005),
    "rmsprop-momentum": lambda: RMSprop(0.01, momentum=0.9),
    "rmsprop-centered": lambda: RMSprop(0.01, rho=0.8, centered=True, momentum=0.5),
}


@pytest.mark.parametrize("steps_before", [0, 3, 7])
@pytest.mark.parametrize("variant", VARIANTS)
def test_explain_equals_the_next_step(variant, steps_before):
    optimizer = VARIANTS[variant]()
    rng = np.random.default_rng(steps_before)
    w = rng.normal(size=(3, 4)).astype(np.float32)
    for _ in range(steps_before):
        assert optimizer.apply([w], [rng.normal(size=w.shape)])
    g = rng.normal(size=w.shape)
    position = (1, 2)
    slots = slots_at(optimizer.get_state(), 0, position)  # None before a first step
    numbers = optimizer.explain(float(w[position]), float(g[position]), slots)
    assert numbers["t"] == steps_before + 1
    assert optimizer.apply([w], [g])
    assert numbers["w_new"] == float(w[position])  # exactly: the same float32 weight
    after = slots_at(optimizer.get_state(), 0, position)
    for name, value in numbers["slots"].items():
        assert value == pytest.approx(after[name], rel=1e-12, abs=1e-15)
    assert numbers["step"] == pytest.approx(float(numbers["w"]) - numbers["w_new"], rel=1e-5, abs=1e-7)


def test_adam_bias_corrections_use_the_real_step_count():
    adam = Adam(0.1)
    w = np.zeros(1, np.float32)
    for _ in range(3):
        adam.apply([w], [np.ones(1)])
    n = adam.explain(float(w[0]), 1.0, slots_at(adam.get_state(), 0, (0,)))
    assert n["t"] == 4
    assert n["correction_1"] == pytest.approx(1 - 0.9 ** 4, rel=1e-6)  # 0.3439
    assert n["correction_2"] == pytest.approx(1 - 0.999 ** 4, rel=1e-4)  # 0.003994
    assert n["alpha"] == pytest.approx(adam.step_size(), rel=1e-7)
    # m after 4 gradients of 1: 1 − 0.9⁴
    assert n["slots"]["m"] == pytest.approx(1 - 0.9 ** 4, rel=1e-9)


def test_a_first_step_starts_from_zero_slots():
    n = SGD(0.1, momentum=0.9).explain(1.0, 5.0, None)
    assert n["t"] == 1 and n["old"] == {"momentum": 0.0}
    assert n["slots"]["momentum"] == pytest.approx(-0.5, rel=1e-6) and n["w_new"] == pytest.approx(0.5, rel=1e-6)


def test_state_round_trip_and_copy():
    rms = RMSprop(0.01, momentum=0.5)
    w = np.ones((2, 2), np.float32)
    rms.apply([w], [np.full((2, 2), 0.5)])
    state = rms.get_state()
    other = RMSprop(0.01, momentum=0.5)
    other.set_state(state)
    state["slots"][0]["velocity"][...] = 99  # a copy: the optimizer's own slots are untouched
    w2 = w.copy()
    g = np.full((2, 2), 0.25)
    rms.apply([w], [g])
    other.apply([w2], [g])
    np.testing.assert_array_equal(w, w2)
    assert other.iterations == 2


def test_trainer_state_names_every_array_by_layer_and_weight():
    pipeline = Pipeline((4, 4, 1), [Conv2D(2, 3, name="c"), Flatten(), Dense(3, activation="softmax")])
    trainer = Trainer(pipeline, loss="sparse_categorical_crossentropy", optimizer="adam")
    pipeline.layers[0].trainable = False
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 4, 4, 1)).astype(np.float32), np.array([0, 1, 2, 0, 1])
    trainer.train_on_batch(x, y)
    trainer.train_on_batch(x, y)
    state = trainer.optimizer_state()
    assert state["iterations"] == 2
    assert state["places"] == [(3, 0), (3, 1)]  # layer 3's kernel and bias; the frozen Conv2D has none
    assert state["slots"][0]["m"].shape == (8, 3) and state["slots"][1]["v"].shape == (3,)
    assert slots_at(state, state["places"].index((3, 1)), (2,))["m"] == state["slots"][1]["m"][2]
