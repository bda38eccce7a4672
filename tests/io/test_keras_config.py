"""Keras Sequential (and linear Functional) config JSON: what Keras 3 writes, read back into the same pipeline;
others refused by name."""

import json
import os

import numpy as np
import pytest
from keras_support import (
    QUIET_KERAS,
    assert_keras_layers_match,
    import_keras,
    keras_cannot_compute,
)

from cnnviz.core import (
    LAYER_TYPES,
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    LeakyReLU,
    MaxPooling2D,
    Pipeline,
    ReLU,
    Softmax,
    UpSampling2D,
    ZeroPadding2D,
    seed_pipeline,
)
from cnnviz.io import (
    SessionError,
    export_keras_config,
    import_keras_config,
    pipeline_from_keras,
    pipeline_to_keras,
)

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "resources")


def every_layer_pipeline():
    return Pipeline((9, 8, 3), [
        Conv2D(4, (3, 2), strides=2, padding="same", dilation_rate=1, use_bias=False),
        ReLU(), MaxPooling2D(2, strides=1, padding="same"), AveragePooling2D((2, 1)),
        Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1), Dropout(0.3, seed=5),
        UpSampling2D((2, 3), interpolation="bilinear"), Activation("tanh"),
    ])


def test_export_is_keras_sequential_serialisation():
    data = pipeline_to_keras(seed_pipeline())
    assert data["class_name"] == "Sequential" and data["module"] == "keras"
    layers = data["config"]["layers"]
    assert layers[0] == {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                         "config": {"batch_shape": [None, 6, 6, 1], "dtype": "float32", "sparse": False,
                                    "name": "input_layer"}}
    conv = layers[1]
    assert conv["module"] == "keras.layers" and conv["class_name"] == "Conv2D"
    assert conv["config"] == {"name": "conv2d", "filters": 2, "kernel_size": [3, 3], "strides": [1, 1],
                              "padding": "valid", "dilation_rate": [1, 1], "use_bias": True, "trainable": True,
                              "dtype": "float32", "data_format": "channels_last", "groups": 1,
                              "activation": "linear"}
    assert [l["class_name"] for l in layers[2:]] == ["MaxPooling2D", "UpSampling2D"]
    assert data["config"]["build_input_shape"] == [None, 6, 6, 1]


def test_round_trip_through_json_file(tmp_path):
    p = every_layer_pipeline()
    export_keras_config(p, tmp_path / "model.json")
    q = import_keras_config(tmp_path / "model.json")
    assert q.input_shape == p.input_shape
    assert q.get_config() == p.get_config()


def test_keras_2_style_and_bare_layer_lists_are_accepted():
    legacy = {"class_name": "Sequential", "config": [
        {"class_name": "Conv2D", "config": {"name": "c", "filters": 1, "kernel_size": [3, 3], "strides": [1, 1],
                                            "padding": "valid", "batch_input_shape": [None, 5, 5, 1],
                                            "kernel_initializer": {"class_name": "GlorotUniform", "config": {}},
                                            "activation": "relu", "data_format": "channels_last"}},
        {"class_name": "MaxPooling2D", "config": {"pool_size": [3, 3], "padding": "VALID"}},
    ]}
    p = pipeline_from_keras(legacy)
    assert p.input_shape == (5, 5, 1)
    # the conv's relu becomes its own Activation layer, which computes the same numbers
    assert [type(l).__name__ for l in p.layers] == ["Conv2D", "Activation", "MaxPooling2D"]
    assert p.layers[1].activation == "relu"
    assert p.output_shapes() == [(3, 3, 1), (3, 3, 1), (1, 1, 1)]
    bare = pipeline_from_keras([{"class_name": "UpSampling2D", "config": {"size": 2}}], input_shape=(2, 2, 1))
    assert bare.output_shapes() == [(4, 4, 1)]


