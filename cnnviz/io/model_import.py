"""Open a trained model as a session: Keras (`.keras`, `.h5`) or ONNX (`.onnx`), by the file's suffix."""

from __future__ import annotations

from pathlib import Path

from cnnviz.io.errors import SessionError
from cnnviz.io.imported_model import ImportedModel

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".onnx")


def import_model(path) -> ImportedModel:
    """Read a model file; SessionError names the file and the part for anything wrong with it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        from cnnviz.io.keras_model import read_keras_model

        return read_keras_model(path)
    if suffix == ".onnx":
        from cnnviz.io.onnx_model import read_onnx_model

        return read_onnx_model(path)
    raise SessionError(f"{path.name}: not a model file cnnviz opens (expected {', '.join(MODEL_SUFFIXES)})",
                       path=path)
