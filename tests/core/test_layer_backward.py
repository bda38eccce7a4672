"""Every registered layer type on batches and backwards: a batch gives each image's numbers, and
layer.backward(x, dy) -> (dx, grads aligned with get_weights()) agrees with central finite differences."""

import numpy as np
import pytest
from gradcheck import numeric_gradient

from cnnviz.core import LAYER_TYPES, ConfigError, Conv2D, Dropout, MaxPooling2D
from cnnviz.core import grad_ops as G

# Per type, layers worth differentiating (strides, `same` padding, dilation, both interpolations ...) and
# an input image shape. A registered type missing here fails test_every_registered_type_is_covered.
EXAMPLES = {
    "Conv2D": [(dict(filters=2, kernel_size=3), (5, 6, 2)),
               (dict(filters=2, kernel_size=(2, 3), strides=2, padding="same"), (5, 6, 2)),
               (dict(filters=1, kernel_size=2, dilation_rate=2, use_bias=False), (5, 5, 1))],
    "Conv2DTranspose": [(dict(filters=2, kernel_size=3, strides=2, padding="same"), (3, 3, 2)),
                        (dict(filters=1, kernel_size=2, strides=3, output_padding=1), (2, 3, 1))],
    "MaxPooling2D": [(dict(pool_size=2), (5, 4, 2)), (dict(pool_size=3, strides=1, padding="same"), (4, 4, 1))],
    "AveragePooling2D": [(dict(pool_size=3, strides=2, padding="same"), (6, 5, 2))],
    "UpSampling2D": [(dict(size=2), (2, 3, 2)), (dict(size=(3, 2), interpolation="bilinear"), (2, 3, 1))],
    "Dropout": [(dict(rate=0.4, seed=3), (3, 3, 2))],
    "ReLU": [(dict(), (3, 4, 2))],
    "Activation": [(dict(activation=a), (3, 3, 2)) for a in ("relu", "sigmoid", "tanh", "linear", "softmax")]
    + [(dict(activation="softmax"), (5,))],
    "Flatten": [(dict(), (3, 4, 2)), (dict(), (5,))],
    "Dense": [(dict(units=3), (6,)), (dict(units=4, activation="softmax"), (5,)),
              (dict(units=2, activation="tanh", use_bias=False), (2, 3, 3))],
    "Softmax": [(dict(), (4,)), (dict(), (2, 2, 3))],
    "LeakyReLU": [(dict(negative_slope=0.1), (3, 3, 2)), (dict(), (7,))],
    "GlobalAveragePooling2D": [(dict(), (3, 4, 2))],
    "GlobalMaxPooling2D": [(dict(), (3, 4, 2))],
    "ZeroPadding2D": [(dict(padding=((1, 2), (0, 1))), (3, 2, 2))],
    "Cropping2D": [(dict(cropping=((1, 0), (2, 1))), (4, 5, 2))],
    "DepthwiseConv2D": [(dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2), (5, 6, 2)),
                        (dict(kernel_size=2, dilation_rate=2, use_bias=False), (5, 5, 3)),
                        (dict(kernel_size=3, strides=2, dilation_rate=2, padding="same"), (7, 7, 2))],
    "BatchNormalization": [(dict(), (3, 3, 2)), (dict(center=False), (4,)), (dict(scale=False, epsilon=0.1), (2, 2, 3))],
}
CASES = [(name, kwargs, shape) for name, examples in EXAMPLES.items() for kwargs, shape in examples]