@pytest.mark.parametrize("data,message", [
    ({"class_name": "Graph", "config": {}}, "model.json: class_name: only Sequential models and linear Functional "
                                            "models can be imported, got \"Graph\""),
    ([{"class_name": "LSTM", "config": {"units": 3}}],
     f"model.json: layers[0].class_name: LSTM is not supported by cnnviz (supported: {', '.join(LAYER_TYPES)})"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "activation": "elu"}}],
     "model.json: layers[0].config.activation: expected one of relu, sigmoid, tanh, linear, softmax, got \"elu\""),
    ([{"class_name": "Dense", "config": {"units": 0}}],
     "model.json: layers[0].config.units: expected an integer from 1 to 4096, got 0"),
    ([{"class_name": "Softmax", "config": {"axis": 1}}],
     "model.json: layers[0].config.axis: cnnviz computes only axis=-1, got 1"),
    ([{"class_name": "Flatten", "config": {}}, {"class_name": "Conv2D", "config": {"filters": 1, "kernel_size": 1}}],
     "model.json: layers[1].config: Conv2D #2: needs an (H, W, C) map, got a vector of 36 values: put it before "
     "the Flatten (or the layer that made the vector)"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}}],
     "model.json: layers[0].config.data_format: cnnviz computes only data_format=\"channels_last\", "
     "got \"channels_first\""),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "groups": 2}}],
     "model.json: layers[0].config.groups: cnnviz computes only groups=1, got 2"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "strides": [0, 1]}}],
     "model.json: layers[0].config.strides: expected two positive integers, got [0, 1]"),
    ([{"class_name": "Conv2DTranspose", "config": {"filters": 1, "kernel_size": 3, "strides": 2,
                                                   "dilation_rate": 2}}],
     "model.json: layers[0].config.dilation_rate: Conv2DTranspose: strides 2×2 together with dilation_rate 2×2 "
     "is not allowed: Keras supports strides > 1 or dilation_rate > 1, not both (set one to 1)"),
    ([{"class_name": "ReLU", "config": {"max_value": 6.0}}],
     "model.json: layers[0].config.max_value: cnnviz computes only max_value=null, got 6.0"),
    ([{"class_name": "InputLayer", "config": {"batch_shape": [None, None, None, 1]}}],
     "model.json: layers[0].config.batch_shape: expected [null, rows, cols, channels] with fixed sizes, "
     "got [null, null, null, 1]"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 9}}],
     "model.json: layers[0].config.kernel_size: Conv2D #1: kernel 9×9 does not fit a 6×6 input with "
     "padding \"valid\": output would be 0×0"),
    ({"layers": []}, "model.json: layers: no layers to import"),
])
def test_refusals_name_the_place(tmp_path, data, message):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        import_keras_config(path, input_shape=(6, 6, 1))
    assert str(err.value) == message


def test_a_binary_or_truncated_file_is_refused_as_a_keras_config(tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(SessionError, match=r"^model\.json: not a text file \(not UTF-8\), so not a Keras config$"):
        import_keras_config(path)
    path.write_text('{"class_name": "Sequential", "config": {"layers": [')
    with pytest.raises(SessionError, match=r"^model\.json: not valid JSON: Expecting value at line 1 column 52$"):
        import_keras_config(path)


def test_a_session_and_a_keras_config_opened_as_each_other_say_what_they_are(tmp_path):
    from cnnviz.io import load_session

    lecture = os.path.join(RESOURCES, "lecture.cnnviz.json")
    with pytest.raises(SessionError) as err:
        import_keras_config(lecture, input_shape=(6, 6, 1))  # would drop the weights and the input silently
    assert str(err.value) == ("lecture.cnnviz.json: a cnnviz session, not a Keras config "
                              "(open it as a session: File ▸ Open, or `cnnviz lecture.cnnviz.json`)")
    path = tmp_path / "model.json"
    export_keras_config(seed_pipeline(), path)
    with pytest.raises(SessionError) as err:
        load_session(path)
    assert str(err.value) == ("model.json: a Keras model config, not a cnnviz session "
                              "(import it with File ▸ Import Keras config)")


def _functional(*layers):
    """A Functional config as Keras 3 writes it: each layer names its input in inbound_nodes."""
    entries = [{"class_name": "InputLayer", "name": "input_layer", "inbound_nodes": [],
                "config": {"batch_shape": [None, 8, 8, 1], "name": "input_layer"}}]
    for class_name, config, sources in layers:
        args = [{"class_name": "__keras_tensor__", "config": {"keras_history": [s, 0, 0]}} for s in sources]
        entries.append({"class_name": class_name, "name": config["name"], "config": config,
                        "inbound_nodes": [{"args": args if len(args) > 1 else args[:1], "kwargs": {}}]})
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "functional", "layers": entries, "input_layers": ["input_layer", 0, 0],
                       "output_layers": [entries[-1]["name"], 0, 0]}}


