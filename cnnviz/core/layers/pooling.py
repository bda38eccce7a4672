"""MaxPooling2D and AveragePooling2D: one window per output cell, each channel on its own; their global forms
GlobalAveragePooling2D and GlobalMaxPooling2D: one number per channel (docs/layers.md)."""

from __future__ import annotations

import numpy as np

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.arithmetic import PADDINGS, conv_output_size, conv_padding
from cnnviz.core.layers.base import (
    Layer,
    Sliding,
    _explain_sliding,
    _inside,
    _padded_and_windows,
    _times,
    _window,
)
from cnnviz.core.layers.description import Param, Terms, TorchCode
from cnnviz.core.limits import MAX_SIDE

_PARAMS = (
    Param("pool_size", "pair", "Pool size", "Height × width of the window whose maximum (or average) becomes one "
          "output cell.", default=(2, 2), minimum=1, maximum=MAX_SIDE),
    Param("strides", "pair", "Stride", "How far the window moves. Empty means the same as the pool size (windows "
          "side by side, as Keras does by default).", default=None, minimum=1, maximum=MAX_SIDE, nullable=True,
          placeholder="= pool size"),
    Param("padding", "choice", "Padding", "valid: windows stay inside the input and leftover rows are dropped.\n"
          "same: the output is ⌈input / stride⌉; the windows at the edge cover padding cells, which are ignored "
          "(neither the maximum nor counted in the average).", default="valid", choices=PADDINGS),
)


class _Pooling(Sliding, Layer):
    MODE = "max"
    PARAMS = _PARAMS
    KERAS_EXTRAS = {"data_format": "channels_last"}

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", name=None):
        super().__init__(name)
        self.pool_size = self._pair(pool_size, "pool_size")
        # strides=None (Keras default) means "same as pool_size" and stays None in the config, so that a
        # later pool_size edit keeps moving the window by its own size.
        self._strides = None if strides is None else self._pair(strides, "strides")
        self.padding = self._choice(padding, PADDINGS, "padding")

    @property
    def strides(self) -> tuple[int, int]:
        return self.pool_size if self._strides is None else self._strides

    def _output_shape(self, shape):
        h, w, c = shape
        oh = conv_output_size(h, self.pool_size[0], self.strides[0], self.padding)
        ow = conv_output_size(w, self.pool_size[1], self.strides[1], self.padding)
        if oh < 1 or ow < 1:
            raise self._error(
                f'pool {_times(*self.pool_size)} does not fit a {_times(h, w)} input with padding "valid": '
                f"output would be {_times(max(oh, 0), max(ow, 0))}",
                "pool_size",
            )
        return oh, ow, c

    def _intermediates(self, shape, out):
        return _padded_and_windows(shape, out, self.pool_size, self.strides, self.padding)[:1]

    def _work(self, shape, out):
        padded_rows = shape[0] + sum(conv_padding(shape[0], self.pool_size[0], self.strides[0], self.padding))
        return (padded_rows * self.pool_size[1] + out[0] * self.pool_size[0]) * out[1] * out[2]

    def explain_output_shape(self, input_shape):
        h, w, c = self._check_input_shape(input_shape)
        rows = _explain_sliding("rows", h, self.pool_size[0], self.strides[0], 1, self.padding, ("top", "bottom"), True)
        cols = _explain_sliding("cols", w, self.pool_size[1], self.strides[1], 1, self.padding, ("left", "right"), True)
        return [rows, cols, f"depth: {c} (each channel pooled on its own)"]

    def _call(self, x, training):
        return ops.pool2d(x, self.pool_size, self.strides, self.padding, self.MODE)

    def _call_valid(self, padded):
        return ops.pool2d(padded, self.pool_size, self.strides, "valid", self.MODE)

    def _forward(self, x, training):
        return batch_ops.pool2d(x, self.pool_size, self.strides, self.padding, self.MODE)

    def _backward(self, x, dy, training):
        return grad_ops.pool2d(x, dy, self.pool_size, self.strides, self.padding, self.MODE), []

    def get_config(self):
        return {"name": self.name, "pool_size": self.pool_size, "strides": self._strides, "padding": self.padding}

    def axis_geometry(self, axis):
        return {"k": self.pool_size[axis], "s": self.strides[axis], "padding": self.padding, "d": 1}

    def _pads(self, in_shape):
        (top, bottom), (left, right) = (conv_padding(n, k, s, self.padding)
                                        for n, k, s in zip(in_shape[:2], self.pool_size, self.strides))
        return top, bottom, left, right


class MaxPooling2D(_Pooling):
    """The largest value of each window (padded cells ignored under `same`)."""

    DEFAULT_NAME = "max_pooling2d"
    MODE = "max"
    ROW_PADDING = -np.inf
    HELP = "Keeps the largest number of each window: a smaller map that still says where a feature was strong."

    def provenance(self, x, cell, training):
        """The first maximal real cell of the window, in row-major order; padded cells are ignored."""
        window = _window(*self._window_taps(x, cell))
        real = [(i, j) for i, j in window if _inside(i, x.shape[0]) and _inside(j, x.shape[1])]
        i, j = max(real, key=lambda ij: x[ij[0], ij[1], cell[2]])  # max() keeps the first of equals
        return Terms([self._term(x, (i, j, cell[2]), 1.0)], window=window)

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        pool = f"nn.MaxPool2d(kernel_size={(kh, kw)}, stride={(sh, sw)})"
        pads = self._pads(in_shape)
        if not any(pads):
            return TorchCode(pool)
        return TorchCode(f"nn.Sequential(\n    KerasSamePad({', '.join(map(str, pads))}, value=float(\"-inf\")),"
                         f"\n    {pool},\n)",
                         ["# Keras 'same' max pooling ignores padded cells: pad with -inf so they never win"], ["pad"])


