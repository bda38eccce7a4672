"""Session files holding the classifier, padding, depthwise and normalisation layers: exact round trips, and
every new parameter and weight validated (by file and place) before anything changes."""

import json

import numpy as np
import pytest

from cnnviz.core import LAYER_TYPES, BatchNormalization, Pipeline
from cnnviz.io import Session, SessionError, load_session, save_session, session_to_dict

# One pipeline with every layer type the registry knows after the lecture's eight.
NEW_LAYERS = [
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "same"}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("Softmax", {}),
    ("Activation", {"activation": "softmax"}),
    ("Dense", {"units": 3, "activation": None}),
    ("Flatten", {}),
    ("Dense", {"units": 4, "activation": "softmax", "use_bias": False}),
]


def new_layers_session(layers=NEW_LAYERS):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 5, 2)).astype(np.float32)
    p = Pipeline(x.shape, [LAYER_TYPES[name](**kwargs) for name, kwargs in layers], seed=5)
    p.build()
    for layer in p.layers:
        layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return Session(x, p, {"selected_layer": len(layers), "training": False})


def saved(tmp_path, session, name="s.cnnviz.json"):
    path = tmp_path / name
    save_session(session, path)
    return path


def test_new_layers_round_trip_exactly(tmp_path):
    s = new_layers_session()
    path = saved(tmp_path, s)
    t = load_session(path)
    assert t.pipeline.get_config() == s.pipeline.get_config()
    assert t.pipeline.output_shapes() == s.pipeline.output_shapes() == [
        (6, 5, 2), (6, 5, 2), (6, 5, 2), (6, 5, 2), (6, 5, 3), (90,), (4,)]
    for u, v in zip(s.pipeline.run(s.input), t.pipeline.run(t.input)):
        assert np.array_equal(u, v)
    save_session(t, tmp_path / "again.cnnviz.json")
    assert (tmp_path / "again.cnnviz.json").read_bytes() == path.read_bytes()


def entry(data, i):
    return data["layers"][i]


BAD = [
    (lambda d: entry(d, 6)["config"].update(units=0),
     "layers[6].config.units: expected an integer from 1 to 4096, got 0"),
    (lambda d: entry(d, 6)["config"].update(activation="elu"),
     "layers[6].config.activation: expected 'relu' or 'sigmoid' or 'tanh' or 'linear' or 'softmax', got \"elu\""),
    (lambda d: entry(d, 1)["config"].update(negative_slope=-1),
     "layers[1].config.negative_slope: expected a number ≥ 0, got -1"),
    (lambda d: entry(d, 2)["config"].update(axis=1),
     "layers[2].config.axis: unknown field for Softmax (expected name)"),
    (lambda d: entry(d, 6)["weights"].__setitem__(0, [[0.5] * 4] * 89),
     "layers[6].weights[0]: expected shape 90×4 for Dense #7 (kernel in, units), got 89×4"),
    (lambda d: entry(d, 4)["weights"].pop(),
     "layers[4].weights: Dense #5 has 2 weight arrays (2×3, 3), got 1"),
    (lambda d: d["layers"].insert(6, {"class_name": "Conv2D", "config": {"filters": 1, "kernel_size": 1}}),
     "layers[6].config: Conv2D #7: needs an (H, W, C) map, got a vector of 90 values: put it before the Flatten "
     "(or the layer that made the vector)"),
]


def refusal(tmp_path, session, change) -> str:
    """What loading refuses the session's file with after `change` to its JSON data."""
    data = json.loads(json.dumps(session_to_dict(session)))
    change(data)
    path = tmp_path / "bad.cnnviz.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        load_session(path)
    return str(err.value)


@pytest.mark.parametrize("change,message", BAD, ids=[m.split(":")[0] + m.split(":")[1][:20] for _, m in BAD])
def test_bad_new_layer_fields_are_refused_by_place(tmp_path, change, message):
    assert refusal(tmp_path, new_layers_session(), change) == f"bad.cnnviz.json: {message}"


