"""The Trainer: Keras's worked training steps (docs/training.md), fit as successive
train_on_batch calls, seeding, freezing, divergence, stopping a fit, evaluate/predict, and the teacher task."""

import itertools

import numpy as np
import pytest

from cnnviz.core import Activation, ConfigError, Conv2D, Dropout, MaxPooling2D, Pipeline, ReLU
from cnnviz.core.training import Trainer, TrainingDiverged, pattern_dataset, teacher_dataset
from cnnviz.core.training.data import DIAGONAL_FILTER


def dense_like(kernel=((1,), (2,)), bias=(0.0,)):
    """Keras's Dense(1) on 2 features as a 1×1 Conv2D on a 1×1×2 image (Dense acts on the last axis)."""
    pipeline = Pipeline((1, 1, 2), [Conv2D(1, 1)])
    pipeline.set_weights([[np.array(kernel, np.float32).reshape(1, 1, 2, 1), np.array(bias, np.float32)]])
    return pipeline


X = np.array([[1, 1], [2, 0]], np.float32).reshape(2, 1, 1, 2)
Y = np.array([[0], [1]], np.float32).reshape(2, 1, 1, 1)


@pytest.mark.parametrize(("optimizer", "expected"), [
    ({"class_name": "SGD", "config": {"learning_rate": 0.1}},
     [(5.0, [0.5, 1.7], -0.4), (1.7, [0.4, 1.52], -0.54), (1.226, [0.41, 1.382], -0.604)]),
    ({"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9}},
     [(5.0, [0.5, 1.7], -0.4), (1.7, [-0.05, 1.25], -0.9), (2.045, [-0.175, 0.815], -1.18)]),
    ({"class_name": "Adam", "config": {"learning_rate": 0.1}},
     [(5.0, [0.90000075, 1.90000081], -0.09999925), (3.8900082, [0.80100048, 1.80041409], -0.19924976),
      (2.9663024, [0.70404834, 1.70158589], -0.29702857)]),
    ({"class_name": "RMSprop", "config": {"learning_rate": 0.1}},
     [(5.0, [0.68377221, 1.68377233], -0.31622776), (2.1052675, [0.55302429, 1.49887073], -0.46949223),
      (1.3180451, [0.49908632, 1.36308646], -0.55929458)]),
])
def test_keras_worked_example_three_steps(optimizer, expected):
    pipeline = dense_like()
    trainer = Trainer(pipeline, loss="mse", optimizer=optimizer)
    for loss, kernel, bias in expected:
        assert trainer.train_on_batch(X, Y) == pytest.approx(loss, rel=1e-5)
        w, b = pipeline.layers[0].get_weights()
        np.testing.assert_allclose(w.ravel(), kernel, atol=1e-5)
        np.testing.assert_allclose(b, [bias], atol=1e-5)


def test_sigmoid_head_takes_binary_crossentropy_from_the_logits():
    """z = 20, t = 0: Keras on TensorFlow reports 20.0 (not the clipped 15.94) and the kernel moves to 19.9."""
    pipeline = Pipeline((1, 1, 1), [Conv2D(1, 1, use_bias=False), Activation("sigmoid")])
    pipeline.set_weights([[np.full((1, 1, 1, 1), 20, np.float32)], []])
    trainer = Trainer(pipeline, loss="binary_crossentropy", optimizer={"class_name": "SGD",
                                                                       "config": {"learning_rate": 0.1}})
    assert trainer.train_on_batch(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1))) == pytest.approx(20.0)
    assert pipeline.layers[0].kernel.item() == pytest.approx(19.9, abs=1e-5)
    np.testing.assert_allclose(trainer.predict(np.ones((1, 1, 1, 1))), 1.0)  # predict gives probabilities
    mse = Trainer(pipeline, loss="mse")  # no crossentropy, no logits
    assert mse.evaluate(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)))["loss"] == pytest.approx(1.0)


def small_cnn(seed=0):
    return Pipeline((6, 6, 1), [Conv2D(2, 3), ReLU(), Dropout(0.25), MaxPooling2D(2), Conv2D(1, 2),
                                Activation("sigmoid")], seed=seed)


def data(n=14, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6, 6, 1), np.float32), (rng.random((n, 1, 1, 1)) > 0.5).astype(np.float32)


def test_fit_equals_successive_train_on_batch_and_weights_the_epoch_loss():
    x, y = data()
    a, b = small_cnn(), small_cnn()
    ta, tb = (Trainer(p, "binary_crossentropy", "adam", metrics=["accuracy"], seed=3) for p in (a, b))
    progress = list(ta.fit(x, y, epochs=2, batch_size=4, shuffle=False))
    losses = [tb.train_on_batch(x[i : i + 4], y[i : i + 4]) for _ in range(2) for i in range(0, 14, 4)]
    for wa, wb in zip(itertools.chain(*a.get_weights()), itertools.chain(*b.get_weights())):
        np.testing.assert_array_equal(wa, wb)
    assert [p.batch_loss for p in progress] == pytest.approx(losses)
    assert [(p.step, p.epoch, p.batch) for p in progress[3:5]] == [(4, 1, 4), (5, 2, 1)]
    sizes = [4, 4, 4, 2]
    assert progress[3].loss == pytest.approx(np.dot(sizes, losses[:4]) / 14)  # batch-size weighted, as Keras
    assert set(progress[-1].metrics) == {"accuracy"} and progress[-1].examples_per_second > 0