class AveragePooling2D(_Pooling):
    """The mean of each window's real cells (padded cells neither added nor counted)."""

    DEFAULT_NAME = "average_pooling2d"
    MODE = "average"
    HELP = "Replaces each window by the average of its numbers."

    def rows_reached(self, input_shape, rows):
        # under `same` a window divides by its real cells, which a crop of padded rows does not know
        return None if self.padding == "same" else super().rows_reached(input_shape, rows)

    def provenance(self, x, cell, training):
        """The mean of the real cells; padded cells are terms with coefficient 0 (drawn, never counted)."""
        window = _window(*self._window_taps(x, cell))
        real = [_inside(i, x.shape[0]) and _inside(j, x.shape[1]) for i, j in window]
        share = 1.0 / sum(real)
        terms = [self._term(x, (i, j, cell[2]), share if inside else 0.0) for (i, j), inside in zip(window, real)]
        return Terms(terms, window=window)

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        pads = self._pads(in_shape)
        if any(pads):
            top, bottom, left, right = pads
            return TorchCode(f"KerasAveragePoolSame({(kh, kw)}, {(sh, sw)}, {top}, {bottom}, {left}, {right})",
                             [f"# Keras 'same' pads top {top}, bottom {bottom}, left {left}, right {right};"
                              " padded cells are not counted"], ["avg"])
        return TorchCode(f"nn.AvgPool2d(kernel_size={(kh, kw)}, stride={(sh, sw)})")

    def keras_notes(self, in_shape):
        """Where Keras backends disagree: uneven `same` padding (the torch backend repeats edge cells)."""
        if self.padding != "same":
            return []
        top, bottom, left, right = self._pads(in_shape)
        if (top, left) == (bottom, right):
            return []
        return [f"# 'same' pads this pooling unevenly (top {top}, bottom {bottom}, left {left}, right {right}): the",
                "# TensorFlow backend ignores the padded cells, as cnnviz does; the torch backend (Keras 3.15)",
                "# repeats edge cells into them and gives other numbers here (keras-team/keras#18452)."]


class _GlobalPooling(Layer):
    """The whole map of each channel as one window: (H, W, C) -> (C,), as Keras with keepdims=False."""

    KERAS_EXTRAS = {"data_format": "channels_last", "keepdims": False}

    def _output_shape(self, shape):
        return (shape[2],)

    def explain_output_shape(self, input_shape):
        h, w, c = self._check_input_shape(input_shape)
        return [f"length: {c} (one number per channel, from all {h}×{w} of its cells)"]

    def field_back(self, input_shape, field):
        return np.arange(input_shape[0]), np.arange(input_shape[1]), np.asarray(field[0])

    @staticmethod
    def _whole(x) -> list[tuple[int, int]]:
        return [(i, j) for i in range(x.shape[0]) for j in range(x.shape[1])]


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of every cell of a channel."""

    DEFAULT_NAME = "global_average_pooling2d"
    HELP = "Replaces each channel's whole map by the average of its numbers: one number per channel."

    def _call(self, x, training):
        return x.mean(axis=(0, 1), dtype=np.float32)

    def _forward(self, x, training):
        return batch_ops.global_pool(x, "average")

    def _backward(self, x, dy, training):
        return grad_ops.global_pool(x, dy, "average"), []

    def provenance(self, x, cell, training):
        """Every cell of the channel, coefficient 1/(H·W)."""
        window = self._whole(x)
        share = 1.0 / len(window)
        return Terms([self._term(x, (i, j, cell[0]), share) for i, j in window], window=window)

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return TorchCode("nn.Sequential(\n    nn.AdaptiveAvgPool2d(1),\n    nn.Flatten(),\n)",
                         ["# the mean over each channel's map, then (N, C, 1, 1) -> (N, C) as Keras's keepdims=False"])


class GlobalMaxPooling2D(_GlobalPooling):
    """The largest cell of a channel."""

    DEFAULT_NAME = "global_max_pooling2d"
    HELP = "Keeps the largest number of each channel's whole map: one number per channel, is the feature anywhere?"

    def _call(self, x, training):
        return x.max(axis=(0, 1))

    def _forward(self, x, training):
        return batch_ops.global_pool(x, "max")

    def _backward(self, x, dy, training):
        return grad_ops.global_pool(x, dy, "max"), []  # tied maxima share dy (a reduce_max)

    def provenance(self, x, cell, training):
        """The first maximal cell of the channel, in row-major order."""
        window = self._whole(x)
        i, j = max(window, key=lambda ij: x[ij[0], ij[1], cell[0]])
        return Terms([self._term(x, (i, j, cell[0]), 1.0)], window=window)

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return TorchCode("nn.Sequential(\n    nn.AdaptiveMaxPool2d(1),\n    nn.Flatten(),\n)",
                         ["# the largest number of each channel's map, then (N, C, 1, 1) -> (N, C)"])
