"""Training in cnnviz against real Keras 3 on TensorFlow: from the same weights on the same batches,
train_on_batch returns the same losses and leaves the same weights, for every optimizer and loss, and
Keras's layers give the same gradients. Skipped where keras (with TensorFlow) is not installed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras_support import QUIET_KERAS, import_keras

from cnnviz.core import Activation, AveragePooling2D, BatchNormalization, Conv2D, Conv2DTranspose, Dense, Flatten
from cnnviz.core import LeakyReLU
from cnnviz.core import Cropping2D, DepthwiseConv2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from cnnviz.core import Pipeline, ReLU, Softmax, UpSampling2D, ZeroPadding2D
from cnnviz.core.layers import layer_to_config
from cnnviz.core.training import Trainer, get_loss, get_optimizer, loss_to_config, optimizer_to_config

keras = import_keras()
pytestmark = [QUIET_KERAS, pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                              reason="Keras on TensorFlow (the numbers cnnviz follows)")]
import tensorflow as tf  # noqa: E402  (present: the TensorFlow backend is running)

OPTIMIZERS = [
    {"class_name": "SGD", "config": {"learning_rate": 0.1}},
    {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9}},
    {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}},
    {"class_name": "Adam", "config": {}},
    {"class_name": "Adam", "config": {"learning_rate": 0.1, "amsgrad": True}},
    {"class_name": "RMSprop", "config": {}},
    {"class_name": "RMSprop", "config": {"learning_rate": 0.01, "momentum": 0.5, "centered": True}},
]
LOSS_HEADS = {  # case -> (loss, last layers, targets maker)
    "mse": ("mean_squared_error", [Conv2D(2, 2)], lambda rng, n: rng.standard_normal((n, 3, 3, 2))),
    "bce-sigmoid": ("binary_crossentropy", [Conv2D(1, 2), Activation("sigmoid")],
                    lambda rng, n: (rng.random((n, 3, 3, 1)) > 0.5).astype(np.float32)),
    "cce-from-logits": ({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}, [Conv2D(3, 2)],
                        lambda rng, n: np.eye(3)[rng.integers(0, 3, (n, 3, 3))]),
    "scce-from-logits": ({"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
                         [Conv2D(3, 2)], lambda rng, n: rng.integers(0, 3, (n, 3, 3))),
    # a softmax head: Keras on TensorFlow takes the crossentropy from the logits before it
    "cce-dense-softmax": ("categorical_crossentropy", [Flatten(), Dense(4, activation="softmax")],
                          lambda rng, n: np.eye(4)[rng.integers(0, 4, n)]),
    "scce-softmax-layer": ("sparse_categorical_crossentropy", [Conv2D(3, 2), Softmax()],
                           lambda rng, n: rng.integers(0, 3, (n, 3, 3))),
    "cce-activation-softmax": ("categorical_crossentropy", [Conv2D(3, 2), Activation("softmax")],
                               lambda rng, n: np.eye(3)[rng.integers(0, 3, (n, 3, 3))]),
    "mse-softmax": ("mean_squared_error", [Flatten(), Dense(3, activation="softmax")],
                    lambda rng, n: np.eye(3)[rng.integers(0, 3, n)]),
}


def pipeline_for(case):
    head = [type(layer).from_config(layer.get_config()) for layer in LOSS_HEADS[case][1]]
    return Pipeline((7, 7, 2), [Conv2D(4, 3, padding="same"), LeakyReLU(0.1), MaxPooling2D(2, padding="same"),
                                Conv2DTranspose(3, 2, strides=2), AveragePooling2D(2), *head], seed=4)


def keras_model(pipeline):
    layers = [keras.Input(pipeline.input_shape)]
    layers += [keras.layers.deserialize({**layer_to_config(layer), "module": "keras.layers"})
               for layer in pipeline.layers]
    model = keras.Sequential(layers)
    model.set_weights([w for ws in pipeline.get_weights() for w in ws])
    return model


def _name(optimizer):
    return f"{optimizer['class_name']}{sorted(optimizer['config'].items())}"


# every loss case with two optimizers, every optimizer with two loss cases (a Keras model compiles per pair)
PAIRS = {(case, _name(o)): (case, o) for case in LOSS_HEADS for o in (OPTIMIZERS[1], OPTIMIZERS[3])}
PAIRS |= {(case, _name(o)): (case, o) for o in OPTIMIZERS for case in ("mse", "scce-softmax-layer")}


@pytest.mark.parametrize(("case", "optimizer"), list(PAIRS.values()), ids=[f"{c}-{o}" for c, o in PAIRS])
def test_three_train_on_batch_steps_equal_keras(case, optimizer):
    loss = LOSS_HEADS[case][0]
    pipeline = pipeline_for(case)
    pipeline.build()
    rng = np.random.default_rng(1)
    pipeline.set_weights([[rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in ws]
                          for ws in pipeline.get_weights()])
    model = keras_model(pipeline)
    model.compile(optimizer=keras.optimizers.deserialize(optimizer_to_config(get_optimizer(optimizer))),
                  loss=keras.losses.deserialize(loss_to_config(get_loss(loss))))
    trainer = Trainer(pipeline, loss=loss, optimizer=optimizer)
    for step in range(3):
        x = rng.random((5, 7, 7, 2)).astype(np.float32)
        y = LOSS_HEADS[case][2](rng, 5)
        ours, theirs = trainer.train_on_batch(x, y), float(model.train_on_batch(x, y))
        assert ours == pytest.approx(theirs, rel=1e-5), f"loss of step {step + 1}"
    for ours, theirs in zip([w for ws in pipeline.get_weights() for w in ws], model.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)


def test_sigmoid_saturation_follows_the_logits_as_tensorflow_does():
    """z = 20, t = 0 (docs/training.md): Keras on TensorFlow reports 20.0 and moves the kernel to 19.9."""
    pipeline = Pipeline((1, 1, 1), [Conv2D(1, 1, use_bias=False), Activation("sigmoid")])
    pipeline.set_weights([[np.full((1, 1, 1, 1), 20, np.float32)], []])
    model = keras_model(pipeline)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    x, y = np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.float32)
    theirs = float(model.train_on_batch(x, y))
    ours = Trainer(pipeline, "binary_crossentropy", {"class_name": "SGD", "config": {"learning_rate": 0.1}})
    assert ours.train_on_batch(x, y) == pytest.approx(theirs, rel=1e-6) == pytest.approx(20.0)
    np.testing.assert_allclose(pipeline.layers[0].kernel, model.get_weights()[0], atol=1e-6)


LAYERS = [Conv2D(2, 3, strides=2, padding="same"), Conv2D(2, 2, dilation_rate=2),
          Conv2DTranspose(2, 3, strides=2, padding="same"), Conv2DTranspose(1, 2, strides=3, padding="same"),
          MaxPooling2D(3, strides=1, padding="same"), MaxPooling2D(2), AveragePooling2D(3, strides=2, padding="same"),
          UpSampling2D((2, 3)), UpSampling2D(2, "bilinear"), ReLU(), Activation("sigmoid"), Activation("tanh"),
          Activation("softmax"), Softmax(), LeakyReLU(), Dense(3, activation="softmax"), Dense(2), Flatten(),
          GlobalAveragePooling2D(), GlobalMaxPooling2D(), ZeroPadding2D(((1, 2), (0, 1))), Cropping2D(((1, 0), (2, 1))),
          DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
          DepthwiseConv2D(3, strides=2, dilation_rate=2, padding="same")]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: repr(layer))
def test_layer_gradients_equal_tensorflow(layer):
    """dx and the weight gradients of L = Σ y·dy, with ties (integer inputs) for the max pooling."""
    rng = np.random.default_rng(3)
    shape = (5, 6, 2)
    layer.build(shape)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    klayer = keras.layers.deserialize({**layer_to_config(layer), "module": "keras.layers"})
    klayer.build((2, *shape))
    klayer.set_weights(layer.get_weights())
    tied = isinstance(layer, (MaxPooling2D, GlobalMaxPooling2D))
    x = (rng.integers(0, 3, (2, *shape)) if tied else rng.standard_normal((2, *shape))).astype(np.float32)
    dy = rng.standard_normal((2, *layer.compute_output_shape(shape))).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(klayer(xt) * dy)
    theirs = tape.gradient(loss, [xt, *klayer.trainable_weights])
    dx, grads = layer.backward(x, dy)
    np.testing.assert_allclose(dx, theirs[0].numpy(), atol=1e-5, rtol=1e-5)
    for ours, t in zip(grads, theirs[1:]):
        np.testing.assert_allclose(ours, t.numpy(), atol=1e-4, rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), name=st.sampled_from(["SGD", "Adam", "RMSprop"]), scale=st.sampled_from([1e-6, 1e-3, 1, 10]),
       seed=st.integers(0, 2**16))
def test_optimizer_steps_equal_keras_on_random_settings(data, name, scale, seed):
    """Three steps of apply_gradients on random hyperparameters and gradient sizes (float32 in Keras)."""
    lr = data.draw(st.sampled_from([1e-3, 0.01, 0.1]), label="learning_rate")
    config = {"learning_rate": lr}
    if name == "SGD":
        config |= {"momentum": data.draw(st.sampled_from([0.0, 0.5, 0.9])), "nesterov": data.draw(st.booleans())}
    elif name == "Adam":
        config |= {"beta_1": data.draw(st.sampled_from([0.5, 0.9])), "beta_2": data.draw(st.sampled_from([0.9, 0.999])),
                   "epsilon": data.draw(st.sampled_from([1e-7, 1e-3])), "amsgrad": data.draw(st.booleans())}
    else:
        config |= {"rho": data.draw(st.sampled_from([0.5, 0.9])), "momentum": data.draw(st.sampled_from([0.0, 0.5])),
                   "centered": data.draw(st.booleans())}
    rng = np.random.default_rng(seed)
    ours = get_optimizer({"class_name": name, "config": config})
    theirs = keras.optimizers.deserialize(optimizer_to_config(ours))
    w = rng.standard_normal((3, 4)).astype(np.float32)
    variable = keras.Variable(w.copy())
    for _ in range(3):
        g = (rng.standard_normal(w.shape) * scale).astype(np.float32)
        ours.apply([w], [g])
        theirs.apply_gradients([(tf.constant(g), variable)])
    np.testing.assert_allclose(w, variable.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("optimizer", [OPTIMIZERS[1], OPTIMIZERS[3]], ids=_name)
def test_batch_normalization_trains_as_keras(optimizer):
    """BatchNormalization in train_on_batch: batch statistics, biased variance, moving averages (momentum 0.99).
    (The Conv2D before it has no bias: under batch statistics its exact gradient is 0, and Adam would turn
    float32 rounding noise into full-size steps.)"""
    pipeline = Pipeline((6, 6, 2), [Conv2D(3, 3, use_bias=False), BatchNormalization(), ReLU(), Flatten(), BatchNormalization(scale=False),
                                    Dense(3, activation="softmax")], seed=2)
    pipeline.build()
    rng = np.random.default_rng(5)
    model = keras_model(pipeline)
    model.compile(optimizer=keras.optimizers.deserialize(optimizer_to_config(get_optimizer(optimizer))),
                  loss="sparse_categorical_crossentropy")
    trainer = Trainer(pipeline, "sparse_categorical_crossentropy", optimizer)
    for step in range(3):
        x = rng.standard_normal((6, 6, 6, 2)).astype(np.float32) * 2 + 1
        y = rng.integers(0, 3, 6)
        assert trainer.train_on_batch(x, y) == pytest.approx(float(model.train_on_batch(x, y)), rel=1e-5)
    for ours, theirs in zip([w for ws in pipeline.get_weights() for w in ws], model.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)
    x = rng.standard_normal((4, 6, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(trainer.predict(x), model.predict(x, verbose=0), atol=1e-5)