def test_a_linear_functional_classifier_imports():
    data = _functional(
        ("Conv2D", {"name": "conv2d", "filters": 4, "kernel_size": [3, 3], "activation": "relu"}, ["input_layer"]),
        ("MaxPooling2D", {"name": "max_pooling2d", "pool_size": [2, 2], "strides": [2, 2]}, ["conv2d"]),
        ("Flatten", {"name": "flatten", "data_format": "channels_last"}, ["max_pooling2d"]),
        ("Dense", {"name": "dense", "units": 10, "activation": "softmax", "use_bias": True,
                   "kernel_initializer": {"class_name": "GlorotUniform", "config": {}}}, ["flatten"]))
    p = pipeline_from_keras(data)
    assert [type(l).__name__ for l in p.layers] == ["Conv2D", "Activation", "MaxPooling2D", "Flatten", "Dense"]
    assert p.output_shapes() == [(6, 6, 4), (6, 6, 4), (3, 3, 4), (36,), (10,)]
    assert p.layers[-1].activation == "softmax"


def test_a_branching_functional_model_is_refused_by_place():
    data = _functional(("Conv2D", {"name": "a", "filters": 1, "kernel_size": 1}, ["input_layer"]),
                       ("Conv2D", {"name": "b", "filters": 1, "kernel_size": 1}, ["input_layer"]))
    with pytest.raises(SessionError) as err:
        pipeline_from_keras(data, source="m.json")
    assert str(err.value) == ('m.json: config.layers[2].inbound_nodes: layer "b" takes its input from "input_layer", '
                              'not from the layer before it ("a"): only a linear model can be imported')
    data = _functional(("Conv2D", {"name": "a", "filters": 1, "kernel_size": 1}, ["input_layer"]),
                       ("Add", {"name": "add"}, ["a", "input_layer"]))
    with pytest.raises(SessionError, match=r'layers\[2\]\.inbound_nodes: layer "add" takes 2 inputs: only a linear'):
        pipeline_from_keras(data, source="m.json")


def test_no_input_shape_anywhere_is_refused():
    with pytest.raises(SessionError, match="no input shape"):
        pipeline_from_keras([{"class_name": "ReLU", "config": {}}], source="m.json")


