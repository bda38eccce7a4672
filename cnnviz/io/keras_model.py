"""Trained Keras models: Keras 3 `.keras` files and legacy `.h5` files, read with h5py and zipfile alone.

Nothing in a model file is executed: the config is JSON read as data, the weights are arrays. A `Lambda`
layer (Python code the file carries) or any layer type cnnviz does not compute ends the imported pipeline;
the layers before it come in with their trained weights and ImportedModel.left_out names the rest.

Where the weights are:
- `.keras`: a zip holding `config.json` and `model.weights.h5`; each layer's variables are the datasets
  `layers/<path>/vars/0, 1, …` where `<path>` is the layer's class name in snake case with a counter for the
  second and later layers of one class (`conv2d`, `conv2d_1`), not the layer's own name. The path is made
  as Keras makes it and then looked up in the file; a missing path is an error, never a guess.
- `.h5`: the attribute `model_config` (the same JSON), and under `model_weights/<layer name>` the attribute
  `weight_names`, listing that layer's datasets in get_weights order.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from cnnviz.core import LAYER_TYPES
from cnnviz.io.errors import SessionError
from cnnviz.io.keras_config import _layer_entries, pipeline_from_keras
from cnnviz.io.imported_model import ImportedModel
from cnnviz.io.validation import _dims, _Reader, _show, check_regular_file

MAX_MODEL_BYTES = 64 * 2**20  # a model cnnviz can compute interactively is far smaller
_CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}  # layers whose file holds Python code


def h5py_module():
    try:
        import h5py
    except ImportError:  # a dependency; only a broken install lacks it
        raise SessionError("reading Keras model files needs h5py (pip install h5py)") from None
    return h5py


def read_keras_model(path) -> ImportedModel:
    """A `.keras` or `.h5` file -> the leading layers cnnviz computes, with their weights."""
    path = Path(path)
    size = check_regular_file(path, "a Keras model")
    if size > MAX_MODEL_BYTES:
        raise SessionError(f"{path.name}: file is {size / 2**20:.0f} MB, more than a model cnnviz can compute "
                           f"interactively ({MAX_MODEL_BYTES // 2**20} MB)", path=path)
    if path.suffix.lower() == ".keras":
        config, weights = _open_keras_zip(path)
    else:
        config, weights = _open_legacy_h5(path)
    return _build(path.name, config, weights)


# ------------------------------------------------------------------------------------------- the files

def _open_keras_zip(path: Path):
    r = _Reader(path.name)
    if not zipfile.is_zipfile(path):
        r.fail("", "not a Keras 3 model (a .keras file is a zip archive; this is not one)")
    with zipfile.ZipFile(path) as z:
        members = {info.filename: info for info in z.infolist()}
        for part in ("config.json", "model.weights.h5"):
            if part not in members:
                r.fail(part, f"missing from the archive (it holds {', '.join(sorted(members)) or 'nothing'})")
            if members[part].file_size > MAX_MODEL_BYTES:
                r.fail(part, f"{members[part].file_size / 2**20:.0f} MB unpacked, more than a model cnnviz can "
                             f"compute interactively")
        try:
            raw_config = z.read("config.json")
            raw_weights = z.read("model.weights.h5")
        except (zipfile.BadZipFile, OSError, EOFError) as e:  # a damaged member (CRC, truncation)
            r.fail("", f"damaged archive ({e})")
    config = _parse_config(r, raw_config, "config.json")
    h5 = _open_h5(r, io.BytesIO(raw_weights), "model.weights.h5")
    return config, _KerasZipWeights(r, h5)


def _open_legacy_h5(path: Path):
    r = _Reader(path.name)
    h5 = _open_h5(r, str(path), "")
    raw = h5.attrs.get("model_config")
    if raw is None:
        r.fail("model_config", "missing (an .h5 file from model.save() carries the model's config; a file "
                               "from save_weights() holds weights alone)")
    config = _parse_config(r, raw, "model_config")
    if "model_weights" not in h5:
        r.fail("model_weights", "missing (the file holds no weights)")
    return config, _LegacyWeights(r, h5["model_weights"])


def _parse_config(r, raw, part):
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        return json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        r.fail(part, f"not valid JSON ({e})")


def _open_h5(r, source, part):
    h5py = h5py_module()
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as e:
        r.fail(part, f"not a readable HDF5 file, perhaps truncated ({e})")


def _snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: `Conv2DTranspose` -> `conv2d_transpose`, `ReLU` -> `re_lu`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class _KerasZipWeights:
    """model.weights.h5 of a .keras archive: variables under the class-based path of each layer."""

    def __init__(self, r, h5):
        self.r, self.h5, self.counts = r, h5, {}

    def next_layer(self, entry) -> str:
        """The path Keras gave this layer (called for every layer in order, the InputLayer too)."""
        base = _snake_case(entry.get("class_name", ""))
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return f"layers/{base}" + (f"_{n}" if n else "")

    def arrays(self, key: str, count: int) -> tuple[list[np.ndarray], str]:
        group = self._group(f"{key}/vars")
        names = [str(i) for i in range(len(group))]
        return [self._read(group, n, f"{key}/vars/{n}") for n in names], f"model.weights.h5: {key}/vars"

    def _group(self, key):
        if key not in self.h5:
            self.r.fail(f"model.weights.h5: {key}", "missing (the weights file does not match config.json)")
        return self.h5[key]

    def _read(self, group, name, place):
        try:
            return np.asarray(group[name], dtype=np.float32)
        except (OSError, KeyError, ValueError, TypeError) as e:
            self.r.fail(f"model.weights.h5: {place}", f"cannot be read ({e})")


class _LegacyWeights(_KerasZipWeights):
    """model_weights of a legacy .h5 file: per layer name, the datasets its weight_names attribute lists."""

    def next_layer(self, entry) -> str:
        config = entry.get("config", {})
        return entry.get("name") or (config.get("name") if isinstance(config, dict) else "") or ""

    def arrays(self, key: str, count: int) -> tuple[list[np.ndarray], str]:
        if not count and key not in self.h5:
            return [], ""
        group = self._group(key)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
        return [self._read(group, n, f"{key}/{n}") for n in names], f"model_weights/{key}"

    def _group(self, key):
        if key not in self.h5:
            self.r.fail(f"model_weights/{key}", "missing (the weights do not match model_config)")
        return self.h5[key]

    def _read(self, group, name, place):
        if name not in group:
            self.r.fail(f"model_weights/{place}", "listed in weight_names but missing")
        return super()._read(group, name, f"model_weights/{place}")


# ------------------------------------------------------------------------------------------- the model

def _build(source: str, data, weights) -> ImportedModel:
    r = _Reader(source)
    entries, place = _layer_entries(r, data)
    kept, left_out, stopped_by, keys = [], [], "", []
    for i, entry in enumerate(entries):
        name = entry.get("class_name") if isinstance(entry, dict) else None
        label = f"{name} {_show(_layer_name(entry))}" if name else f"{place}[{i}]"
        supported = name == "InputLayer" or (name in LAYER_TYPES and name not in _CODE_LAYERS
                                             and entry.get("module", "keras.layers") in ("keras.layers", None))
        if left_out or not supported:
            if not left_out:
                stopped_by = (f"{label} holds Python code, which cnnviz never runs" if name in _CODE_LAYERS
                              else f"cnnviz does not compute {label}")
            left_out.append(label)
            continue
        kept.append(entry)
        keys.append(weights.next_layer(entry))
    if not any(isinstance(e, dict) and e.get("class_name") != "InputLayer" for e in kept):
        r.fail(place, f"nothing to import: {stopped_by or 'the model has no layers'}")
    pipeline = pipeline_from_keras(kept, source=source)
    _load_weights(r, pipeline, kept, keys, weights)
    return ImportedModel(pipeline, source, left_out, stopped_by)


def _layer_name(entry) -> str:
    config = entry.get("config") if isinstance(entry, dict) else None
    return (config.get("name") if isinstance(config, dict) else None) or entry.get("name", "")


def _load_weights(r, pipeline, entries, keys, weights) -> None:
    """Each Keras layer's arrays onto the cnnviz layer of its name (a split-off activation has none)."""
    by_name = {layer.name: layer for layer in pipeline.layers}
    for entry, key in zip(entries, keys):
        if entry.get("class_name") == "InputLayer":
            continue
        layer = by_name.get(_layer_name(entry))
        expected = [w.shape for w in layer.get_weights()] if layer is not None else []
        arrays, place = weights.arrays(key, len(expected))
        if len(arrays) != len(expected):
            r.fail(place, f"{len(arrays)} arrays, but {entry['class_name']} {_show(_layer_name(entry))} as "
                          f"configured has {len(expected)} weights")
        for j, (a, shape) in enumerate(zip(arrays, expected)):
            if a.shape != shape:
                names = [w.name for w in type(layer).WEIGHTS]
                r.fail(f"{place}/{j}", f"shape {_dims(a.shape)}, but the {names[j] if j < len(names) else j} of "
                                       f"{layer.label} needs {_dims(shape)}")
            if not np.all(np.isfinite(a)):
                r.fail(f"{place}/{j}", "holds NaN or infinity")
        if expected:
            layer.set_weights(arrays)
