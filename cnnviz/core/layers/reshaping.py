"""Layers that change the map's size without weights: UpSampling2D."""

from __future__ import annotations

from cnnviz.core import ops
from cnnviz.core.layers.base import Layer


class UpSampling2D(Layer):
    """Keras UpSampling2D: repeat (`nearest`) or half-pixel bilinear resize by integer factors."""

    DEFAULT_NAME = "up_sampling2d"

    def __init__(self, size=(2, 2), interpolation="nearest", name=None):
        super().__init__(name)
        self.size = self._pair(size, "size")
        self.interpolation = self._choice(interpolation, ops.INTERPOLATIONS, "interpolation")

    def _output_shape(self, shape):
        h, w, c = shape
        return h * self.size[0], w * self.size[1], c

    def explain_output_shape(self, input_shape):
        h, w, c = self._check_input_shape(input_shape)
        (fh, fw) = self.size
        return [f"rows: {h}·{fh} = {h * fh}", f"cols: {w}·{fw} = {w * fw}", f"depth: {c} (unchanged)"]

    def _call(self, x, training):
        return ops.upsample2d(x, self.size, self.interpolation)

    def get_config(self):
        return {"name": self.name, "size": self.size, "interpolation": self.interpolation}
