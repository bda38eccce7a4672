"""Layers that change the level's shape without weights: UpSampling2D, Flatten, ZeroPadding2D, Cropping2D
(docs/layers.md)."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.layers.base import Layer, _dims, _is_int
from cnnviz.core.layers.description import Param, Terms, TorchCode
from cnnviz.core.limits import MAX_CELLS, MAX_FACTOR, MAX_SIDE


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

    def rows_reached(self, input_shape, rows):
        n, factor = input_shape[0], self.size[0]
        if self.interpolation == "nearest":
            return rows[0] * factor, rows[1] * factor
        i0, i1, _ = ops.bilinear_weights(n, n * factor)
        hit = np.flatnonzero(((i0 >= rows[0]) & (i0 < rows[1])) | ((i1 >= rows[0]) & (i1 < rows[1])))
        return (int(hit[0]), int(hit[-1]) + 1) if len(hit) else (0, 0)

    def call_rows(self, x, rows):
        return ops.upsample2d(x, self.size, self.interpolation, rows)

    def _forward(self, x, training):
        return batch_ops.upsample2d(x, self.size, self.interpolation)

    def _backward(self, x, dy, training):
        return grad_ops.upsample2d(x, dy, self.size, self.interpolation), []

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

    def _forward(self, x, training):
        return x.reshape(len(x), -1).copy()

    def _backward(self, x, dy, training):
        return dy.reshape(x.shape), []

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


class _Sides(Layer):
    """ZeroPadding2D and Cropping2D: rows added or removed at the top and bottom, columns at the left and right.

    The argument is normalised as Keras does: n -> ((n, n), (n, n)); (a, b) -> ((a, a), (b, b)); each entry
    may itself be a pair, ((top, bottom), (left, right)).
    """

    PARAM = "padding"
    KERAS_EXTRAS = {"data_format": "channels_last"}

    def _sides(self, value) -> tuple[tuple[int, int], tuple[int, int]]:
        shape = f"{self.PARAM} must be an integer, two integers (rows, cols) or ((top, bottom), (left, right))"
        if isinstance(value, (list, tuple)) and len(value) == 2:
            axes = []
            for part in value:
                if _is_int(part):
                    axes.append((int(part), int(part)))
                elif isinstance(part, (list, tuple)) and len(part) == 2 and all(_is_int(v) for v in part):
                    axes.append((int(part[0]), int(part[1])))
                else:
                    raise self._error(f"{shape}, got {value!r}", self.PARAM)
        elif _is_int(value):
            axes = [(int(value), int(value))] * 2
        else:
            raise self._error(f"{shape}, got {value!r}", self.PARAM)
        if min(v for axis in axes for v in axis) < 0:
            raise self._error(f"{self.PARAM} must not be negative, got {value!r}", self.PARAM)
        if max(v for axis in axes for v in axis) > MAX_SIDE:
            raise self._error(f"{self.PARAM} must be at most {MAX_SIDE} per side, got {value!r}", self.PARAM)
        return axes[0], axes[1]

    def _shift(self) -> tuple[int, int]:
        """Input row/col = output row/col + shift."""
        raise NotImplementedError

    def provenance(self, x, cell, training):
        """One term: the input cell this output cell is (a padding cell outside the input holds 0)."""
        dr, dc = self._shift()
        return Terms([self._term(x, (cell[0] + dr, cell[1] + dc, cell[2]), 1.0)])

    def field_back(self, input_shape, field):
        rows, cols, channels = field
        (dr, dc), (h, w) = self._shift(), input_shape[:2]
        rows, cols = np.asarray(rows) + dr, np.asarray(cols) + dc
        return rows[(rows >= 0) & (rows < h)], cols[(cols >= 0) & (cols < w)], channels


class ZeroPadding2D(_Sides):
    """Keras ZeroPadding2D: rows and columns of zeros around the map."""

    DEFAULT_NAME = "zero_padding2d"
    HELP = ("Extends the area of the map with rows and columns of zeros around it: padding made visible, and a "
            "following convolution with padding \"valid\" then sees the edges as often as the middle.")
    PARAMS = (Param("padding", "sides", "Padding", "Zero rows and columns added: one number for every side, two for "
                    "(rows, cols), or ((top, bottom), (left, right)).", default=(1, 1), minimum=0, maximum=MAX_SIDE),)

    def __init__(self, padding=(1, 1), name=None):
        super().__init__(name)
        self.padding = self._sides(padding)

    def _output_shape(self, shape):
        h, w, c = shape
        (top, bottom), (left, right) = self.padding
        out = (h + top + bottom, w + left + right, c)
        if out[0] * out[1] > MAX_CELLS:
            raise self._error(f"output {_dims(out)} has more than {MAX_SIDE}×{MAX_SIDE} cells", "padding")
        return out

    def explain_output_shape(self, input_shape):
        h, w, c = self._check_input_shape(input_shape)
        (top, bottom), (left, right) = self.padding
        return [f"rows: {top} + {h} + {bottom} = {top + h + bottom} (zero rows: {top} top, {bottom} bottom)",
                f"cols: {left} + {w} + {right} = {left + w + right} (zero cols: {left} left, {right} right)",
                f"depth: {c} (unchanged)"]

    def _call(self, x, training):
        return np.pad(x, (*self.padding, (0, 0)))

    def _forward(self, x, training):
        return batch_ops.pad_hw(x, *self.padding)

    def _backward(self, x, dy, training):
        return batch_ops.crop_hw(dy, *self.padding), []

    def get_config(self):
        return {"name": self.name, "padding": self.padding}

    def _shift(self):
        return -self.padding[0][0], -self.padding[1][0]

    def torch_padding(self):
        (top, bottom), (left, right) = self.padding
        return (top, left) if (top, left) == (bottom, right) else None

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        (top, bottom), (left, right) = self.padding
        return TorchCode(f"nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))",
                         ["# torch lists the padding as (left, right, top, bottom)"])


class Cropping2D(_Sides):
    """Keras Cropping2D: rows and columns removed at the edges of the map."""

    DEFAULT_NAME = "cropping2d"
    PARAM = "cropping"
    HELP = "Cuts rows and columns off the edges of the map: the opposite of zero padding."
    PARAMS = (Param("cropping", "sides", "Cropping", "Rows and columns removed: one number for every side, two for "
                    "(rows, cols), or ((top, bottom), (left, right)).", default=((0, 0), (0, 0)), minimum=0,
                    maximum=MAX_SIDE),)

    def __init__(self, cropping=((0, 0), (0, 0)), name=None):
        super().__init__(name)
        self.cropping = self._sides(cropping)

    def _output_shape(self, shape):
        h, w, c = shape
        for (before, after), n, what in zip(self.cropping, (h, w), ("rows", "cols")):
            if before + after >= n:
                raise self._error(f"cropping {before}+{after} {what} from a {h}×{w} input leaves no {what}",
                                  "cropping")
        (top, bottom), (left, right) = self.cropping
        return h - top - bottom, w - left - right, c

    def explain_output_shape(self, input_shape):
        h, w, c = self._check_input_shape(input_shape)
        (top, bottom), (left, right) = self.cropping
        return [f"rows: {h} − {top} − {bottom} = {max(h - top - bottom, 0)} ({top} cropped top, {bottom} bottom)",
                f"cols: {w} − {left} − {right} = {max(w - left - right, 0)} ({left} cropped left, {right} right)",
                f"depth: {c} (unchanged)"]

    def _call(self, x, training):
        (top, bottom), (left, right) = self.cropping
        return x[top : x.shape[0] - bottom, left : x.shape[1] - right].copy()

    def _forward(self, x, training):
        return batch_ops.crop_hw(x, *self.cropping).copy()

    def _backward(self, x, dy, training):
        return batch_ops.pad_hw(dy, *self.cropping), []  # the cropped cells get no gradient

    def get_config(self):
        return {"name": self.name, "cropping": self.cropping}

    def _shift(self):
        return self.cropping[0][0], self.cropping[1][0]

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        (top, bottom), (left, right) = self.cropping
        return TorchCode(f"nn.ZeroPad2d((-{left}, -{right}, -{top}, -{bottom}))",
                         ["# negative padding crops: (left, right, top, bottom) rows and cols removed"])
