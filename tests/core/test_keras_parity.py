"""Every cnnviz layer against the same layer in real Keras 3: configs, output shapes, refusals and numbers.

Each Keras layer is made from cnnviz's own get_config(), given cnnviz's weights with set_weights, and run
on the same random input (a batch of one). Skipped where keras is not installed (it is not a dependency).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from keras_support import (
    QUIET_KERAS,
    assert_keras_layers_match,
    import_keras,
    keras_average_pool_differs,
    keras_cannot_compute,
    torch_layout_conv,
)

import naive_reference as ref
from cnnviz.core import LAYER_TYPES, AveragePooling2D, ConfigError, Pipeline, seed_input, seed_pipeline

keras = import_keras()
pytestmark = QUIET_KERAS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ATOL = 1e-5

pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
shapes = st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 3))
paddings = st.sampled_from(["valid", "same"])


def keras_layer(layer):
    """The Keras layer of the same class, made from cnnviz's config."""
    return getattr(keras.layers, type(layer).__name__).from_config(layer.get_config())


def keras_refuses(klayer, shape) -> bool:
    """Keras raises for an impossible shape; where a transposed conv would be empty (cnnviz refuses it)
    Keras returns an empty tensor instead, which counts as a refusal too."""
    try:
        out = klayer.compute_output_shape((1, *shape))
    except ValueError:
        return True
    return min(out[1:3]) < 1


def keras_call(klayer, x, training=False) -> np.ndarray:
    return keras.ops.convert_to_numpy(klayer(x[None], training=training))[0]


def assert_same_as_keras(class_name, kwargs, shape, seed):
    """cnnviz and Keras refuse the same arguments and shapes; otherwise they agree on shape and values.
    Returns (layer, x, y) when the layer computed, else None."""
    try:
        layer = LAYER_TYPES[class_name](**kwargs)
    except ConfigError:
        event("both refuse the arguments")
        with pytest.raises(ValueError):
            getattr(keras.layers, class_name)(**kwargs)
        return None
    klayer = keras_layer(layer)
    try:
        out_shape = layer.compute_output_shape(shape)
    except ConfigError:
        event("both refuse the input shape")
        assert keras_refuses(klayer, shape)
        return None
    assert not keras_refuses(klayer, shape)
    assert tuple(klayer.compute_output_shape((1, *shape)))[1:] == out_shape
    rng = np.random.default_rng(seed)
    layer.build(shape)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    klayer.build((1, *shape))
    klayer.set_weights(layer.get_weights())
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    assert y.shape == out_shape
    plain_torch = torch_layout_conv(keras, layer, x)
    if keras_cannot_compute(keras, layer, shape):  # the naive reference checks these values (test_ops.py)
        event("computed; TensorFlow refuses this transposed convolution, the torch backend computes it")
    elif keras_average_pool_differs(keras, layer, shape):  # the caller compares with TF semantics
        event("computed; the Keras torch backend's average pooling bug: compared with TF semantics")
    elif plain_torch is not None:
        event("computed; torch's channels-last conv bug: compared with torch's plain layout")
        np.testing.assert_allclose(plain_torch, y, atol=ATOL, rtol=1e-5)
    else:
        event("computed and compared with Keras")
        np.testing.assert_allclose(keras_call(klayer, x), y, atol=ATOL, rtol=1e-5)
    return layer, x, y


# ---- convolutions --------------------------------------------------------------------------------


@st.composite
def strides_and_dilation(draw, free=True):
    """Strided or dilated; with `free`, now and then both drawn freely (Keras refuses both > 1, so must
    cnnviz)."""
    strides, dilation = draw(pair), draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    kind = draw(st.sampled_from(["strided", "dilated", "free"] if free else ["strided", "dilated"]))
    return (strides, (1, 1)) if kind == "strided" else ((1, 1), dilation) if kind == "dilated" else (strides, dilation)


@st.composite
def output_paddings(draw, strides):
    """None, or per axis 0..stride (the stride itself is refused by both)."""
    if draw(st.booleans()):
        return None
    return tuple(draw(st.integers(0, s if draw(st.integers(0, 5)) == 0 else s - 1)) for s in strides)


