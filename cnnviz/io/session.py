"""Session files (`.cnnviz.json`): the input, every layer's config and weights, and the view settings.

Format 1, a JSON object (arrays are nested lists in their Keras layouts, numbers written as the shortest
text that reads back to the same float32):

    {"format": 1, "generator": "cnnviz 0.1.0",
     "input": [[[0], [0], ...], ...],                  # (H, W, C)
     "seed": 0,                                        # the pipeline's random seed
     "layers": [{"class_name": "Conv2D", "config": {...Keras keys...},
                 "weights": [kernel (kh, kw, in, out), bias (out,)],   # optional: fresh init if absent
                 "mask": [[[true, ...]]]},                             # Dropout only, optional
                ...],
     "view": {"selected_layer": 1, "training": false, ...}}

Loading validates everything on new objects before returning, so a bad file never touches the current
work, and every message names the file and the place in it. Nothing in a file is executed: it is parsed
as JSON data and only known layer classes are built from it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cnnviz
from cnnviz.core import LAYER_TYPES, ConfigError, Pipeline, layer_from_config, layer_to_config
from cnnviz.core.limits import MAX_CHANNELS, MAX_SIDE, MAX_VALUES
from cnnviz.io.errors import SessionError

FORMAT = 1
SUFFIX = ".cnnviz.json"
MAX_FILE_BYTES = 64 * 2**20
_TOP_KEYS = {"format", "generator", "input", "seed", "layers", "view"}
_LAYER_KEYS = {"class_name", "config", "weights", "mask"}
# Keras keys every layer config may carry besides its constructor arguments.
_KERAS_COMMON = {"trainable": "bool", "dtype": "str"}
VIEW_DEFAULTS = {"selected_layer": 0, "training": False}


@dataclass
class Session:
    """What a `.cnnviz.json` holds: the input (H, W, C) float32, the pipeline with weights, view settings."""

    input: np.ndarray
    pipeline: Pipeline
    view: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- load

def load_session(path) -> Session:
    """Read and fully validate a session file; raises SessionError naming the file and the place."""
    path = Path(path)
    size = check_regular_file(path, "a session file")
    if size > MAX_FILE_BYTES:
        raise SessionError(f"{path.name}: file is {size / 2**20:.0f} MB, more than a session can be "
                           f"({MAX_FILE_BYTES // 2**20} MB)", path=path)
    return session_from_dict(parse_json(read_bytes(path), path.name), source=path.name)


def check_regular_file(path: Path, what: str) -> int:
    """The size of a regular file, else SessionError. A pipe or device is refused before it is opened:
    reading one would wait for a writer forever (or never end)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SessionError(f"{path.name}: no such file", path=path) from None
    except OSError as e:
        raise SessionError(f"{path.name}: cannot read ({e.strerror or e})", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise SessionError(f"{path.name}: is a folder, not {what}", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise SessionError(f"{path.name}: not a regular file (a pipe or device), so not readable here", path=path)
    return st.st_size


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise SessionError(f"{path.name}: cannot read ({e.strerror or e})", path=path) from None


def parse_json(raw: bytes | str, source: str, what: str = "a cnnviz session"):
    """JSON text -> Python data. NaN/Infinity become markers that the validators report with their place."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise SessionError(f"{source}: not a text file (not UTF-8), so not {what}") from None
    try:
        return json.loads(text, parse_constant=_NonFinite)
    except json.JSONDecodeError as e:
        raise SessionError(f"{source}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise SessionError(f"{source}: not valid JSON: nested too deeply") from None


class _NonFinite:
    """A NaN/Infinity token found while parsing; never a valid number."""

    def __init__(self, token: str):
        self.token = token

    def __repr__(self):
        return self.token


def session_from_dict(data, source: str = "session") -> Session:
    """Validate a parsed session and build it on new objects (nothing shared with any live document)."""
    r = _Reader(source)
    if not isinstance(data, dict):
        r.fail("", f"expected a JSON object with a \"format\" field, got {_kind(data)}")
    if "format" not in data:
        if "class_name" in data or ("layers" in data and "input" not in data):
            r.fail("", "a Keras model config, not a cnnviz session (import it with File ▸ Import Keras config)")
        r.fail("", "not a cnnviz session (no \"format\" field)")
    fmt = data["format"]
    if not _is_int(fmt):
        r.fail("format", f"expected an integer format number, got {_show(fmt)}")
    if fmt != FORMAT:
        newer = " (written by a newer cnnviz?)" if fmt > FORMAT else ""
        r.fail("format", f"unknown format {fmt}{newer}; this cnnviz reads format {FORMAT}")
    r.no_unknown_keys(data, _TOP_KEYS, "")
    x = r.array(r.need(data, "input", ""), "input", ndim=3, dtype=np.float32)
    _check_input_shape(r, x.shape)
    seed = data.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        r.fail("seed", f"expected a non-negative integer, got {_show(seed)}")
    entries = r.need(data, "layers", "")
    if not isinstance(entries, list):
        r.fail("layers", f"expected a list of layers, got {_kind(entries)}")
    layers = [_read_layer(r, entry, f"layers[{i}]") for i, entry in enumerate(entries)]
    pipeline = _assemble(r, x.shape, layers, seed)
    for i, (entry, layer) in enumerate(zip(entries, pipeline.layers)):
        _read_state(r, entry, layer, f"layers[{i}]")
    view = _read_view(r, data.get("view", {}), len(layers))
    return Session(x, pipeline, view)


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
    if not isinstance(view, dict):
        r.fail("view", f"expected an object of view settings, got {_kind(view)}")
    view = {**VIEW_DEFAULTS, **view}
    sel = view["selected_layer"]
    if not _is_int(sel) or not 0 <= sel <= n_layers:
        r.fail("view.selected_layer", f"expected a layer number from 0 (the input) to {n_layers}, got {_show(sel)}")
    if not isinstance(view["training"], bool):
        r.fail("view.training", f"expected true or false, got {_show(view['training'])}")
    return view


class _Reader:
    """Raises SessionError("<file>: <place>: <problem>") and converts nested lists to checked arrays."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, place: str, problem: str):
        raise SessionError(f"{self.source}: {place}: {problem}" if place else f"{self.source}: {problem}",
                           path=self.source, place=place)

    def need(self, obj: dict, key: str, place: str):
        if key not in obj:
            self.fail(f"{place}.{key}" if place else key, "missing")
        return obj[key]

    def no_unknown_keys(self, obj: dict, known: set, place: str):
        for key in obj:
            if key not in known:
                self.fail(join_place(place, key), f"unknown field (expected {', '.join(sorted(known))})")

    def array(self, value, place: str, ndim: int, dtype) -> np.ndarray:
        """A nested list of `ndim` levels -> array; the first bad element is reported by its index."""
        want = bool if dtype is bool else (int, float)
        shape = _first_shape(value, ndim)
        if math.prod(shape) > MAX_VALUES:
            self.fail(place, f"more than {MAX_VALUES} values")
        # The walk in Python is what makes a true among numbers, a ragged row or a NaN a named error
        # (np.array would quietly turn true into 1); it costs ~0.1 s for a 256×256×3 input.
        self._find_bad(value, place, ndim, want, shape, place)
        with np.errstate(over="ignore"):
            return np.ascontiguousarray(np.array(value, dtype=dtype))

    def _find_bad(self, value, place, ndim, want, shape, root, depth=0):
        """Walk the nested lists to report the first ragged, mistyped or non-finite element. Every list at
        a depth must be as long as the first one there (`shape`), cousins included, not only siblings."""
        if ndim == 0:
            if isinstance(value, _NonFinite) or (want != bool and _is_number(value) and not _fits_float32(value)):
                self.fail(place, f"expected a finite number, got {value!r}")
            if want == bool and not isinstance(value, bool):
                self.fail(place, f"expected true or false, got {_show(value)}")
            if want != bool and not _is_number(value):
                self.fail(place, f"expected a number, got {_show(value)}")
            return
        if not isinstance(value, list):
            self.fail(place, f"expected a list ({ndim} more level{'s' if ndim > 1 else ''} of nesting), "
                             f"got {_show(value)}")
        if not value:
            self.fail(place, "expected a non-empty list")
        if depth < len(shape) and len(value) != shape[depth]:
            entries = f"{shape[depth]} entr{'y' if shape[depth] == 1 else 'ies'}"
            self.fail(place, f"expected {entries} like {root}{'[0]' * depth}, got {len(value)} (ragged array)")
        for i, v in enumerate(value):
            self._find_bad(v, f"{place}[{i}]", ndim - 1, want, shape, root, depth + 1)


def join_place(place: str, key: str) -> str:
    """`place.key`, or `place["key"]` (JSON-escaped, shortened) for a key a file made up: a newline or
    control character in it would otherwise break the one-line message."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", key):
        return f"{place}.{key}" if place else key
    text = json.dumps(key)
    return f"{place}[{text if len(text) <= 40 else text[:38] + '...'}]"


def _fits_float32(v) -> bool:
    return math.isfinite(v) and abs(v) <= 3.4028234663852886e38


def _first_shape(value, ndim) -> tuple[int, ...]:
    """The lengths down the first elements (as many levels as are lists): the shape every row must have,
    and a cheap size guard before np.array on a huge file."""
    shape = []
    for _ in range(ndim):
        if not isinstance(value, list) or not value:
            break
        shape.append(len(value))
        value = value[0]
    return tuple(shape)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number")


def _show(v) -> str:
    text = json.dumps(v, default=repr) if not isinstance(v, _NonFinite) else v.token
    return text if len(text) <= 60 else text[:57] + "..."


def _dims(shape) -> str:
    return "×".join(str(int(s)) for s in shape)


# ----------------------------------------------------------------------------------------------- save

def session_to_dict(session: Session) -> dict:
    """The JSON-ready dict of a session (arrays as nested lists of shortest float32 text)."""
    layers = []
    for layer in session.pipeline.layers:
        entry = dict(layer_to_config(layer))
        entry["config"] = _jsonable(entry["config"])
        if layer.built and layer.get_weights():
            entry["weights"] = [_to_lists(w) for w in layer.get_weights()]
        if getattr(layer, "mask", None) is not None:
            entry["mask"] = np.asarray(layer.mask, dtype=bool).tolist()
        layers.append(entry)
    return {
        "format": FORMAT,
        "generator": f"cnnviz {cnnviz.__version__}",
        "input": _to_lists(session.input),
        "seed": int(session.pipeline.seed),
        "layers": layers,
        "view": {**VIEW_DEFAULTS, **_jsonable(session.view)},
    }


def save_session(session: Session, path) -> None:
    """Write atomically: a temp file beside the target, fsync, then os.replace (the old file survives a crash)."""
    path = Path(path)
    for a in [session.input] + [w for layer in session.pipeline.layers if layer.built for w in layer.get_weights()]:
        if not np.all(np.isfinite(a)):
            raise SessionError(f"{path.name}: cannot save non-finite numbers (NaN or infinity)", path=path)
    text = dumps(session_to_dict(session)) + "\n"
    write_atomic(path, text.encode("utf-8"))


def write_atomic(path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never half of one.

    A symlink is followed (its target is replaced, the link stays); a target that exists but is not a
    regular file (/dev/stdout, a pipe) is written straight into, never replaced."""
    given = Path(path)
    if not given.parent.is_dir():  # the folder is what is missing: say so, not "no such file"
        raise SessionError(f"{given.name}: cannot save: there is no folder {given.parent}", path=given)
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            raise SessionError(f"{path.name}: cannot save ({e.strerror or e})", path=path) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as e:
        raise SessionError(f"{path.name}: cannot save ({e.strerror or e})", path=path) from None
    try:
        os.chmod(tmp, _file_mode(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise SessionError(f"{path.name}: cannot save ({e.strerror or e})", path=path) from None
        raise
    _fsync_dir(path.parent)


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _to_lists(a: np.ndarray):
    """Nested lists of the shortest decimal that reads back to the same float32 (0.1 not 0.10000000149)."""
    a = np.asarray(a, dtype=np.float32)
    flat = [int(v) if v.is_integer() else float(str(v)) for v in a.ravel()]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


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
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 2)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        parts = [dumps(v, indent + 2) for v in obj]
        flat = "[" + ", ".join(parts) + "]"
        nested = any(isinstance(v, (list, dict)) for v in obj)
        if not nested or (len(flat) + indent <= 110 and "\n" not in flat):
            return flat
        return "[\n" + ",\n".join(inner + part for part in parts) + "\n" + pad + "]"
    if isinstance(obj, bool) or obj is None:
        return json.dumps(obj)
    if isinstance(obj, (int, float)):
        return repr(obj) if isinstance(obj, int) or math.isfinite(obj) else json.dumps(obj)
    return json.dumps(obj)