MAP_LAYERS = [
    ("ZeroPadding2D", {"padding": [[1, 0], [2, 1]]}),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}),
    ("Cropping2D", {"cropping": [1, 2]}),
    ("GlobalMaxPooling2D", {}),
]
MAP_BAD = [
    (lambda d: entry(d, 0)["config"].update(padding=[1, 2, 3]),
     "layers[0].config.padding: expected an integer ≥ 0, two of them (rows, cols), or [[top, bottom], "
     "[left, right]], got [1, 2, 3]"),
    (lambda d: entry(d, 0)["config"].update(padding=-1),
     "layers[0].config.padding: expected an integer ≥ 0, two of them (rows, cols), or [[top, bottom], "
     "[left, right]], got -1"),
    (lambda d: entry(d, 2)["config"].update(cropping=[[4, 3], 0]),
     "layers[2].config.cropping: Cropping2D #3: cropping 4+3 rows from a 7×8 input leaves no rows"),
    (lambda d: entry(d, 1)["config"].update(depth_multiplier=0),
     "layers[1].config.depth_multiplier: expected an integer from 1 to 64, got 0"),
    (lambda d: entry(d, 1)["config"].update(strides=[1, 2]),
     "layers[1].config.strides: DepthwiseConv2D: strides 1×2 are not allowed: Keras on TensorFlow computes a "
     "depthwise convolution only with the same stride for rows and cols"),
    (lambda d: entry(d, 1)["weights"].__setitem__(1, [0.5] * 5),
     "layers[1].weights[1]: expected shape 4 for DepthwiseConv2D #2 (bias, one per output channel), got 5"),
    (lambda d: d["layers"].append({"class_name": "ZeroPadding2D", "config": {}}),
     "layers[4].config: ZeroPadding2D #5: needs an (H, W, C) map, got a vector of 4 values: put it before the "
     "Flatten (or the layer that made the vector)"),
]


def test_map_layers_round_trip_exactly(tmp_path):
    s = new_layers_session(MAP_LAYERS)
    t = load_session(saved(tmp_path, s))
    assert t.pipeline.get_config() == s.pipeline.get_config()
    assert t.pipeline.output_shapes() == [(7, 8, 2), (7, 8, 4), (5, 4, 4), (4,)]
    for u, v in zip(s.pipeline.run(s.input), t.pipeline.run(t.input)):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("change,message", MAP_BAD, ids=[m.split(":")[0] + m.split(":")[1][:20] for _, m in MAP_BAD])
def test_bad_map_layer_fields_are_refused_by_place(tmp_path, change, message):
    assert refusal(tmp_path, new_layers_session(MAP_LAYERS), change) == f"bad.cnnviz.json: {message}"


def test_batch_normalization_round_trips_and_a_bad_variance_is_refused_by_place(tmp_path):
    p = Pipeline((3, 3, 2), [BatchNormalization(epsilon=0.01, center=False)])
    p.build()
    p.layers[0].set_weights([np.array([2, 3], np.float32), np.array([0.5, -1], np.float32),
                             np.array([4, 0.25], np.float32)])
    x = np.arange(18, dtype=np.float32).reshape(3, 3, 2)
    path = tmp_path / "bn.cnnviz.json"
    save_session(Session(x, p, {}), path)
    again = load_session(path)
    assert again.pipeline.get_config() == p.get_config()
    assert np.array_equal(again.pipeline.run(x)[0], p.run(x)[0])
    data = json.loads(json.dumps(session_to_dict(again)))
    data["layers"][0]["weights"][2] = [-1, 1]
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        load_session(path)
    assert str(err.value) == ("bn.cnnviz.json: layers[0].weights: BatchNormalization #1: moving_variance + epsilon "
                              "must be > 0 (a variance is ≥ 0), got -1 + 0.01 in channel 1")
