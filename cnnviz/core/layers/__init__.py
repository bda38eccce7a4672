"""Keras-named layers on one channels-last image, one module per family, and the registry of their types.

`from cnnviz.core.layers import Conv2D` (or any name below) works whichever module holds the class. Each
type describes itself (parameters, weights, shapes, provenance, code): docs/architecture.md.
"""

from __future__ import annotations

from cnnviz.core.errors import ConfigError
from cnnviz.core.layers.activations import Activation, LeakyReLU, ReLU, Softmax
from cnnviz.core.layers.base import Layer
from cnnviz.core.layers.base import (
    _is_int as _is_int,  # pipeline and presets check integers the same way
)
from cnnviz.core.layers.convolutional import Conv2D, Conv2DTranspose, DepthwiseConv2D
from cnnviz.core.layers.dense import Dense
from cnnviz.core.layers.description import (
    REQUIRED,
    Param,
    Term,
    Terms,
    TorchCode,
    Weight,
)
from cnnviz.core.layers.normalization import BatchNormalization
from cnnviz.core.layers.pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from cnnviz.core.layers.regularization import Dropout
from cnnviz.core.layers.reshaping import (
    Cropping2D,
    Flatten,
    UpSampling2D,
    ZeroPadding2D,
)
from cnnviz.core.limits import (
    MAX_CELLS,
    MAX_CHANNELS,
    MAX_FACTOR,
    MAX_KERNEL,
    MAX_SIDE,
    MAX_UNITS,
    MAX_VALUES,
    MAX_WORK,
)

# The registry, in the order a menu lists the types. Adding a layer type: its class here (and its import above).
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, UpSampling2D, Dropout, ReLU, Activation,
                Flatten, Dense, Softmax, LeakyReLU, GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D,
                Cropping2D, DepthwiseConv2D, BatchNormalization)
}


def layer_from_config(config: dict) -> Layer:
    """{"class_name": "Conv2D", "config": {...}} -> a new layer."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"layer config must be a dict with a class_name, got {config!r}", param="class_name")
    cls = LAYER_TYPES.get(config["class_name"])
    if cls is None:
        known = ", ".join(LAYER_TYPES)
        raise ConfigError(f"unknown layer class {config['class_name']!r} (known: {known})", param="class_name")
    return cls.from_config(config.get("config", {}))


def layer_to_config(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


__all__ = [  # every registered type by name, then the rest (cnnviz.core re-exports all of it)
    *LAYER_TYPES,
    "LAYER_TYPES",
    "MAX_CELLS",
    "MAX_CHANNELS",
    "MAX_FACTOR",
    "MAX_KERNEL",
    "MAX_SIDE",
    "MAX_UNITS",
    "MAX_VALUES",
    "MAX_WORK",
    "REQUIRED",
    "Layer",
    "Param",
    "Term",
    "Terms",
    "TorchCode",
    "Weight",
    "layer_from_config",
    "layer_to_config",
]
