"""The pipeline alone, in Keras's own Sequential config JSON (no weights: Keras configs carry none).

Export writes what Keras 3 writes for a Sequential model: `{"module": "keras", "class_name": "Sequential",
"config": {"name", "layers": [InputLayer with batch_shape, then each layer as {"module": "keras.layers",
"class_name", "config", "registered_name"}], "build_input_shape"}}`, so both
`keras.models.model_from_json(text)` and `keras.Sequential.from_config(data["config"])` accept it.

Import reads that (also the bare `config` dict, a plain list of layers, Keras 2's `batch_input_shape`,
and a Functional model whose layers form one chain, as `keras.Model(inputs, outputs)` of a classifier
writes it). Only the layer types cnnviz computes are accepted; anything else is refused by
name. Keras keys that do not change the forward pass (initialisers, regularisers, constraints, dtype,
trainable) are ignored; keys that would change it and cnnviz cannot honour are refused. A Conv2D with
`activation="relu"` becomes Conv2D + Activation("relu"), which computes the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

from cnnviz.core import LAYER_TYPES, ConfigError, Pipeline, layer_from_config, layer_to_config
from cnnviz.io.session import (
    _Reader,
    _assemble,
    _is_int,
    _show,
    check_layer_config,
    check_regular_file,
    parse_json,
    read_bytes,
    write_atomic,
)

# Keys that do not change a forward pass, ignored on import.
_IGNORED = {"trainable", "dtype", "kernel_initializer", "bias_initializer", "kernel_regularizer",
            "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "lora_rank",
            "lora_alpha", "quantization_config", "batch_size"}
_ACTIVATIONS = LAYER_TYPES["Activation"].param("activation").choices


# --------------------------------------------------------------------------------------------- export

def pipeline_to_keras(pipeline: Pipeline) -> dict:
    """The Keras 3 serialisation of `keras.Sequential([keras.Input(shape), *layers])`."""
    batch_shape = [None, *(int(v) for v in pipeline.input_shape)]
    layers = [_serialised("InputLayer", {"batch_shape": batch_shape, "dtype": "float32", "sparse": False,
                                         "name": "input_layer"})]
    for layer in pipeline.layers:
        entry = layer_to_config(layer)
        config = {**_plain(entry["config"]), "trainable": True, "dtype": "float32"}
        config.update(type(layer).KERAS_EXTRAS)
        layers.append(_serialised(entry["class_name"], config))
    model = {"name": "sequential", "trainable": True, "dtype": "float32", "layers": layers,
             "build_input_shape": batch_shape}
    return {"module": "keras", "class_name": "Sequential", "config": model, "registered_name": None}


def keras_json(pipeline: Pipeline) -> str:
    return json.dumps(pipeline_to_keras(pipeline), indent=2) + "\n"


def export_keras_config(pipeline: Pipeline, path) -> None:
    write_atomic(Path(path), keras_json(pipeline).encode("utf-8"))


def _serialised(class_name: str, config: dict) -> dict:
    return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}


def _plain(obj):
    """Tuples -> lists so the JSON reads as Keras writes it."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------- import

def import_keras_config(path, input_shape=None) -> Pipeline:
    """Read a Keras Sequential config file; `input_shape` is used when the file does not fix one."""
    path = Path(path)
    check_regular_file(path, "a Keras config")
    data = parse_json(read_bytes(path), path.name, "a Keras config")
    return pipeline_from_keras(data, source=path.name, input_shape=input_shape)


def pipeline_from_keras(data, source: str = "Keras config", input_shape=None) -> Pipeline:
    """Keras Sequential config (any of the shapes Keras writes) -> a new, built cnnviz Pipeline."""
    r = _Reader(source)
    entries, place = _layer_entries(r, data)
    layers, shape = [], None
    for i, entry in enumerate(entries):
        where = f"{place}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            r.fail(where, f"expected a layer object with a \"class_name\", got {_show(entry)}")
        name, config = entry["class_name"], entry.get("config", {})
        if not isinstance(config, dict):
            r.fail(f"{where}.config", f"expected an object of layer arguments, got {_show(config)}")
        batch = config.get("batch_shape", config.get("batch_input_shape"))
        if batch is not None:
            if i > 1 or (i == 1 and shape is not None):
                r.fail(f"{where}.config", "an input shape is only allowed on the first layer")
            shape = _input_shape(r, batch, f"{where}.config")
        if name == "InputLayer":
            if i != 0:
                r.fail(where, "InputLayer must come first")
            continue
        if name not in LAYER_TYPES:
            r.fail(f"{where}.class_name", f"{name} is not supported by cnnviz "
                                          f"(supported: {', '.join(LAYER_TYPES)})")
        layers.extend(_to_cnnviz(r, name, config, where))
    if shape is None and input_shape is not None:
        shape = tuple(int(v) for v in input_shape)
    if shape is None:
        r.fail("", "no input shape (add an InputLayer with batch_shape [null, H, W, C])")
    if not layers:
        r.fail(place, "no layers to import")
    return _assemble(r, shape, layers, seed=0)


