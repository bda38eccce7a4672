"""Trainer.use_pipeline: training goes on from an edited copy of the network with the optimizer's state
(Keras's worked example: Adam's moments and step count) kept, or refuses with the first weight that no
longer fits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_trainer import X, Y, data, dense_like, small_cnn

from cnnviz.core import ConfigError, Conv2D, MaxPooling2D, Pipeline
from cnnviz.core.training import Trainer

ADAM = {"class_name": "Adam", "config": {"learning_rate": 0.1}}


def test_adam_goes_on_from_a_copy_as_keras_does_without_one():
    """Keras's three Adam steps (tests/core/test_trainer.py): the copy after step 1 changes none of them."""
    trainer = Trainer(dense_like(), loss="mse", optimizer=ADAM)
    assert trainer.train_on_batch(X, Y) == pytest.approx(5.0)
    copy = trainer.pipeline.copy()
    trainer.use_pipeline(copy)
    assert trainer.optimizer.iterations == 1
    assert trainer.train_on_batch(X, Y) == pytest.approx(3.8900082, rel=1e-5)
    assert trainer.train_on_batch(X, Y) == pytest.approx(2.9663024, rel=1e-5)
    np.testing.assert_allclose(trainer.pipeline.layers[0].get_weights()[0].ravel(), [0.70404834, 1.70158589],
                               atol=1e-5)
    assert trainer.optimizer.iterations == 3


def test_an_edited_weight_is_trained_on_with_the_moments_kept():
    """After step 1 the kernel is set to [0.5, 1.5]; step 2 is Adam's rule with step 1's m and v."""
    trainer = Trainer(dense_like(), loss="mse", optimizer=ADAM)
    trainer.train_on_batch(X, Y)
    m, v = (trainer.optimizer._slots[0][k].copy() for k in ("m", "v"))
    edited = trainer.pipeline.copy()
    kernel, bias = edited.layers[0].get_weights()
    kernel[...] = np.array([0.5, 1.5], np.float32).reshape(kernel.shape)
    edited.layers[0].set_weights([kernel, bias])
    trainer.use_pipeline(edited)
    # by hand: y = x·w + b with w = [0.5, 1.5], b after step 1; g = mean over the batch of 2·(y − t)·x
    b = float(trainer.pipeline.layers[0].get_weights()[1][0])
    y = X.reshape(2, 2) @ np.array([0.5, 1.5]) + b
    g = (2 * (y - Y.ravel()))[:, None] * X.reshape(2, 2)
    g = g.mean(axis=0)
    m2 = m.ravel() + (g - m.ravel()) * 0.1
    v2 = v.ravel() + (g * g - v.ravel()) * 0.001
    alpha = np.float32(0.1) * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)
    expected = np.array([0.5, 1.5]) - alpha * m2 / (np.sqrt(v2) + 1e-7)
    trainer.train_on_batch(X, Y)
    np.testing.assert_allclose(trainer.pipeline.layers[0].get_weights()[0].ravel(), expected, rtol=1e-5)


def test_a_pause_through_a_copy_mid_fit_changes_nothing_dropout_included():
    x, y = data(20)
    a, b = small_cnn(), small_cnn()
    ta, tb = (Trainer(p, "binary_crossentropy", "adam", seed=5) for p in (a, b))
    list(ta.fit(x, y, epochs=3, batch_size=4))
    fit = tb.fit(x, y, epochs=3, batch_size=4)
    for progress in fit:
        if progress.step == 7:
            tb.use_pipeline(tb.pipeline.copy())  # the Dropout keeps drawing its masks where it was
    for wa, wb in zip(itertools.chain(*a.get_weights()), itertools.chain(*tb.pipeline.get_weights())):
        np.testing.assert_array_equal(wa, wb)


def test_a_new_config_with_the_same_weight_shapes_is_trained_from_there():
    pipeline = Pipeline((8, 8, 1), [Conv2D(2, 3), MaxPooling2D(2), Conv2D(1, 3)])
    trainer = Trainer(pipeline, "mse", "sgd")
    x = np.random.default_rng(0).random((4, 8, 8, 1), np.float32)
    t = np.zeros((4, 1, 1, 1), np.float32)
    trainer.train_on_batch(x, t)
    edited = Pipeline((8, 8, 1), [Conv2D(2, 3), MaxPooling2D(3, strides=2, padding="same"), Conv2D(1, 3)])
    edited.set_weights(trainer.pipeline.get_weights())
    trainer.use_pipeline(edited)
    assert trainer.pipeline is edited and trainer.optimizer.iterations == 1
    trainer.train_on_batch(x, t)
    assert trainer.optimizer.iterations == 2


@pytest.mark.parametrize(("layers", "message"), [
    ([Conv2D(3, 3), MaxPooling2D(2), Conv2D(1, 3)], "(Conv2D #1 kernel 3×3×1×2 becomes Conv2D #1 kernel 3×3×1×3)"),
    ([Conv2D(2, 3, use_bias=False), MaxPooling2D(2), Conv2D(1, 3)], "(Conv2D #1 bias 2 becomes Conv2D #3 kernel 3×3×2×1)"),
    ([Conv2D(2, 3), Conv2D(1, 3)], "the pipeline now has 2 layers, the run trains 3"),
])
def test_an_edit_the_optimizer_state_cannot_follow_is_refused_with_nothing_changed(layers, message):
    pipeline = Pipeline((8, 8, 1), [Conv2D(2, 3), MaxPooling2D(2), Conv2D(1, 3)])
    trainer = Trainer(pipeline, "mse", "adam")
    weights = pipeline.get_weights()
    with pytest.raises(ConfigError) as refused:
        trainer.use_pipeline(Pipeline((8, 8, 1), layers))
    assert message in str(refused.value)
    assert trainer.pipeline is pipeline
    for a, b in zip(itertools.chain(*weights), itertools.chain(*pipeline.get_weights())):
        np.testing.assert_array_equal(a, b)