@SETTINGS
@given(filters=st.integers(1, 3), kernel=st.tuples(st.integers(1, 5), st.integers(1, 5)), axes=strides_and_dilation(),
       padding=paddings, use_bias=st.booleans(), shape=shapes, seed=st.integers(0, 2**16))
def test_conv2d(filters, kernel, axes, padding, use_bias, shape, seed):
    strides, dilation = axes
    assert_same_as_keras("Conv2D", dict(filters=filters, kernel_size=kernel, strides=strides, padding=padding,
                                        dilation_rate=dilation, use_bias=use_bias), shape, seed)


@SETTINGS
@given(filters=st.integers(1, 3), kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)), axes=strides_and_dilation(),
       padding=paddings, use_bias=st.booleans(), shape=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3)),
       seed=st.integers(0, 2**16), data=st.data())
def test_conv2d_transpose(filters, kernel, axes, padding, use_bias, shape, seed, data):
    strides, dilation = axes
    output_padding = data.draw(output_paddings(strides), label="output_padding")
    assert_same_as_keras("Conv2DTranspose", dict(filters=filters, kernel_size=kernel, strides=strides, padding=padding,
                                                 output_padding=output_padding, dilation_rate=dilation,
                                                 use_bias=use_bias), shape, seed)


def test_the_excluded_torch_conv_case_is_torch_s_own_error():
    """12×6×1 input, two 5×5 filters, strides (1, 3): a one-column output. cnnviz equals the naive reference
    and torch's plain layout; the exclusion fires exactly when Keras's numbers are off."""
    layer = LAYER_TYPES["Conv2D"](2, 5, strides=(1, 3))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 6, 1)).astype(np.float32)
    layer.build(x.shape)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    y = layer(x)
    np.testing.assert_allclose(y, ref.conv2d(x, layer.kernel, layer.bias, (1, 3), "valid", (1, 1)), atol=ATOL)
    klayer = keras_layer(layer)
    klayer.build((1, *x.shape))
    klayer.set_weights(layer.get_weights())
    keras_wrong = not np.allclose(keras_call(klayer, x), y, atol=ATOL)
    assert (torch_layout_conv(keras, layer, x) is not None) == keras_wrong


# ---- pooling -------------------------------------------------------------------------------------


@SETTINGS
@given(cls=st.sampled_from(["MaxPooling2D", "AveragePooling2D"]), pool=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       strides=st.one_of(st.none(), pair), padding=paddings, shape=shapes, seed=st.integers(0, 2**16))
def test_pooling(cls, pool, strides, padding, shape, seed):
    result = assert_same_as_keras(cls, dict(pool_size=pool, strides=strides, padding=padding), shape, seed)
    if result is not None and keras_average_pool_differs(keras, result[0], shape):
        # docs/layers.md: the Keras torch backend replicates edge cells into uneven `same` padding
        # (keras-team/keras#18452); cnnviz implements TensorFlow's semantics (padded cells ignored), so
        # compare with the naive loop reference of those semantics instead.
        layer, x, y = result
        np.testing.assert_allclose(y, ref.pool2d(x, layer.pool_size, layer.strides, padding, "average"), atol=ATOL)


def test_the_excluded_average_pooling_case_really_differs_in_the_torch_backend():
    """The documented 7×6, pool 3, stride 2 case: Keras torch differs from TF semantics, cnnviz does not."""
    layer = AveragePooling2D(3, strides=2, padding="same")
    x = np.arange(42, dtype=np.float32).reshape(7, 6, 1) ** 2 / 10
    tf_semantics = ref.pool2d(x, (3, 3), (2, 2), "same", "average")
    np.testing.assert_allclose(layer(x), tf_semantics, atol=ATOL)
    if keras.backend.backend() == "torch":
        assert keras_average_pool_differs(keras, layer, x.shape)
        assert not np.allclose(keras_call(keras_layer(layer), x), tf_semantics, atol=1e-3)


# ---- up-sampling, dropout, activations -----------------------------------------------------------