def test_seeded_runs_are_identical_and_seeds_matter():
    x, y = data()

    def run(seed):
        p = small_cnn()
        list(Trainer(p, "binary_crossentropy", "rmsprop", seed=seed).fit(x, y, epochs=2, batch_size=5))
        return np.concatenate([w.ravel() for w in itertools.chain(*p.get_weights())])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    p = small_cnn()  # a seed given to fit restarts the shuffling and the masks from it
    list(Trainer(p, "binary_crossentropy", "rmsprop", seed=9).fit(x, y, epochs=2, batch_size=5, seed=1))
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in itertools.chain(*p.get_weights())]), run(1))


def test_a_frozen_layer_keeps_its_weights():
    x, y = data()
    p = small_cnn()
    p.build()
    p.layers[0].trainable = False
    before = [w.copy() for w in p.layers[0].get_weights()], [w.copy() for w in p.layers[4].get_weights()]
    Trainer(p, "binary_crossentropy", "sgd").train_on_batch(x, y)
    for w, w0 in zip(p.layers[0].get_weights(), before[0]):
        np.testing.assert_array_equal(w, w0)
    assert not np.array_equal(p.layers[4].get_weights()[0], before[1][0])


def test_divergence_stops_at_that_step_and_keeps_the_last_finite_weights():
    pipeline = dense_like()
    trainer = Trainer(pipeline, "mse", {"class_name": "SGD", "config": {"learning_rate": 1e18}})
    x, y = np.repeat(X, 8, axis=0) * 1e10, np.repeat(Y, 8, axis=0)
    progress = list(trainer.fit(x, y, epochs=50, batch_size=2, shuffle=False))
    last = progress[-1]
    assert last.stopped and f"step {last.step}" in last.stopped and "learning rate 1e+18" in last.stopped
    assert all(np.isfinite(w).all() for w in pipeline.layers[0].get_weights())
    assert trainer.steps == last.step - 1 and all(p.stopped is None for p in progress[:-1])
    with pytest.raises(TrainingDiverged, match="step .*: .*learning rate 1e\\+18"):
        for _ in range(50):  # from the weights kept, the same learning rate diverges again
            trainer.train_on_batch(x[:2], y[:2])


def test_fit_can_be_stopped_at_any_step_and_reports_validation():
    x, y = data(20)
    trainer = Trainer(small_cnn(), "binary_crossentropy", "adam", metrics=["accuracy"])
    fit = trainer.fit(x, y, epochs=5, batch_size=4, validation_split=0.2)
    first = [next(fit) for _ in range(4)]
    assert trainer.steps == 4 and first[-1].val_loss is not None and "accuracy" in first[-1].val_metrics
    assert first[0].val_loss is None and first[-1].steps_per_epoch == 4  # 16 training samples
    fit.close()
    assert trainer.steps == 4


def test_evaluate_and_predict_batch_by_batch():
    x, y = data(10)
    trainer = Trainer(small_cnn(), "binary_crossentropy", metrics=["accuracy"])
    whole = trainer.evaluate(x, y, batch_size=10)
    parts = trainer.evaluate(x, y, batch_size=3)
    assert whole["loss"] == pytest.approx(parts["loss"], rel=1e-6)
    assert trainer.predict(x, batch_size=3).shape == (10, 1, 1, 1)
    np.testing.assert_allclose(trainer.predict(x[:1])[0], trainer.pipeline.run(x[0])[-1], atol=1e-6)


def test_bad_data_is_refused_with_the_shapes():
    trainer = Trainer(small_cnn(), "mse")
    with pytest.raises(ConfigError, match=r"inputs must be a batch of shape \(N, 6, 6, 1\), got \(6, 6, 1\)"):
        trainer.train_on_batch(np.zeros((6, 6, 1)), np.zeros((1, 1, 1, 1)))
    with pytest.raises(ConfigError, match="3 inputs but 2 targets"):
        trainer.train_on_batch(np.zeros((3, 6, 6, 1)), np.zeros((2, 1, 1, 1)))
    with pytest.raises(ConfigError, match="validation_split 0.9 leaves no training samples"):
        next(trainer.fit(np.zeros((1, 6, 6, 1)), np.zeros((1, 1, 1, 1)), validation_split=0.9))


def test_teacher_task_recovers_the_lecture_diagonal_filter():
    teacher = Pipeline((6, 6, 1), [Conv2D(1, 3)])
    teacher.set_weights([[DIAGONAL_FILTER.reshape(3, 3, 1, 1), np.zeros(1)]])
    x, y = teacher_dataset(teacher, count=64, seed=1)
    np.testing.assert_array_equal(x[0, :, :, 0][2, 2:4], [1, 1])  # the lecture's input comes first
    student = Pipeline((6, 6, 1), [Conv2D(1, 3)], seed=5)
    trainer = Trainer(student, "mse", {"class_name": "Adam", "config": {"learning_rate": 0.05}}, seed=0)
    for progress in trainer.fit(x, y, epochs=100, batch_size=16):
        pass
    assert progress.step == 400
    kernel, bias = student.layers[0].get_weights()
    np.testing.assert_allclose(kernel[:, :, 0, 0], DIAGONAL_FILTER, atol=0.02)
    assert abs(bias[0]) < 0.02