def make(name, kwargs, shape, seed=0):
    layer = LAYER_TYPES[name](**kwargs)
    layer.build(shape, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    layer.set_weights([np.abs(a + rng.standard_normal(a.shape)).astype(np.float32) + 0.1 if "variance" in w.name
                       else (a + rng.standard_normal(a.shape)).astype(np.float32)
                       for w, a in zip(layer.weight_specs(), layer.get_weights())])
    return layer


def batch_of_two(layer, shape, seed):
    """A float32 batch of two inputs and of two output gradients for `layer` on `shape`."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2, *shape)).astype(np.float32),
            rng.standard_normal((2, *layer.compute_output_shape(shape))).astype(np.float32))


def test_every_registered_type_is_covered():
    assert set(EXAMPLES) == set(LAYER_TYPES)


@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES)
def test_a_batch_gives_each_images_numbers(name, kwargs, shape):
    layer = make(name, kwargs, shape)
    x = np.random.default_rng(5).standard_normal((3, *shape)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and y.shape == (3, *layer.compute_output_shape(shape))
    for i in range(3):
        np.testing.assert_allclose(y[i], layer(x[i]), atol=1e-5, rtol=1e-5)


TRAINING_CASES = [(*case, False) for case in CASES] + [
    (*case, True) for case in CASES if case[0] in ("Dropout", "BatchNormalization")]


@pytest.mark.parametrize(("name", "kwargs", "shape", "training"), TRAINING_CASES)
def test_backward_matches_finite_differences(name, kwargs, shape, training):
    """In float64: the layer's weights are swapped for float64 copies for the check. Weights training
    does not change (BatchNormalization's moving statistics) get zero gradients."""
    layer = make(name, kwargs, shape)
    rng = np.random.default_rng(7)
    for attr in layer.weight_attributes():
        setattr(layer, attr, getattr(layer, attr).astype(np.float64))
    x = rng.standard_normal((3, *shape))
    y = layer.forward(x, training)
    dy = rng.standard_normal(y.shape)
    dx, grads = layer.backward(x, dy, training)
    assert [g.shape for g in grads] == [w.shape for w in layer.get_weights()]

    def loss():
        if training and name == "Dropout":  # the same mask for every evaluation: the one the forward pass drew
            return float((x * np.where(layer.mask, 1 / (1 - layer.rate), 0) * dy).sum())
        return float((layer.forward(x, training) * dy).sum())

    np.testing.assert_allclose(dx, numeric_gradient(loss, x), atol=1e-6, rtol=1e-5)
    for spec, grad in zip(layer.weight_specs(), grads):
        if not spec.trainable:
            assert not grad.any(), spec.name
            continue
        np.testing.assert_allclose(grad, numeric_gradient(loss, getattr(layer, spec.name)), atol=1e-6, rtol=1e-5,
                                   err_msg=spec.name)


@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES)
def test_backward_of_one_image_is_its_part_of_the_batch(name, kwargs, shape):
    layer = make(name, kwargs, shape)
    x, dy = batch_of_two(layer, shape, seed=9)
    dx, grads = layer.backward(x, dy)
    parts = [layer.backward(x[i], dy[i]) for i in range(2)]
    for i, (dxi, _) in enumerate(parts):
        np.testing.assert_allclose(dx[i], dxi, atol=1e-5)
    for k, grad in enumerate(grads):  # weight gradients add over the batch
        np.testing.assert_allclose(grad, parts[0][1][k] + parts[1][1][k], atol=1e-4, rtol=1e-5)


def test_dropout_backward_uses_the_mask_of_the_batch_forward():
    layer = Dropout(0.5, seed=1)
    x = np.ones((4, 3, 3, 1), np.float32)
    y = layer(x, training=True)
    dx, _ = layer.backward(x, np.ones_like(x), training=True)
    np.testing.assert_array_equal(dx, y)  # the same cells kept, the same 1/(1 − rate)
    assert not np.array_equal(layer(x, training=True), y)  # every training batch draws a fresh mask
    np.testing.assert_array_equal(layer.backward(x, x)[0], x)  # inference: the identity
    with pytest.raises(ConfigError, match=r"Dropout: backward in training needs the mask"):
        layer.backward(np.ones((2, 3, 3, 1)), np.ones((2, 3, 3, 1)), training=True)


def test_batch_input_is_validated_like_one_image():
    layer = MaxPooling2D(2)
    with pytest.raises(ConfigError, match=r"MaxPooling2D: input must be an \(H, W, C\) array or a batch \(N, H, W"):
        layer(np.zeros((1, 1, 2, 2, 1)))
    with pytest.raises(ConfigError, match="a batch of no images"):
        layer(np.zeros((0, 4, 4, 1)))
    with pytest.raises(ConfigError, match="NaN"):
        layer(np.full((2, 4, 4, 1), np.nan))
    conv = Conv2D(1, 3)
    conv(np.zeros((4, 4, 2)))
    with pytest.raises(ConfigError, match="input has 3 channels, the layer was built for 2"):
        conv(np.zeros((2, 4, 4, 3)))


def test_conv_backward_worked_example_through_the_layer():
    """docs/training.md's Conv2D example on the layer: x = arange(9), W = [[1, 2], [3, 4]], dy = [[1, 0], [0, 2]]."""
    layer = Conv2D(1, 2)
    layer.build((3, 3, 1))
    layer.set_weights([np.array([[1, 2], [3, 4]], np.float32).reshape(2, 2, 1, 1), np.zeros(1)])
    dx, (dk, db) = layer.backward(np.arange(9, dtype=np.float32).reshape(3, 3, 1),
                                  np.array([[1, 0], [0, 2]], np.float32).reshape(2, 2, 1))
    np.testing.assert_array_equal(dk[:, :, 0, 0], [[8, 11], [17, 20]])
    np.testing.assert_array_equal(db, [3])
    np.testing.assert_array_equal(dx[:, :, 0], [[1, 2, 0], [3, 6, 4], [0, 6, 8]])


@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES)
def test_weight_gradients_alone_equal_backwards(name, kwargs, shape):
    layer = make(name, kwargs, shape)
    x, dy = batch_of_two(layer, shape, seed=2)
    for a, b in zip(layer.weight_gradients(x, dy), layer.backward(x, dy)[1]):
        np.testing.assert_array_equal(a, b)


LOGITS_CASES = [case for case in CASES if make(*case).logits_activation()]


def test_the_softmax_and_sigmoid_heads_are_the_cases_with_logits():
    assert {(name, kwargs.get("activation")) for name, kwargs, _ in LOGITS_CASES} == {
        ("Activation", "sigmoid"), ("Activation", "softmax"), ("Dense", "softmax"), ("Softmax", None)}


@pytest.mark.parametrize(("name", "kwargs", "shape"), LOGITS_CASES)
def test_logits_split_the_layer_at_its_final_activation(name, kwargs, shape):
    """activate(logits(x)) is the layer; backward is backward_logits after the activation's own gradient."""
    layer = make(name, kwargs, shape)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, *shape))
    logits = layer.forward_logits(x)
    np.testing.assert_allclose(layer.activate_logits(logits), layer.forward(x), atol=1e-6)
    dy = rng.standard_normal(logits.shape)
    through = G.activation(logits, dy, layer.logits_activation())
    dx, grads = layer.backward(x, dy)
    dx2, grads2 = layer.backward_logits(x, through)
    np.testing.assert_allclose(dx, dx2, atol=1e-6)
    for a, b in zip(grads, grads2):
        np.testing.assert_allclose(a, b, atol=1e-6)
