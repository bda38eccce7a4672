"""MaxPooling2D and AveragePooling2D: one window per output cell, each channel on its own."""

from __future__ import annotations

from cnnviz.core import ops
from cnnviz.core.arithmetic import PADDINGS, conv_output_size, conv_padding
from cnnviz.core.layers.base import Layer, _explain_sliding, _padded_and_windows, _times


class _Pooling(Layer):
    SLIDING = True
    MODE = "max"

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

    def get_config(self):
        return {"name": self.name, "pool_size": self.pool_size, "strides": self._strides, "padding": self.padding}


class MaxPooling2D(_Pooling):
    """The largest value of each window (padded cells ignored under `same`)."""

    DEFAULT_NAME = "max_pooling2d"
    MODE = "max"


class AveragePooling2D(_Pooling):
    """The mean of each window's real cells (padded cells neither added nor counted)."""

    DEFAULT_NAME = "average_pooling2d"
    MODE = "average"