KERAS_PIPELINES = {  # every layer type, valid/same, strides, dilation, output_padding, bilinear
    "every layer": every_layer_pipeline,
    "seed lecture": seed_pipeline,
    "conv valid/same, strides, dilation, no bias": lambda: Pipeline((7, 6, 2), [
        Conv2D(3, (2, 3), strides=(2, 1), padding="same"), Conv2D(2, 3, padding="same", dilation_rate=(2, 1)),
        Conv2D(2, (1, 2), strides=(1, 2), padding="valid", use_bias=False), Conv2D(1, 2, dilation_rate=2)]),
    "transpose valid/same, output_padding None/values, dilation": lambda: Pipeline((3, 4, 2), [
        Conv2DTranspose(2, 3, strides=2, padding="same"), Conv2DTranspose(2, 2, strides=(3, 2), output_padding=(2, 1)),
        Conv2DTranspose(1, (3, 2), padding="same", dilation_rate=2, output_padding=None),
        Conv2DTranspose(2, 4, strides=2, padding="same", output_padding=0, use_bias=False),
        Conv2DTranspose(1, 2, strides=3, padding="valid")]),
    "pooling valid/same, default and explicit strides": lambda: Pipeline((9, 7, 2), [
        MaxPooling2D(3, strides=2, padding="same"), AveragePooling2D(2, strides=1, padding="same"),
        AveragePooling2D((2, 1), padding="valid"), MaxPooling2D((1, 2))]),
    "upsampling nearest/bilinear, dropout, activations": lambda: Pipeline((3, 2, 2), [
        UpSampling2D((2, 3), interpolation="bilinear"), Dropout(0.5, seed=1), UpSampling2D(2), ReLU(),
        UpSampling2D(3, "bilinear"), Activation("sigmoid"), Activation("linear"), Activation("tanh")]),
    "classifier: conv, pool, flatten, dense softmax": lambda: Pipeline((8, 8, 1), [
        Conv2D(3, 3), MaxPooling2D(), Flatten(), Dense(16, "relu"), Dropout(0.5), Dense(4, "softmax")]),
    "dense on a map, leaky relu, softmax on channels": lambda: Pipeline((4, 3, 2), [
        Dense(3, use_bias=False), LeakyReLU(0.2), Softmax(), Activation("softmax"), Flatten(), Dense(2),
        LeakyReLU(), Softmax()]),
    "padding, cropping, depthwise, global average pooling": lambda: Pipeline((8, 7, 2), [
        ZeroPadding2D(((1, 0), (2, 1))), DepthwiseConv2D(3, depth_multiplier=2), Cropping2D(1),
        DepthwiseConv2D(2, strides=2, dilation_rate=2, padding="same", use_bias=False), GlobalAveragePooling2D()]),
    "batch normalization, its settings, on a vector": lambda: Pipeline((4, 5, 2), [
        BatchNormalization(), Conv2D(3, 2), BatchNormalization(epsilon=0.01, center=False), Flatten(),
        BatchNormalization(scale=False), Dense(2)]),
    "zero padding then conv, global max pooling, dense": lambda: Pipeline((5, 5, 3), [
        ZeroPadding2D(1), Conv2D(4, 3), Cropping2D(((0, 1), (1, 0))), GlobalMaxPooling2D(), Dense(2, "softmax")]),
}


@QUIET_KERAS
@pytest.mark.parametrize("name", list(KERAS_PIPELINES))
def test_keras_itself_accepts_the_export_and_computes_the_same(name):
    keras = import_keras()
    p = KERAS_PIPELINES[name]()
    rng = np.random.default_rng(3)
    p.build()
    for layer in p.layers:  # random kernels and non-zero biases; variances (batch normalization) positive
        positive = [w.name == "moving_variance" for w in layer.weight_specs()]
        layer.set_weights([(np.abs(a) if pos else a).astype(np.float32) for pos, a in zip(positive, (
            rng.standard_normal(w.shape) for w in layer.get_weights()))])
    text = json.dumps(pipeline_to_keras(p))
    model = keras.models.model_from_json(text)
    again = keras.Sequential.from_config(json.loads(text)["config"])
    for m in (model, again):
        assert [l.name for l in m.layers] == [l.name for l in p.layers]
        assert [tuple(l.output.shape[1:]) for l in m.layers] == p.output_shapes()
        for layer in p.layers:
            m.get_layer(layer.name).set_weights(layer.get_weights())
    x = rng.standard_normal(p.input_shape).astype(np.float32)
    compared = assert_keras_layers_match(keras, model.layers, p, x)
    levels = p.levels(x, p.run(x))
    refused = [layer for layer, below in zip(p.layers, levels) if keras_cannot_compute(keras, layer, below.shape)]
    # besides what this backend refuses, at most the one layer the torch backend gets wrong is skipped
    assert compared >= len(p.layers) - len(refused) - 1
    if not refused:
        np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x[None]))[0],
                                   model.predict(x[None], verbose=0)[0], atol=1e-6)