@SETTINGS
@given(size=pair, interpolation=st.sampled_from(["nearest", "bilinear"]), shape=shapes, seed=st.integers(0, 2**16))
def test_upsampling(size, interpolation, shape, seed):
    assert_same_as_keras("UpSampling2D", dict(size=size, interpolation=interpolation), shape, seed)


@SETTINGS
@given(rate=st.floats(0, 0.9), shape=shapes, seed=st.integers(0, 2**16))
def test_dropout_at_inference_and_training_scale(rate, shape, seed):
    layer, x, y = assert_same_as_keras("Dropout", dict(rate=rate, seed=seed), shape, seed)
    np.testing.assert_array_equal(y, x)
    # Keras draws its own random mask: read it off Keras's output (x has no zeros), inject it into cnnviz,
    # and the scaled kept values must agree.
    trained = keras_call(keras_layer(layer), x, training=True)
    mask = trained != 0
    if rate == 0:
        assert mask.all()
    np.testing.assert_allclose(trained[mask], x[mask] / (1 - rate), rtol=1e-6)
    layer.set_mask(mask)
    np.testing.assert_allclose(layer(x, training=True), trained, atol=ATOL, rtol=1e-6)


@SETTINGS
@given(activation=st.sampled_from([None, "relu", "sigmoid", "tanh", "linear"]), shape=shapes,
       seed=st.integers(0, 2**16))
def test_activations(activation, shape, seed):
    if activation is None:
        assert_same_as_keras("ReLU", {}, shape, seed)
    else:
        assert_same_as_keras("Activation", {"activation": activation}, shape, seed)


# ---- the classifier's layers: Flatten, Dense, Softmax, LeakyReLU (vector levels too) ---------------

vectors = st.tuples(st.integers(1, 12))


@SETTINGS
@given(shape=st.one_of(shapes, vectors), seed=st.integers(0, 2**16))
def test_flatten(shape, seed):
    assert_same_as_keras("Flatten", {}, shape, seed)


@SETTINGS
@given(units=st.integers(1, 5), activation=st.sampled_from([None, "relu", "sigmoid", "tanh", "linear", "softmax"]),
       use_bias=st.booleans(), shape=st.one_of(shapes, vectors), seed=st.integers(0, 2**16))
def test_dense(units, activation, use_bias, shape, seed):
    """On a vector the inner products; on a map Keras acts on the last axis (a 1×1 convolution)."""
    assert_same_as_keras("Dense", dict(units=units, activation=activation, use_bias=use_bias), shape, seed)


@SETTINGS
@given(kind=st.sampled_from(["Softmax", "softmax", "LeakyReLU"]), slope=st.floats(0, 2), scale=st.sampled_from([1, 50]),
       shape=st.one_of(shapes, vectors), seed=st.integers(0, 2**16))
def test_softmax_and_leaky_relu(kind, slope, scale, shape, seed):
    """Softmax over the last axis (large inputs too: the stable form), Activation("softmax") the same."""
    class_name, kwargs = {"Softmax": ("Softmax", {}), "softmax": ("Activation", {"activation": "softmax"}),
                          "LeakyReLU": ("LeakyReLU", {"negative_slope": slope})}[kind]
    layer = LAYER_TYPES[class_name](**kwargs)
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    klayer = keras_layer(layer)
    np.testing.assert_allclose(keras_call(klayer, x), layer(x), atol=1e-6, rtol=1e-5)


def test_keras_refuses_what_cnnviz_refuses_for_the_new_arguments():
    for class_name, kwargs in [("Dense", {"units": 0}), ("LeakyReLU", {"negative_slope": -0.5})]:
        with pytest.raises(ConfigError):
            LAYER_TYPES[class_name](**kwargs)
        with pytest.raises(ValueError):
            getattr(keras.layers, class_name)(**kwargs)


def test_a_keras_classifier_s_summary_counts_what_cnnviz_holds():
    p = Pipeline((8, 8, 1), [LAYER_TYPES["Conv2D"](4, 3), LAYER_TYPES["MaxPooling2D"](), LAYER_TYPES["Flatten"](),
                             LAYER_TYPES["Dense"](10, "softmax")])
    p.build()
    model = sequential(p)
    assert [l.count_params() for l in model.layers] == [sum(w.size for w in l.get_weights()) for l in p.layers] \
        == [40, 0, 0, 370]