def _layer_entries(r, data):
    if isinstance(data, list):
        return data, "layers"
    if not isinstance(data, dict):
        r.fail("", f"expected a Keras model config (an object), got {_show(data)}")
    if "format" in data and "input" in data:  # the layers alone would import, losing weights and input
        r.fail("", f"a cnnviz session, not a Keras config (open it as a session: File ▸ Open, or "
                   f"`cnnviz {r.source}`)")
    if "class_name" in data:
        if data["class_name"] in ("Functional", "Model"):
            return _linear_functional(r, data.get("config")), "config.layers"
        if data["class_name"] != "Sequential":
            r.fail("class_name", f"only Sequential models and linear Functional models can be imported, "
                                 f"got {_show(data['class_name'])}")
        config = data.get("config")
        if isinstance(config, list):  # Keras 2 wrote the layer list directly
            return config, "config"
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            r.fail("config.layers", "missing (a Sequential config lists its layers)")
        return config["layers"], "config.layers"
    if isinstance(data.get("layers"), list):
        return data["layers"], "layers"
    r.fail("", "not a Keras Sequential config (no \"class_name\" or \"layers\")")


def _linear_functional(r, config) -> list:
    """A Functional model's layers when they form one chain (each takes the previous one's output), as Keras
    writes them: in order, each with `inbound_nodes` naming its input in `keras_history`."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        r.fail("config.layers", "missing (a Functional config lists its layers)")
    layers = config["layers"]
    previous = None
    for i, entry in enumerate(layers):
        place = f"config.layers[{i}]"
        if not isinstance(entry, dict):
            r.fail(place, f"expected a layer object, got {_show(entry)}")
        nodes = entry.get("inbound_nodes", [])
        sources = [] if not nodes else _node_sources(nodes[0]) if isinstance(nodes[0], dict) else [None]
        if i and (len(nodes) != 1 or len(sources) != 1):
            r.fail(f"{place}.inbound_nodes", f"layer {_show(entry.get('name'))} takes {len(sources)} inputs: only "
                                             "a linear model (each layer feeding the next) can be imported")
        if i and sources[0] != previous:
            r.fail(f"{place}.inbound_nodes", f"layer {_show(entry.get('name'))} takes its input from "
                                             f"{_show(sources[0])}, not from the layer before it ({_show(previous)}): "
                                             "only a linear model can be imported")
        previous = entry.get("name")
    return layers


def _node_sources(node: dict) -> list:
    """The names of the layers whose outputs a Keras 3 inbound node reads."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            history = value.get("config", {}).get("keras_history") if value.get("class_name") == "__keras_tensor__" \
                else None
            if isinstance(history, list) and history:
                found.append(history[0])
                return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk([node.get("args", []), node.get("kwargs", {})])
    return found


def _input_shape(r, batch, place) -> tuple[int, int, int]:
    if not (isinstance(batch, list) and len(batch) == 4 and all(_is_int(v) and v > 0 for v in batch[1:])):
        r.fail(f"{place}.batch_shape", f"expected [null, rows, cols, channels] with fixed sizes, got {_show(batch)}")
    return tuple(batch[1:])


def _to_cnnviz(r, name: str, config: dict, place: str) -> list:
    """One Keras layer config -> cnnviz layers (a conv with an activation becomes two)."""
    cls = LAYER_TYPES[name]
    ignored = {*_IGNORED, *cls.KERAS_IGNORED, "batch_shape", "batch_input_shape"}
    params = {k: v for k, v in config.items() if k not in ignored}
    split = cls.KERAS_SPLITS_ACTIVATION  # Keras's activation argument becomes an Activation layer after it
    activation = params.pop("activation", None) if split else None
    for key, default in cls.KERAS_EXTRAS.items():
        if key in params and not (split and key == "activation"):
            value = params.pop(key)
            if value != default and not (key == "data_format" and value is None):
                r.fail(f"{place}.config.{key}", f"cnnviz computes only {key}={_show(default)}, got {_show(value)}")
    if split and activation not in (None, "linear"):
        if activation not in _ACTIVATIONS:
            r.fail(f"{place}.config.activation", f"expected one of {', '.join(_ACTIVATIONS)}, got {_show(activation)}")
    check_layer_config(r, name, params, f"{place}.config")
    try:
        layers = [layer_from_config({"class_name": name, "config": params})]
    except ConfigError as e:
        r.fail(f"{place}.config" + (f".{e.param}" if e.param else ""), str(e))
    if activation not in (None, "linear"):
        base = params.get("name") or layers[0].name
        layers.append(LAYER_TYPES["Activation"](activation, name=f"{base}_{activation}"))
    return layers
