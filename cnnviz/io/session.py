"""Session files (`.cnnviz.json`): the input, every layer's config and weights, and the view settings.

A JSON object (the format is described in docs/session-files.md):

    {"format": 1, "generator": "cnnviz 0.1.0",
     "input": [[[0], [0], ...], ...],                  # (H, W, C)
     "seed": 0,                                        # the pipeline's random seed
     "layers": [{"class_name": "Conv2D", "config": {...Keras keys...},
                 "weights": [kernel (kh, kw, in, out), bias (out,)],   # optional: fresh init if absent
                 "mask": [[[true, ...]]]},                             # Dropout only, optional
                ...],
     "view": {"selected_layer": 1, "training": false, ...},
     "training": {"loss": ..., "optimizer": ..., "data": {"source": "digits"}, ...}}  # optional:
                                                       # io/training_settings.py

An array of up to LIST_MAX_VALUES numbers is nested lists in its Keras layout, each number the shortest
text that reads back to the same float32; a larger one is a block {"dtype": "float32", "shape": [...],
"base64": "..."} of its little-endian bytes, and a file holding one says format 2.

Loading validates everything on new objects before returning, so a bad file never touches the current
work, and every message names the file and the place in it. Nothing in a file is executed: it is parsed
as JSON data and only known layer classes are built from it.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cnnviz
from cnnviz.core import LAYER_TYPES, ConfigError, Pipeline, layer_from_config, layer_to_config
from cnnviz.core.limits import MAX_CHANNELS, MAX_LAYERS, MAX_SIDE, MAX_VALUES
from cnnviz.io.atomic import write_atomic
from cnnviz.io.errors import SessionError
from cnnviz.io.paths import shown_name
from cnnviz.io.validation import (
    _dims,
    _is_int,
    _kind,
    _Reader,
    _show,
    check_regular_file,
    join_place,
    parse_json,
    read_bytes,
)

FORMAT = 2  # the newest format this cnnviz reads and writes
LISTS_FORMAT = 1  # what a file is written as when every array is nested lists (older cnnviz read it)
LIST_MAX_VALUES = 1024  # a 32×32 map: larger arrays are base64 blocks (a million numbers as text took 4 s)
SUFFIX = ".cnnviz.json"
MAX_FILE_BYTES = 64 * 2**20
_TOP_KEYS = {"format", "generator", "input", "seed", "layers", "view", "training"}
_LAYER_KEYS = {"class_name", "config", "weights", "mask"}
# Keras keys every layer config may carry besides its constructor arguments.
_KERAS_COMMON = {"trainable": "bool", "dtype": "str"}
VIEW_DEFAULTS = {"selected_layer": 0, "training": False}
VIEW_FIELDS = {*VIEW_DEFAULTS, "recovery_of"}  # recovery_of: the file an autosave stands in for


@dataclass
class Session:
    """What a `.cnnviz.json` holds: the input (H, W, C) float32, the pipeline with weights, view settings."""

    input: np.ndarray
    pipeline: Pipeline
    view: dict = field(default_factory=dict)
    training: dict | None = None  # loss, optimizer, batch size, epochs, seed, data source (io/training_settings.py)


# ----------------------------------------------------------------------------------------------- load

def load_session(path) -> Session:
    """Read and fully validate a session file; raises SessionError naming the file and the place."""
    path = Path(path)
    size = check_regular_file(path, "a session file")
    if size > MAX_FILE_BYTES:
        raise SessionError(f"{shown_name(path)}: file is {size / 2**20:.0f} MB, more than a session can be "
                           f"({MAX_FILE_BYTES // 2**20} MB)", path=path)
    return session_from_dict(parse_json(read_bytes(path), shown_name(path)), source=shown_name(path))


def session_from_dict(data, source: str = "session") -> Session:
    """Validate a parsed session and build it on new objects (nothing shared with any live document)."""
    r = _Reader(source, MAX_VALUES)
    if not isinstance(data, dict):
        r.fail("", f"expected a JSON object with a \"format\" field, got {_kind(data)}")
    if "format" not in data:
        if "class_name" in data or ("layers" in data and "input" not in data):
            r.fail("", "a Keras model config, not a cnnviz session (import it with File ▸ Import Keras config)")
        r.fail("", "not a cnnviz session (no \"format\" field)")
    fmt = data["format"]
    if not _is_int(fmt):
        r.fail("format", f"expected an integer format number, got {_show(fmt)}")
    if not LISTS_FORMAT <= fmt <= FORMAT:
        newer = " (written by a newer cnnviz?)" if fmt > FORMAT else ""
        r.fail("format", f"unknown format {fmt}{newer}; this cnnviz reads formats {LISTS_FORMAT} and {FORMAT}")
    r.no_unknown_keys(data, _TOP_KEYS, "")
    x = r.array(r.need(data, "input", ""), "input", ndim=3, dtype=np.float32)
    _check_input_shape(r, x.shape)
    seed = data.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        r.fail("seed", f"expected a non-negative integer, got {_show(seed)}")
    entries = r.need(data, "layers", "")
    if not isinstance(entries, list):
        r.fail("layers", f"expected a list of layers, got {_kind(entries)}")
    if len(entries) > MAX_LAYERS:  # before building any (20,000 ReLUs took 27 s to be refused)
        r.fail("layers", f"{len(entries):,} layers, more than {MAX_LAYERS}: too many to show and compute interactively")
    layers = [_read_layer(r, entry, f"layers[{i}]") for i, entry in enumerate(entries)]
    pipeline = _assemble(r, x.shape, layers, seed)
    for i, (entry, layer) in enumerate(zip(entries, pipeline.layers)):
        _read_state(r, entry, layer, f"layers[{i}]")
    view = _read_view(r, data.get("view", {}), len(layers))
    training = None
    if "training" in data:
        from cnnviz.io.training_settings import check_class_names, read_training

        training = read_training(r, data["training"])
        check_class_names(r, training, pipeline)
    return Session(x, pipeline, view, training)


def _check_input_shape(r, shape):
    h, w, c = shape
    if min(shape) < 1:
        r.fail("input", f"expected a non-empty (rows, cols, channels) grid, got shape {_dims(shape)}")
    if h > MAX_SIDE or w > MAX_SIDE or c > MAX_CHANNELS:
        r.fail("input", f"grid {_dims(shape)} is too large (at most {MAX_SIDE}×{MAX_SIDE}×{MAX_CHANNELS})")


def _read_layer(r, entry, place):
    if not isinstance(entry, dict):
        r.fail(place, f"expected a layer object with \"class_name\" and \"config\", got {_kind(entry)}")
    r.no_unknown_keys(entry, _LAYER_KEYS, place)
    name = r.need(entry, "class_name", place)
    if not isinstance(name, str):
        r.fail(f"{place}.class_name", f"expected a layer class name, got {_show(name)}")
    if name not in LAYER_TYPES:
        r.fail(f"{place}.class_name", f"unknown layer {name!r} (cnnviz knows {', '.join(LAYER_TYPES)})")
    config = r.need(entry, "config", place)
    if not isinstance(config, dict):
        r.fail(f"{place}.config", f"expected an object of Keras layer arguments, got {_kind(config)}")
    config = check_layer_config(r, name, config, f"{place}.config")
    try:
        return layer_from_config({"class_name": name, "config": config})
    except ConfigError as e:
        r.fail(f"{place}.config" + (f".{e.param}" if e.param else ""), str(e))
    except (TypeError, ValueError) as e:
        r.fail(f"{place}.config", f"{name} refused these arguments: {e}")


def check_layer_config(r, class_name: str, config: dict, place: str) -> dict:
    """Type-check a cnnviz layer config (Keras keys) against the layer type's parameter descriptions;
    returns it unchanged. The layer itself then checks the arithmetic. Shared with keras_config."""
    params = {p.name: p for p in LAYER_TYPES[class_name].PARAMS}
    allowed = {*params, "name"}
    for key in config:
        if key not in allowed and key not in _KERAS_COMMON:
            r.fail(join_place(place, key), f"unknown field for {class_name} (expected {', '.join(sorted(allowed))})")
    for key, param in params.items():
        if param.required and key not in config:
            r.fail(f"{place}.{key}", f"missing (a {class_name} needs it)")
    for key, value in config.items():
        if key in params:
            problem = params[key].problem(value)
        elif key == "name":
            problem = None if value is None or isinstance(value, str) and 0 < len(value) <= 100 else \
                "a layer name (1 to 100 characters)"
        else:
            problem = _COMMON_CHECKS[_KERAS_COMMON[key]](value)
        if problem:
            r.fail(f"{place}.{key}", f"expected {problem}, got {_show(value)}")
    return config


_COMMON_CHECKS = {
    "bool": lambda v: None if isinstance(v, bool) else "true or false",
    "str": lambda v: None if isinstance(v, str) else "a string",
}


def _assemble(r, input_shape, layers, seed) -> Pipeline:
    try:
        pipeline = Pipeline(tuple(input_shape), layers, seed=seed)
        shapes = pipeline.output_shapes()
    except ConfigError as e:
        r.fail(_place_of(e, len(layers)), str(e))
    for i, shape in enumerate(shapes):
        if math.prod(shape) > MAX_VALUES:
            r.fail(f"layers[{i}]", f"output {_dims(shape)} is too large to compute ({MAX_VALUES} values at most)")
    try:
        pipeline.build()
    except ConfigError as e:
        r.fail(_place_of(e, len(layers)), str(e))
    return pipeline


def _place_of(e: ConfigError, n_layers: int) -> str:
    """`layers[i].config.param` for a core error that names "Conv2D #3" and a parameter."""
    m = re.search(r"#(\d+)", e.layer or "") or re.match(r"\w+ #(\d+)", str(e))
    if not m or not 1 <= int(m.group(1)) <= n_layers:
        return "input" if e.param == "input" else "layers"
    place = f"layers[{int(m.group(1)) - 1}].config"
    return place + (f".{e.param}" if e.param and e.param != "input" else "")


def _read_state(r, entry, layer, place):
    """Weights (Keras layouts, checked against the built layer's shapes) and a Dropout mask."""
    expected = [w.shape for w in layer.get_weights()]
    if "weights" in entry:
        given = entry["weights"]
        if not isinstance(given, list):
            r.fail(f"{place}.weights", f"expected a list of {len(expected)} arrays, got {_kind(given)}")
        if len(given) != len(expected):
            r.fail(f"{place}.weights", f"{layer.label} has {len(expected)} weight arrays "
                                       f"({', '.join(_dims(s) for s in expected) or 'none'}), got {len(given)}")
        arrays = []
        for j, (value, shape) in enumerate(zip(given, expected)):
            a = r.array(value, f"{place}.weights[{j}]", ndim=len(shape), dtype=np.float32)
            if a.shape != shape:
                r.fail(f"{place}.weights[{j}]", f"expected shape {_dims(shape)} for {layer.label}"
                                                f"{_layout(layer, j)}, got {_dims(a.shape)}")
            arrays.append(a)
        try:
            layer.set_weights(arrays)
        except ConfigError as e:
            r.fail(f"{place}.weights", str(e))
    if "mask" in entry:
        if not hasattr(layer, "set_mask"):
            r.fail(f"{place}.mask", f"only a Dropout layer has a mask, not {layer.label}")
        mask = r.array(entry["mask"], f"{place}.mask", ndim=3, dtype=bool)
        try:
            layer.set_mask(mask)
        except ConfigError as e:
            r.fail(f"{place}.mask", str(e))


def _layout(layer, j):
    specs = layer.weight_specs()
    return f" ({specs[j].layout})" if j < len(specs) else ""


def _read_view(r, view, n_layers) -> dict:
    """Only the settings cnnviz knows, each of its type: whatever loads can be saved again (a NaN or a
    600-level list here once loaded and then made every save fail)."""
    if not isinstance(view, dict):
        r.fail("view", f"expected an object of view settings, got {_kind(view)}")
    r.no_unknown_keys(view, VIEW_FIELDS, "view")
    view = {**VIEW_DEFAULTS, **view}
    source = view.get("recovery_of")
    if source is not None and not (isinstance(source, str) and 0 < len(source) <= 4096 and "\0" not in source):
        r.fail("view.recovery_of", f"expected the path of the session this work recovers, got {_show(source)}")
    sel = view["selected_layer"]
    if not _is_int(sel) or not 0 <= sel <= n_layers:
        r.fail("view.selected_layer", f"expected a layer number from 0 (the input) to {n_layers}, got {_show(sel)}")
    if not isinstance(view["training"], bool):
        r.fail("view.training", f"expected true or false, got {_show(view['training'])}")
    return view


# ----------------------------------------------------------------------------------------------- save

def session_to_dict(session: Session) -> dict:
    """The JSON-ready dict of a session (small arrays as nested lists of shortest float32 text)."""
    return _session_data(session, lambda a: json.loads(_dump_texts(_texts(a), 0)))


def _session_data(session: Session, lists) -> dict:
    """The session as a dict: each array of up to LIST_MAX_VALUES numbers converted by `lists`, larger ones
    as base64 blocks (and then format 2)."""
    blocks = 0

    def array(a):
        nonlocal blocks
        if np.size(a) <= LIST_MAX_VALUES:
            return lists(a)
        blocks += 1
        return _block(a)

    layers = []
    for layer in session.pipeline.layers:
        entry = dict(layer_to_config(layer))
        entry["config"] = _jsonable(entry["config"])
        if layer.built and layer.get_weights():
            entry["weights"] = [array(w) for w in layer.get_weights()]
        if getattr(layer, "mask", None) is not None:
            entry["mask"] = array(np.asarray(layer.mask, dtype=bool))
        layers.append(entry)
    data = {
        "format": LISTS_FORMAT,
        "generator": f"cnnviz {cnnviz.__version__}",
        "input": array(session.input),
        "seed": int(session.pipeline.seed),
        "layers": layers,
        "view": {**VIEW_DEFAULTS, **_jsonable(session.view)},
        **({"training": _jsonable(session.training)} if session.training is not None else {}),
    }
    if blocks:
        data["format"] = FORMAT
    return data


def _block(a: np.ndarray) -> dict:
    """A large array as its little-endian bytes in base64: float32, or a mask's bytes 0 and 1."""
    a = np.asarray(a)
    kind, dtype = ("bool", "u1") if a.dtype == bool else ("float32", "<f4")
    raw = np.ascontiguousarray(a, dtype=dtype).tobytes()
    return {"dtype": kind, "shape": list(a.shape), "base64": base64.b64encode(raw).decode("ascii")}


def save_session(session: Session, path) -> None:
    """Write atomically: a temp file beside the target, fsync, then os.replace (the old file survives a crash)."""
    path = Path(path)
    for a in [session.input] + [w for layer in session.pipeline.layers if layer.built for w in layer.get_weights()]:
        if not np.all(np.isfinite(a)):
            raise SessionError(f"{path.name}: cannot save non-finite numbers (NaN or infinity)", path=path)
    text = dumps(_session_data(session, _Texts)) + "\n"
    write_atomic(path, text.encode("utf-8"))


class _Texts:
    """An array already written as JSON number texts; dumps lays it out as it would the nested lists (numpy
    writes the numbers, Python only joins rows: value by value, a save took 14 µs per number)."""

    def __init__(self, a: np.ndarray):
        self.texts = _texts(a)


def _texts(a: np.ndarray) -> np.ndarray:
    """Each value as the shortest decimal that reads back to the same float32 (0.1 not 0.10000000149, 3 not
    3.0); true/false for a mask."""
    a = np.asarray(a)
    if a.dtype == bool:
        return np.where(a, "true", "false")
    a = np.asarray(a, dtype=np.float32)
    whole = a == np.trunc(a)
    small = whole & (np.abs(a) < 2.0**62)
    huge = [str(int(v)) for v in a[whole & ~small]]  # up to 39 digits (3.4·10³⁸)
    texts = a.astype(str)  # numpy's float32 str is the shortest text that reads back to the same float32
    texts = texts.astype(f"U{max(texts.dtype.itemsize // 4, 20, *map(len, huge))}")
    texts[small] = a[small].astype(np.int64).astype(str)
    texts[whole & ~small] = huge
    return texts


def _dump_texts(t: np.ndarray, indent: int) -> str:
    """The text dumps gives the nested lists of `t`; the innermost lists (at most 64 long: channels,
    filters, a bias) are joined by numpy, the rest one row at a time."""
    rows = t[..., 0]
    for j in range(1, t.shape[-1]):
        rows = np.char.add(np.char.add(rows, ", "), t[..., j])
    return _nest_lists(np.char.add(np.char.add("[", rows), "]"), indent)


def _nest_lists(lists: np.ndarray, indent: int) -> str:
    """`lists` (texts of flat lists) nested as dumps nests lists of lists: on one line when it fits."""
    if lists.ndim == 0:
        return str(lists)
    parts = lists.tolist() if lists.ndim == 1 else [_nest_lists(x, indent + 2) for x in lists]
    flat = "[" + ", ".join(parts) + "]"
    if len(flat) + indent <= 110 and "\n" not in flat:
        return flat
    inner = " " * (indent + 2)
    return "[\n" + ",\n".join(inner + part for part in parts) + "\n" + " " * indent + "]"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def dumps(obj, indent: int = 0) -> str:
    """JSON with objects indented and each array row on one line, so a 6×6 input reads like a grid."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(obj, _Texts):
        return _dump_texts(obj.texts, indent)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 2)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        parts = [dumps(v, indent + 2) for v in obj]
        flat = "[" + ", ".join(parts) + "]"
        nested = any(isinstance(v, (list, dict, _Texts)) for v in obj)
        if not nested or (len(flat) + indent <= 110 and "\n" not in flat):
            return flat
        return "[\n" + ",\n".join(inner + part for part in parts) + "\n" + pad + "]"
    if isinstance(obj, bool) or obj is None:
        return json.dumps(obj)
    if isinstance(obj, (int, float)):
        return repr(obj) if isinstance(obj, int) or math.isfinite(obj) else json.dumps(obj)
    return json.dumps(obj)
