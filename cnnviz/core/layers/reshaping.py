"""Layers that change the level's shape without weights: UpSampling2D, Flatten (docs/layers.md)."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core import ops
from cnnviz.core.layers.base import Layer, _dims
from cnnviz.core.layers.description import Param, Terms, TorchCode
from cnnviz.core.limits import MAX_FACTOR


class UpSampling2D(Layer):
    """Keras UpSampling2D: repeat (`nearest`) or half-pixel bilinear resize by integer factors."""

    DEFAULT_NAME = "up_sampling2d"
    HELP = "Makes the map larger by repeating each cell (nearest) or blending neighbours (bilinear)."
    PARAMS = (
        Param("size", "pair", "Factor", "How many times each cell is repeated down and across (2 turns 2×2 into "
              "4×4).", default=(2, 2), minimum=1, maximum=MAX_FACTOR),
        Param("interpolation", "choice", "Interpolation", "nearest: copy the closest cell. bilinear: blend the 4 "
              "nearest cells by distance (half-pixel centres, as Keras and PyTorch with align_corners=False).",
              default="nearest", choices=ops.INTERPOLATIONS),
    )
    KERAS_EXTRAS = {"data_format": "channels_last"}

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

    def _sources(self, axis: int, n: int, index: int) -> list[tuple[int, float]]:
        """The (source index, weight) pairs of output `index` along one axis, weights non-zero.

        Bilinear: (1−w)·x[i0] + w·x[i1], one row of the resize matrix; i1 only counts when w > 0 (at a
        clipped edge i0 = i1 and w = 0).
        """
        factor = self.size[axis]
        if self.interpolation == "nearest":
            return [(index // factor, 1.0)]
        i0, i1, w = (float(v[index]) for v in ops.bilinear_weights(n, n * factor))
        return [(int(i0), 1.0 - w)] + ([(int(i1), w)] if w > 0 else [])

    def provenance(self, x, cell, training):
        """Nearest: y[r,c] = x[r//fh, c//fw]. Bilinear: Σ R_h[r,i]·R_w[c,j]·x[i,j] (half-pixel centres)."""
        r, c, ch = cell
        rows, cols = self._sources(0, x.shape[0], r), self._sources(1, x.shape[1], c)
        return Terms([self._term(x, (i, j, ch), wi * wj) for i, wi in rows for j, wj in cols])

    def field_back(self, input_shape, field):
        rows, cols, channels = field
        return self._axis_back(0, input_shape[0], rows), self._axis_back(1, input_shape[1], cols), channels

    def _axis_back(self, axis: int, n: int, wanted: np.ndarray) -> np.ndarray:
        factor = self.size[axis]
        if self.interpolation == "nearest":
            return np.unique(wanted // factor)
        i0, i1, w = (v[wanted] for v in ops.bilinear_weights(n, n * factor))
        return np.unique(np.concatenate([i0, i1[w > 0]]))

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        factor = (float(self.size[0]), float(self.size[1]))
        if self.interpolation == "bilinear":
            return TorchCode(f"nn.Upsample(scale_factor={factor}, mode=\"bilinear\", align_corners=False)",
                             ["# align_corners=False: half-pixel centres, as Keras (tf.image.resize)"])
        return TorchCode(f"nn.Upsample(scale_factor={factor}, mode=\"nearest\")")


class Flatten(Layer):
    """Keras Flatten: the map as one vector in channels-last order, flat[(r·W + c)·C + ch] = x[r, c, ch]."""

    DEFAULT_NAME = "flatten"
    HELP = ("Lays the map out as one long vector, row by row, the channels of each cell next to each other: "
            "where the convolution part ends and the fully connected part (the lecture's ANN) begins.")
    INPUT_RANKS = (1, 3)
    KERAS_EXTRAS = {"data_format": "channels_last"}

    def _output_shape(self, shape):
        return (math.prod(shape),)

    def explain_output_shape(self, input_shape):
        shape = self._check_input_shape(input_shape)
        if len(shape) == 1:
            return [f"length: {shape[0]} (already a vector)"]
        h, w, c = shape
        return [f"length: {h}·{w}·{c} = {h * w * c} (row by row, each cell's channels side by side: "
                f"index (row·{w} + col)·{c} + channel)"]

    def _call(self, x, training):
        return x.reshape(-1).copy()

    def provenance(self, x, cell, training):
        """Output index k is input cell unravel(k): coefficient 1."""
        return Terms([self._term(x, np.unravel_index(cell[0], x.shape), 1.0)])

    def field_back(self, input_shape, field):
        """The cells of the flat indices: one cell or all of them are exact; any other set is given as the
        smallest rows × cols × channels product holding it."""
        return tuple(np.unique(axis) for axis in np.unravel_index(np.asarray(field[0]), tuple(input_shape)))

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        if len(in_shape) == 1:
            return TorchCode("nn.Identity()", ["# Flatten on a vector changes nothing"])
        return TorchCode("nn.Sequential(\n    ChannelsLast(),\n    nn.Flatten(),\n)",
                         [f"# Keras flattens {_dims(in_shape)} channels last, (row·W + col)·C + channel; torch's "
                          "tensors are", "# channels first, so move the channels last before flattening (else "
                          "the Dense after it", "# would meet its inputs in another order)"], ["channels_last"])