def test_pattern_dataset_is_seeded_labelled_and_in_range():
    x, labels = pattern_dataset(50, size=(7, 9), seed=4)
    x2, labels2 = pattern_dataset(50, size=(7, 9), seed=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(labels, labels2)
    assert x.shape == (50, 7, 9, 1) and x.min() >= 0 and x.max() <= 1 and set(labels) <= set(range(5))
    clean, _ = pattern_dataset(5, size=6, kinds=["vertical bars"], noise=0, shifts=False, seed=0)
    assert (clean[:, :, 0, 0] == 1).all() and (clean.std(axis=1) == 0).all()  # bars are constant down a column
    with pytest.raises(ConfigError, match="patterns must be among"):
        pattern_dataset(5, kinds=["circles"])


def test_a_layer_without_backward_pass_is_named():
    from cnnviz.core.layers import Layer

    class Opaque(Layer):
        def _call(self, x, training):
            return x

    with pytest.raises(ConfigError, match=r"Trainer: Opaque #2 cannot be trained through: no backward pass"):
        Trainer(Pipeline((4, 4, 1), [Conv2D(1, 1), Opaque()]), "mse")


def test_a_small_cnn_learns_to_tell_the_patterns_apart():
    kinds = ["vertical bars", "horizontal bars", "diagonal", "cross"]
    x, labels = pattern_dataset(400, size=6, kinds=kinds, noise=0.2, seed=0)
    model = Pipeline((6, 6, 1), [Conv2D(8, 3), ReLU(), MaxPooling2D(2), Conv2D(4, 2)], seed=1)
    trainer = Trainer(model, {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
                      {"class_name": "Adam", "config": {"learning_rate": 0.02}}, metrics=["accuracy"])
    for progress in trainer.fit(x[:300], labels[:300, None, None], epochs=5, batch_size=20,
                                validation_data=(x[300:], labels[300:, None, None])):
        pass
    assert progress.val_metrics["accuracy"] >= 0.95


def test_batch_normalization_trains_on_batch_statistics_and_moves_its_averages():
    """x = [[1,2,0],[3,6,0],[5,1,0],[7,3,0]], one step: the biased variance, momentum 0.99 (docs/training.md)."""
    from cnnviz.core import BatchNormalization, Dense

    model = Pipeline((1, 1, 3), [BatchNormalization(), Dense(1)], seed=0)
    x = np.array([[1, 2, 0], [3, 6, 0], [5, 1, 0], [7, 3, 0]], np.float32).reshape(4, 1, 1, 3)
    y = np.zeros((4, 1, 1, 1))
    trainer = Trainer(model, "mse", "sgd")
    trainer.train_on_batch(x, y)
    gamma, _, mean, variance = model.layers[0].get_weights()
    np.testing.assert_allclose(mean, [0.04, 0.03, 0], atol=1e-7)
    np.testing.assert_allclose(variance, [1.04, 1.025, 0.99], atol=1e-6)  # ÷(N−1) would give 1.0567, 1.0367
    assert not np.array_equal(gamma, np.ones(3))  # γ and β learn; the statistics only move
    before = model.layers[0].get_weights()
    trainer.predict(x)
    trainer.evaluate(x, y)
    for a, b in zip(model.layers[0].get_weights(), before):  # inference leaves the statistics alone
        np.testing.assert_array_equal(a, b)


def test_a_diverging_run_raises_no_numpy_warnings_and_keeps_weights_with_a_finite_loss():
    import warnings

    from cnnviz.core.layers import Conv2D
    from cnnviz.core.training import teacher_dataset

    student = Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")])
    from cnnviz.core.training.data import DIAGONAL_FILTER

    teacher = Pipeline((6, 6, 1), [Conv2D(1, 3, name="teacher")])
    teacher.build()
    teacher.layers[0].set_weights([DIAGONAL_FILTER[:, :, None, None].astype(np.float32), np.zeros(1, np.float32)])
    x, y = teacher_dataset(teacher, 64, seed=0)
    trainer = Trainer(student, "mse", {"class_name": "SGD", "config": {"learning_rate": 1000.0}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in the loss, the update or the cast would raise here
        progress = list(trainer.fit(x, y, epochs=50, batch_size=8))
    last = progress[-1]
    assert last.stopped and "learning rate 1000" in last.stopped
    assert all(p.stopped is None and np.isfinite(p.batch_loss) for p in progress[:-1])
    assert all(np.isfinite(w).all() for w in student.layers[0].get_weights())
    # the weights kept are the last ones whose loss was finite: they compute finite maps and a finite loss
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(trainer.evaluate(x, y)["loss"])
    assert f"step {last.step}" in last.stopped