# ---- global pooling, zero padding, cropping, depthwise ---------------------------------------------

side = st.integers(0, 3)
sides = st.one_of(side, st.tuples(side, side), st.tuples(st.tuples(side, side), st.tuples(side, side)))


@SETTINGS
@given(cls=st.sampled_from(["GlobalAveragePooling2D", "GlobalMaxPooling2D"]), shape=shapes, seed=st.integers(0, 2**16))
def test_global_pooling(cls, shape, seed):
    assert_same_as_keras(cls, {}, shape, seed)


@SETTINGS
@given(cls=st.sampled_from(["ZeroPadding2D", "Cropping2D"]), value=sides, shape=shapes, seed=st.integers(0, 2**16))
def test_zero_padding_and_cropping(cls, value, shape, seed):
    """Same normalisation, shapes and values; a crop that leaves nothing is refused by both."""
    assert_same_as_keras(cls, {"padding" if cls == "ZeroPadding2D" else "cropping": value}, shape, seed)


@SETTINGS
@given(kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)), strides=st.integers(1, 3).map(lambda s: (s, s)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), padding=paddings, multiplier=st.integers(1, 3),
       use_bias=st.booleans(), shape=shapes, seed=st.integers(0, 2**16))
def test_depthwise_conv2d(kernel, strides, dilation, padding, multiplier, use_bias, shape, seed):
    """Strides and dilation both > 1 too: Keras 3 accepts them for DepthwiseConv2D (not for Conv2D). Strides equal
    per axis: TensorFlow's depthwise op refuses others when it runs, cnnviz at construction (tested in
    tests/core/test_map_layers.py)."""
    assert_same_as_keras("DepthwiseConv2D", dict(kernel_size=kernel, strides=strides, padding=padding,
                                                 depth_multiplier=multiplier, dilation_rate=dilation,
                                                 use_bias=use_bias), shape, seed)


def test_a_negative_zero_padding_is_refused_here_and_fails_in_keras_at_the_call():
    """Keras builds ZeroPadding2D(-1) and fails only when it runs; cnnviz refuses it where it is typed."""
    with pytest.raises(ConfigError, match="padding must not be negative"):
        LAYER_TYPES["ZeroPadding2D"](-1)
    klayer = keras.layers.ZeroPadding2D(-1)
    with pytest.raises(Exception):  # noqa: B017 - the backend's own error type (TF InvalidArgumentError)
        keras_call(klayer, np.zeros((4, 4, 1), np.float32))


# ---- batch normalization at inference ------------------------------------------------------------


@SETTINGS
@given(epsilon=st.sampled_from([0.0, 1e-5, 1e-3, 0.3]), center=st.booleans(), scale=st.booleans(),
       shape=st.one_of(shapes, vectors), seed=st.integers(0, 2**16))
def test_batch_normalization(epsilon, center, scale, shape, seed):
    """Keras's four (or fewer) arrays in its order, the moving statistics at inference; variances made positive."""
    layer = LAYER_TYPES["BatchNormalization"](epsilon=epsilon, center=center, scale=scale)
    layer.build(shape)
    rng = np.random.default_rng(seed)
    layer.set_weights([np.abs(rng.standard_normal(w.shape)).astype(np.float32) + 0.1 for w in layer.get_weights()])
    klayer = keras_layer(layer)
    klayer.build((1, *shape))
    assert [v.path.split("/")[-1] for v in klayer.weights] == [w.name for w in layer.weight_specs()]
    klayer.set_weights(layer.get_weights())
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(keras_call(klayer, x), layer(x), atol=1e-6, rtol=1e-6)
    assert klayer.count_params() == sum(w.size for w in layer.get_weights())


# ---- whole pipelines -----------------------------------------------------------------------------


def sequential(pipeline):
    """keras.Sequential of the same layers, built, with cnnviz's weights."""
    model = keras.Sequential([keras.Input(pipeline.input_shape), *(keras_layer(l) for l in pipeline.layers)])
    for layer in pipeline.layers:
        model.get_layer(layer.name).set_weights(layer.get_weights())
    return model


