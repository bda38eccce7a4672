"""Keras Sequential config JSON: what Keras 3 writes, read back into the same pipeline; others refused by name."""

import json

import numpy as np
import pytest

from cnnviz.core import (
    Activation,
    AveragePooling2D,
    Conv2D,
    Conv2DTranspose,
    Dropout,
    MaxPooling2D,
    Pipeline,
    ReLU,
    UpSampling2D,
    seed_pipeline,
)
from cnnviz.io import SessionError, export_keras_config, import_keras_config, pipeline_from_keras, pipeline_to_keras


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
    ({"class_name": "Functional", "config": {}}, "model.json: class_name: only Sequential models can be imported, "
                                                 "got \"Functional\""),
    ([{"class_name": "Dense", "config": {"units": 3}}],
     "model.json: layers[0].class_name: Dense is not supported by cnnviz (supported: Conv2D, Conv2DTranspose, "
     "MaxPooling2D, AveragePooling2D, UpSampling2D, Dropout, ReLU, Activation)"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "activation": "softmax"}}],
     "model.json: layers[0].config.activation: expected one of relu, sigmoid, tanh, linear, got \"softmax\""),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}}],
     "model.json: layers[0].config.data_format: cnnviz computes only data_format=\"channels_last\", "
     "got \"channels_first\""),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "groups": 2}}],
     "model.json: layers[0].config.groups: cnnviz computes only groups=1, got 2"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "strides": [0, 1]}}],
     "model.json: layers[0].config.strides: expected two positive integers, got [0, 1]"),
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


def test_no_input_shape_anywhere_is_refused():
    with pytest.raises(SessionError, match="no input shape"):
        pipeline_from_keras([{"class_name": "ReLU", "config": {}}], source="m.json")


def test_keras_itself_accepts_the_export():
    keras = pytest.importorskip("keras")
    p = every_layer_pipeline()
    text = json.dumps(pipeline_to_keras(p))
    model = keras.models.model_from_json(text)
    assert tuple(model.output_shape[1:]) == p.output_shapes()[-1]
    again = keras.Sequential.from_config(json.loads(text)["config"])
    assert [l.name for l in again.layers] == [l.name for l in p.layers]
    x = np.zeros((1, 9, 8, 3), np.float32)
    assert model(x).shape[1:] == p.output_shapes()[-1]
