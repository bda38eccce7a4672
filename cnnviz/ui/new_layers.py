"""The layers and weights the Document makes for an edit: a new layer of a type, a copy, a kernel spread
over a new channel count, a filter removed or reordered. No Qt: the Document calls these, widgets never do.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core import (
    LAYER_TYPES,
    Activation,
    AveragePooling2D,
    ConfigError,
    Conv2D,
    Conv2DTranspose,
    Dropout,
    MaxPooling2D,
    ReLU,
    UpSampling2D,
    filter_preset,
    layer_from_config,
    layer_to_config,
)

NEW_CONV_FILTERS = (  # a new Conv2D starts with the lecture's filters, then the classic ones
    "lecture diagonal", "lecture vertical line", "vertical edge", "horizontal edge", "sobel x", "sobel y",
    "laplacian", "box blur", "sharpen", "identity",
)
_NEW = {
    "Conv2D": lambda p: Conv2D(2, 3, padding=p),
    "Conv2DTranspose": lambda p: Conv2DTranspose(1, 3, strides=2, padding="same"),
    "MaxPooling2D": lambda p: MaxPooling2D(2, padding=p),
    "AveragePooling2D": lambda p: AveragePooling2D(2, padding=p),
    "UpSampling2D": lambda p: UpSampling2D(2),
    "Dropout": lambda p: Dropout(0.25, seed=0),
    "ReLU": lambda p: ReLU(),
    "Activation": lambda p: Activation("relu"),
}


def new_layer(class_name: str, input_shape):
    """A sensible new layer of a type for an input shape (the lecture's filters for a new Conv2D);
    the types without a lecture choice start from their own suggested settings."""
    if class_name not in _NEW:
        if class_name not in LAYER_TYPES:
            raise ConfigError(f"no layer type {class_name!r}; the types are {', '.join(LAYER_TYPES)}", param="kind")
        return LAYER_TYPES[class_name].suggested(tuple(input_shape))
    layer = _NEW[class_name]("valid")
    try:
        layer.compute_output_shape(input_shape)
    except ConfigError:
        layer = _NEW[class_name]("same")  # a small map: keep the size instead of refusing
    if isinstance(layer, Conv2D):
        layer.build(input_shape)
        kernel = np.stack(
            [np.repeat(filter_preset(NEW_CONV_FILTERS[o % len(NEW_CONV_FILTERS)])[:, :, None], input_shape[2], axis=2)
             / input_shape[2] for o in range(layer.filters)],
            axis=3,
        )
        layer.set_weights([kernel.astype(np.float32), np.zeros(layer.filters, np.float32)])
    return layer


def filter_axis(layer) -> int:
    """The kernel axis that counts filters (output maps): Conv2D (kh, kw, in, out), transpose (kh, kw, out, in)."""
    return 2 if type(layer).__name__ == "Conv2DTranspose" else 3


def spread_kernel(layer, kernel: np.ndarray, new_channels: int) -> np.ndarray:
    """`kernel` for `new_channels` input channels: slices taken cyclically from the old ones and scaled by
    old/new, so that a picture copied into every channel gives the same outputs."""
    axis = 5 - filter_axis(layer)
    old_channels = kernel.shape[axis]
    take = [c % old_channels for c in range(new_channels)]
    return (np.take(kernel, take, axis=axis) * (old_channels / new_channels)).astype(np.float32)


def keep_kernel(layer, kernel: np.ndarray, new_channels: int) -> np.ndarray:
    """`kernel` for `new_channels` input channels: the slices that still have a channel unchanged, 0 for new
    channels (a zero picture in them leaves the outputs as they were)."""
    axis = 5 - filter_axis(layer)
    shape = list(kernel.shape)
    shape[axis] = new_channels
    out = np.zeros(shape, np.float32)
    keep = min(new_channels, kernel.shape[axis])
    index = [slice(None)] * 4
    index[axis] = slice(0, keep)
    out[tuple(index)] = kernel[tuple(index)]
    return out


def copy_layer(layer, channels: int | None = None):
    """An independent copy with the same config and weights; for an input of `channels` channels (where
    the copy will sit) its kernel slices are spread over them as an input resize does."""
    copy = layer_from_config(layer_to_config(layer))
    if layer.built:
        shape = layer.input_shape if channels is None else (*layer.input_shape[:2], channels)
        copy.build(shape)
        weights = layer.get_weights()
        if weights and shape != layer.input_shape:
            weights[0] = spread_kernel(layer, weights[0], channels)
        if weights:
            copy.set_weights(weights)
    return copy


def without_filter(layer, o: int):
    """`layer` with filter `o` removed, the other filters keeping their weights."""
    if layer.filters == 1:
        raise ConfigError(f"{layer.label}: a layer needs at least one filter; remove the layer instead.",
                          param="filters", layer=layer.label)
    kernel, *bias = layer.get_weights()
    new = layer.replace(filters=layer.filters - 1)  # built on the same input, when it still fits
    if not new.built:
        new.build(layer.input_shape)
    new.set_weights([np.delete(kernel, o, axis=filter_axis(layer))] + [np.delete(b, o) for b in bias])
    return new


def reordered_filters(layer, order) -> list:
    """The weights of `layer` with its filters in `order`."""
    kernel, *bias = layer.get_weights()
    return [np.take(kernel, order, axis=filter_axis(layer))] + [b[list(order)] for b in bias]