def test_seed_pipeline_end_to_end():
    p, x = seed_pipeline(), seed_input()
    model = sequential(p)
    outputs = p.run(x)
    assert [tuple(l.output.shape[1:]) for l in model.layers] == p.output_shapes() == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]
    np.testing.assert_allclose(model.predict(x[None], verbose=0)[0], outputs[-1], atol=ATOL)
    assert assert_keras_layers_match(keras, model.layers, p, x) == 3


@st.composite
def pipelines(draw):
    """Two to four random map layers that fit a random input, now and then ending as a classifier does
    (Flatten or global pooling, then Dense and a softmax)."""
    shape = draw(st.tuples(st.integers(3, 8), st.integers(3, 8), st.integers(1, 3)))
    layers = []
    for _ in range(draw(st.integers(2, 4))):
        kind = draw(st.sampled_from(["Conv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D", "UpSampling2D",
                                     "Dropout", "ReLU", "Activation", "ZeroPadding2D", "Cropping2D",
                                     "DepthwiseConv2D", "BatchNormalization", "LeakyReLU", "Softmax"]))
        strides, dilation = draw(strides_and_dilation(free=False))
        padding = draw(paddings)
        kwargs = {
            "Conv2D": dict(filters=draw(st.integers(1, 3)), kernel_size=draw(pair), strides=strides, padding=padding,
                           dilation_rate=dilation),
            "Conv2DTranspose": dict(filters=draw(st.integers(1, 3)), kernel_size=draw(pair), strides=strides,
                                    padding=padding, dilation_rate=dilation),
            "MaxPooling2D": dict(pool_size=draw(pair), padding=padding),
            "AveragePooling2D": dict(pool_size=draw(pair), strides=strides, padding=padding),
            "UpSampling2D": dict(size=draw(pair), interpolation=draw(st.sampled_from(["nearest", "bilinear"]))),
            "Dropout": dict(rate=0.5),
            "ReLU": {},
            "Activation": dict(activation=draw(st.sampled_from(["sigmoid", "tanh", "softmax"]))),
            "ZeroPadding2D": dict(padding=draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))),
            "Cropping2D": dict(cropping=draw(st.tuples(st.integers(0, 1), st.integers(0, 1)))),
            "DepthwiseConv2D": dict(kernel_size=draw(pair), padding=padding, depth_multiplier=draw(st.integers(1, 2))),
            "BatchNormalization": dict(epsilon=0.01, center=draw(st.booleans())),
            "LeakyReLU": dict(negative_slope=0.2),
            "Softmax": {},
        }[kind]
        layers.append(LAYER_TYPES[kind](**kwargs))
    if draw(st.booleans()):
        layers.append(LAYER_TYPES[draw(st.sampled_from(["Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"]))]())
        layers.append(LAYER_TYPES["Dense"](draw(st.integers(1, 4)), activation=draw(st.sampled_from([None, "softmax"]))))
    pipeline = Pipeline(shape, layers)
    try:
        pipeline.output_shapes()
    except ConfigError:
        assume(False)
    return pipeline


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pipeline=pipelines(), seed=st.integers(0, 2**16))
def test_random_pipelines_end_to_end(pipeline, seed):
    rng = np.random.default_rng(seed)
    pipeline.build()
    for layer in pipeline.layers:  # a batch normalization's variance (its last array) stays positive
        positive = [w.name == "moving_variance" for w in layer.weight_specs()]
        layer.set_weights([(np.abs(a) + 0.1 if pos else a).astype(np.float32) for pos, a in zip(
            positive, (rng.standard_normal(w.shape) for w in layer.get_weights()))])
    x = rng.standard_normal(pipeline.input_shape).astype(np.float32)
    model = sequential(pipeline)
    assert [tuple(l.output.shape[1:]) for l in model.layers] == pipeline.output_shapes()
    if assert_keras_layers_match(keras, model.layers, pipeline, x) == len(pipeline.layers):
        np.testing.assert_allclose(model.predict(x[None], verbose=0)[0], pipeline.run(x)[-1], atol=1e-4, rtol=1e-4)