def assert_computes_as_keras(model, p, seed, atol):
    """The Keras model and the pipeline imported from its config, given the same random weights (matched by
    layer name), compute the same output for a random input."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
            next(l for l in p.layers if l.name == layer.name).set_weights(layer.get_weights())
    x = rng.standard_normal(model.input_shape[1:]).astype(np.float32)
    np.testing.assert_allclose(p.run(x)[-1], model.predict(x[None], verbose=0)[0], atol=atol)


@QUIET_KERAS
def test_a_config_keras_itself_wrote_imports_and_computes_the_same():
    keras = import_keras()
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((9, 8, 3)), layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=1, padding="same", activation="sigmoid"),
        layers.MaxPooling2D(padding="same"), layers.AveragePooling2D(2, strides=1),
        layers.UpSampling2D(interpolation="bilinear"), layers.Dropout(0.3, seed=5), layers.ReLU(),
        layers.Activation("tanh")])
    p = pipeline_from_keras(json.loads(model.to_json()))
    assert [type(l).__name__ for l in p.layers] == ["Conv2D", "Activation", "Conv2DTranspose", "Activation",
                                                    "MaxPooling2D", "AveragePooling2D", "UpSampling2D", "Dropout",
                                                    "ReLU", "Activation"]
    assert p.output_shapes()[-1] == tuple(model.output_shape[1:])
    assert_computes_as_keras(model, p, seed=0, atol=1e-5)


@QUIET_KERAS
def test_a_functional_classifier_keras_wrote_imports_and_computes_the_same():
    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input((8, 7, 2))
    y = layers.Conv2D(3, 3, activation="relu")(inputs)
    y = layers.MaxPooling2D()(y)
    y = layers.Flatten()(y)
    y = layers.Dense(5, activation="softmax")(y)
    model = keras.Model(inputs, y)
    p = pipeline_from_keras(json.loads(model.to_json()))
    assert [type(l).__name__ for l in p.layers] == ["Conv2D", "Activation", "MaxPooling2D", "Flatten", "Dense"]
    assert_computes_as_keras(model, p, seed=1, atol=1e-6)


@QUIET_KERAS
def test_keras_written_padding_depthwise_and_global_pooling_import():
    keras = import_keras()
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((9, 8, 2)), layers.ZeroPadding2D(((1, 0), (2, 1))),
        layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"), layers.Cropping2D(((0, 1), 1)),
        layers.GlobalMaxPooling2D(), layers.Dense(3, activation="softmax")])
    p = pipeline_from_keras(json.loads(model.to_json()))
    assert [type(l).__name__ for l in p.layers] == ["ZeroPadding2D", "DepthwiseConv2D", "Activation", "Cropping2D",
                                                    "GlobalMaxPooling2D", "Dense"]
    assert_computes_as_keras(model, p, seed=2, atol=1e-6)


def test_keras_batch_normalization_keeps_its_momentum_and_ignores_its_initialisers():
    config = {"name": "bn", "axis": -1, "momentum": 0.9, "epsilon": 0.01, "center": True, "scale": False,
              "beta_initializer": {"class_name": "Zeros", "config": {}}, "synchronized": False, "renorm": False}
    p = pipeline_from_keras([{"class_name": "BatchNormalization", "config": config}], input_shape=(3, 3, 2))
    assert p.layers[0].get_config() == {"name": "bn", "momentum": 0.9, "epsilon": 0.01, "center": True, "scale": False}
    with pytest.raises(SessionError, match=r"config\.axis: cnnviz computes only axis=-1, got 1"):
        pipeline_from_keras([{"class_name": "BatchNormalization", "config": {**config, "axis": 1}}],
                            input_shape=(3, 3, 2))
