"""Conv2D, Conv2DTranspose and DepthwiseConv2D: Keras kernel layouts, glorot initialisation, output-shape
arithmetic, the terms of one output cell, and their PyTorch translation (docs/layers.md)."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.arithmetic import (
    PADDINGS,
    conv_output_size,
    conv_padding,
    effective_size,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
    transpose_taps,
)
from cnnviz.core.errors import ConfigError
from cnnviz.core.layers.base import (
    Layer,
    Sliding,
    _axes,
    _explain_sliding,
    _padded_and_windows,
    _times,
    _window,
)
from cnnviz.core.layers.description import Param, Terms, TorchCode, Weight
from cnnviz.core.limits import MAX_CHANNELS, MAX_KERNEL, MAX_SIDE

FILTERS = Param("filters", "int", "Filters", "How many filters the layer has. Each filter makes one output map, so "
                "this is the depth of the output.", minimum=1, maximum=MAX_CHANNELS, suggested=2)
KERNEL_SIZE = Param("kernel_size", "pair", "Kernel size", "Height × width of each filter. A filter also spans every "
                    "input channel: it is rows × cols × input channels (a filter is 3-D).", minimum=1,
                    maximum=MAX_KERNEL, suggested=(3, 3))
STRIDES = Param("strides", "pair", "Stride", "How far the filter moves between two output cells. Stride 2 skips "
                "every other position and halves the output size.", default=(1, 1), minimum=1, maximum=MAX_SIDE)
PADDING = Param("padding", "choice", "Padding", "valid: the window stays inside the input, so the output shrinks "
                "(6×6 with 3×3 gives 4×4).\nsame: zeros are added around the input so the output is ⌈input / "
                "stride⌉ (the odd extra zero row goes at the bottom/right, as in Keras).", default="valid",
                choices=PADDINGS)
DILATION_RATE = Param("dilation_rate", "pair", "Dilation", "Spacing between the filter's taps: dilation 2 spreads a "
                      "3×3 filter over a 5×5 area without more weights.", default=(1, 1), minimum=1, maximum=MAX_SIDE)
USE_BIAS = Param("use_bias", "bool", "Use bias", "Add one number (the bias) to every output cell of each filter.",
                 default=True)
BIAS = Weight("bias", ("filter",), "One number added to every output cell of its filter.")
_CONV_EXTRAS = {"data_format": "channels_last", "groups": 1, "activation": "linear"}


class _Windowed(Sliding, Layer):
    """Shared by the convolutions: kernel_size, strides, padding, dilation_rate and use_bias, the bias, and the
    weight's footprint (IN_AXIS: the kernel axis of the input channels, Keras layouts)."""

    TRAINABLE = True
    KERAS_SPLITS_ACTIVATION = True
    IN_AXIS = 2

    def _window_args(self, kernel_size, strides, padding, dilation_rate, use_bias) -> None:
        self.kernel_size = self._pair(kernel_size, "kernel_size")
        if max(self.kernel_size) > MAX_KERNEL:
            raise self._error(f"kernel_size must be at most {MAX_KERNEL} per axis, got {_times(*self.kernel_size)}",
                              "kernel_size")
        self.strides = self._pair(strides, "strides")
        self.padding = self._choice(padding, PADDINGS, "padding")
        self.dilation_rate = self._pair(dilation_rate, "dilation_rate")
        self.use_bias = self._bool(use_bias, "use_bias")

    def _has_weight(self, name):
        return name != "bias" or self.use_bias

    def _grads(self, dkernel, dbias) -> list[np.ndarray]:
        return [dkernel, dbias] if self.use_bias else [dkernel]

    def axis_geometry(self, axis):
        return {"k": self.kernel_size[axis], "s": self.strides[axis], "padding": self.padding,
                "d": self.dilation_rate[axis]}

    def _bias_of(self, o: int) -> float:
        return 0.0 if self.bias is None else float(self.bias[o])

    def _axis_sizes(self, n: int, axis: int) -> tuple[int, int, int, int]:
        k, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        return k, s, d, conv_output_size(n, k, s, self.padding, d)

    def _sliding_size(self, shape) -> tuple[int, int]:
        """Rows and cols of a sliding convolution's output, or the error with the arithmetic."""
        h, w, _ = shape
        (kh, _, dh, oh), (kw, _, dw, ow) = self._axis_sizes(h, 0), self._axis_sizes(w, 1)
        if oh < 1 or ow < 1:
            kernel = _times(kh, kw)
            if (dh, dw) != (1, 1):
                kernel += f" (dilated to {_times(effective_size(kh, dh), effective_size(kw, dw))})"
            raise self._error(
                f'kernel {kernel} does not fit a {_times(h, w)} input with padding "valid": '
                f"output would be {_times(max(oh, 0), max(ow, 0))}",
                "kernel_size",
            )
        return oh, ow

    def _explain_sliding_axes(self, h: int, w: int) -> list[str]:
        return [_explain_sliding(name, n, *self._axis_sizes(n, axis)[:3], self.padding, sides)
                for axis, (name, n, sides) in enumerate(_axes(h, w))]

    def weight_footprint(self, input_shape, weight):
        """Conv2D weight (a, b, c, o) and DepthwiseConv2D weight (a, b, c, m): the cells tap (a, b) reads, in
        channel c. Conv2DTranspose weight (a, b, o, c): the cells of channel c whose scatter through tap
        (a, b) lands inside the output."""
        a, b = self._kernel_index_check(weight)[:2]
        mask = np.zeros(tuple(input_shape), bool)
        rows, cols = self._weight_axis(0, input_shape[0], a), self._weight_axis(1, input_shape[1], b)
        mask[np.ix_(rows, cols, [weight[self.IN_AXIS]])] = True
        return mask

    def _torch_loads(self, ref: str, kernel: str = "keras_kernel_to_torch({weights}[0])") -> list[str]:
        loads = [f"{ref}.weight.copy_({kernel})"]
        return loads + ([f"{ref}.bias.copy_(torch.from_numpy({{weights}}[1]))"] if self.use_bias else [])

    def _torch_conv2d(self, in_shape, out_channels: int, absorbed_padding, groups: str = "",
                      kernel: str = "keras_kernel_to_torch({weights}[0])") -> TorchCode:
        """nn.Conv2d with Keras's padding: symmetric as padding=, TF's uneven `same` split as an explicit pad."""
        h, w, channels = in_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        top, bottom = conv_padding(h, kh, sh, self.padding, dh)
        left, right = conv_padding(w, kw, sw, self.padding, dw)
        conv = (f"nn.Conv2d({channels}, {out_channels}, kernel_size={(kh, kw)}, stride={(sh, sw)}, "
                f"dilation={(dh, dw)}, padding={{}}{groups}, bias={self.use_bias})")
        if absorbed_padding is not None:
            return TorchCode(conv.format(tuple(absorbed_padding)),
                             [f"# padding={tuple(absorbed_padding)}: the ZeroPadding2D before it, folded in"],
                             [], self._torch_loads("{ref}", kernel))
        if (top, left) == (bottom, right):
            note = [f"# Keras padding {self.padding!r}: {top} cell(s) on every side of rows, {left} of cols"] \
                if self.padding == "same" else []
            return TorchCode(conv.format((top, left)), note, [], self._torch_loads("{ref}", kernel))
        expr = f"nn.Sequential(\n    KerasSamePad({top}, {bottom}, {left}, {right}),\n    {conv.format(0)},\n)"
        note = [f"# Keras 'same' on a {h}×{w} input pads top {top}, bottom {bottom}, left {left}, right {right}:",
                "# not symmetric, so pad explicitly and convolve with padding=0"]
        return TorchCode(expr, note, ["pad"], self._torch_loads("{ref}[1]", kernel))


class _Conv(_Windowed):
    """Shared by Conv2D and Conv2DTranspose: the filters, the strides-or-dilation rule, the kernel's carry-over."""

    FILTER_AXIS = 3  # kernel axis of the filters (Keras layouts)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                 use_bias=True, name=None):
        super().__init__(name)
        self.filters = self._int(filters, "filters", 1, MAX_CHANNELS)
        self._window_args(kernel_size, strides, padding, dilation_rate, use_bias)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            # Keras (like tf.nn.convolution) refuses the pair, even on different axes; so does cnnviz, so
            # that every pipeline it shows can be exported to Keras.
            raise self._error(
                f"strides {_times(*self.strides)} together with dilation_rate {_times(*self.dilation_rate)} "
                "is not allowed: Keras supports strides > 1 or dilation_rate > 1, not both (set one to 1)",
                "dilation_rate",
            )

    def replace(self, **changes) -> _Conv:
        """As Layer.replace; a strides edit that clashes with the existing dilation is reported on strides."""
        try:
            return super().replace(**changes)
        except ConfigError as exc:
            if exc.param == "dilation_rate" and "dilation_rate" not in changes:
                raise ConfigError(str(exc), param="strides", layer=exc.layer) from None
            raise

    def _weight_shape(self, name, channels):
        if name == "bias":
            return (self.filters,)
        shape = [*self.kernel_size, None, None]
        shape[self.IN_AXIS], shape[self.FILTER_AXIS] = channels, self.filters
        return tuple(shape)

    def _channels_back(self, input_shape, channels):
        return np.arange(input_shape[2])  # every filter reads every input channel

    def kernel_reach(self, input_shape, field):
        rows, cols, outs = field
        mask = np.zeros(self.kernel.shape, bool)
        index = [self._taps_used(0, input_shape[0], rows), self._taps_used(1, input_shape[1], cols), None, None]
        index[self.IN_AXIS], index[self.FILTER_AXIS] = np.arange(input_shape[2]), np.asarray(outs, int)
        mask[np.ix_(*index)] = True
        return mask

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "use_bias": self.use_bias,
        }

    def _carry_state(self, new: _Conv) -> None:
        """Keep the overlapping centre of the kernel and the first filters; cells a larger kernel adds
        are zero, filters a larger count adds get a fresh glorot draw."""
        if self.kernel is None:
            return
        new._build_weights(self._weights_channels(), np.random.default_rng(0))
        axis = self.FILTER_AXIS
        kept = min(self.filters, new.filters)
        (oh, ow), (nh, nw) = self.kernel_size, new.kernel_size
        old_index = [_centre_overlap(oh, nh), _centre_overlap(ow, nw), slice(None), slice(None)]
        new_index = [_centre_overlap(nh, oh), _centre_overlap(nw, ow), slice(None), slice(None)]
        old_index[axis] = new_index[axis] = slice(0, kept)
        kept_filters = [slice(None)] * 4
        kept_filters[axis] = slice(0, kept)
        new.kernel[tuple(kept_filters)] = 0
        new.kernel[tuple(new_index)] = self.kernel[tuple(old_index)]
        if new.use_bias and self.use_bias:
            new.bias[:kept] = self.bias[:kept]


def _centre_overlap(size: int, other: int) -> slice:
    """The slice of an extent `size` that overlaps a centred extent `other`."""
    n = min(size, other)
    start = (size - n) // 2
    return slice(start, start + n)


class Conv2D(_Conv):
    """Keras Conv2D: cross-correlation of every filter (kh×kw×C) with the input, plus bias."""

    DEFAULT_NAME = "conv2d"
    HELP = ("Slides each filter over the input; every output number is the inner product of the filter with the "
            "patch under it, plus the bias. The number of filters is the depth of the output.")
    PARAMS = (FILTERS, KERNEL_SIZE, STRIDES, PADDING, DILATION_RATE, USE_BIAS)
    WEIGHTS = (Weight("kernel", ("rows", "cols", "in channels", "filters"), "The filters: one rows × cols × in "
                      "channels block per output map.", init="glorot_uniform", in_axis=2), BIAS)
    KERAS_EXTRAS = _CONV_EXTRAS

    def _output_shape(self, shape):
        return (*self._sliding_size(shape), self.filters)

    def _intermediates(self, shape, out):
        return _padded_and_windows(shape, out, self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def _work(self, shape, out):
        return math.prod(out) * math.prod(self.kernel_size) * shape[2]

    def explain_output_shape(self, input_shape):
        h, w, _ = self._check_input_shape(input_shape)
        return self._explain_sliding_axes(h, w) + [f"depth: {self.filters} (one per filter)"]

    def _call(self, x, training):
        return ops.conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)

    def rows_reached(self, input_shape, rows):
        # Stride 1 computes each output row as one product of the same shape whatever the rows (ops.conv2d);
        # a strided convolution makes one product of all rows, and one filter or one output column
        # matrix-vector ones, which BLAS sums in an order that depends on their size: a crop of rows would
        # round differently. Those are computed whole.
        if self.strides != (1, 1) or self.filters == 1 or self._sliding_size(input_shape)[1] == 1:
            return None
        return super().rows_reached(input_shape, rows)

    def _call_valid(self, padded):
        return ops.conv2d(padded, self.kernel, self.bias, self.strides, "valid", self.dilation_rate)

    def _forward(self, x, training):
        return batch_ops.conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)

    def _backward(self, x, dy, training):
        dx, dkernel, dbias = grad_ops.conv2d(x, dy, self.kernel, self.strides, self.padding, self.dilation_rate)
        return dx, self._grads(dkernel, dbias)

    def weight_gradients(self, x, dy, training=False):
        _, dkernel, dbias = grad_ops.conv2d(x, dy, self.kernel, self.strides, self.padding, self.dilation_rate,
                                            need_dx=False)
        return self._grads(dkernel, dbias)

    def provenance(self, x, cell, training):
        """y[i,j,o] = bias[o] + Σ_{a,b,c} xpad[i·s + a·d, j·s + b·d, c] · W[a,b,c,o]."""
        rows, cols = self._window_taps(x, cell)
        o = cell[2]
        terms = [self._term(x, (i, j, c), self.kernel[a, b, c, o], (a, b, c, o))
                 for a, i in rows for b, j in cols for c in range(x.shape[2])]
        return Terms(terms, self._bias_of(o), window=_window(rows, cols))

    def absorbs_torch_padding(self):
        return self.padding == "valid"

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return self._torch_conv2d(in_shape, self.filters, absorbed_padding)


class Conv2DTranspose(_Conv):
    """Keras Conv2DTranspose: every input cell scatters kernel×value into the output, then the crop."""

    DEFAULT_NAME = "conv2d_transpose"
    HELP = ("The way back up: every input number is multiplied by the whole kernel and added into the output at "
            "its place (overlaps are added), the adjoint of a convolution.")
    PARAMS = (FILTERS, KERNEL_SIZE, STRIDES, PADDING,
              Param("output_padding", "pair", "Output padding", "Extra rows/columns added at the bottom/right of a "
                    "transposed convolution's output, to pick one of the sizes that a stride > 1 makes possible. "
                    "Empty means Keras's default.", default=None, minimum=0, maximum=MAX_SIDE, nullable=True,
                    placeholder="default"),
              DILATION_RATE, USE_BIAS)
    WEIGHTS = (Weight("kernel", ("rows", "cols", "filters", "in channels"), "The kernel each input number is "
                      "multiplied by before it is added into the output.", init="glorot_uniform", in_axis=3), BIAS)
    KERAS_EXTRAS = {k: v for k, v in _CONV_EXTRAS.items() if k != "groups"}  # Keras refuses `groups` here
    IN_AXIS = 3
    FILTER_AXIS = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 dilation_rate=(1, 1), use_bias=True, name=None):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, use_bias, name)
        # 0 ≤ output_padding < stride (the torch / Keras 2 rule). Beyond that every case is accepted, as
        # the Keras torch backend does: `same` with output_padding gives O = (n−1)s + k_e%2 + op, zero rows
        # past the scatter canvas. TF's backend refuses some of these (an even k with op 0), but its
        # results agree wherever it answers (docs/layers.md). Only an empty output is an error.
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = self._pair(output_padding, "output_padding", minimum=0)
            for op, s, axis in zip(self.output_padding, self.strides, ("rows", "cols")):
                if op >= s:
                    raise self._error(
                        f"output_padding must be smaller than the stride ({axis}: {op} ≥ {s})", "output_padding"
                    )

    def _op(self, axis: int):
        return None if self.output_padding is None else self.output_padding[axis]

    def _axis_out(self, n: int, axis: int) -> int:
        k, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        return transpose_output_size(n, k, s, self.padding, self._op(axis), d)

    def _output_shape(self, shape):
        h, w, _ = shape
        oh, ow = self._axis_out(h, 0), self._axis_out(w, 1)
        if oh < 1 or ow < 1:
            raise self._error(
                f"output would be {_times(max(oh, 0), max(ow, 0))} for a {_times(h, w)} input "
                f'(padding "same", output_padding {self.output_padding}): '
                + "; ".join(self.explain_output_shape(shape)[:2]),
                "output_padding",
            )
        return oh, ow, self.filters

    def _intermediates(self, shape, out):
        h, w, _ = shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        rows = max(transpose_full_size(h, kh, sh, dh),
                   out[0] + transpose_crop(h, kh, sh, self.padding, self._op(0), dh))
        cols = max(transpose_full_size(w, kw, sw, dw),
                   out[1] + transpose_crop(w, kw, sw, self.padding, self._op(1), dw))
        return [(f"scatter canvas {_times(rows, cols)}×{self.filters}", rows * cols * self.filters)]

    def _work(self, shape, out):
        return math.prod(shape) * math.prod(self.kernel_size) * self.filters

    def explain_output_shape(self, input_shape):
        h, w, _ = self._check_input_shape(input_shape)
        lines = [self._explain_axis(name, n, axis, sides) for axis, (name, n, sides) in enumerate(_axes(h, w))]
        return lines + [f"depth: {self.filters} (one per filter)"]

    def _explain_axis(self, name, n, axis, sides) -> str:
        k, s, d, op = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis], self._op(axis)
        ke = effective_size(k, d)
        out = transpose_output_size(n, k, s, self.padding, op, d)
        full = transpose_full_size(n, k, s, d)
        if self.padding == "valid":
            op_value = op if op is not None else max(ke, s) - ke
            text = f"{name}: ({n} − 1)·{s} + {ke} + {op_value} = {out}"
            return text + (f" ({out - full} zero {sides[1]})" if out > full else "")
        if op is None:
            text = f"{name}: {n}·{s} = {out}"
        else:
            text = f"{name}: ({n} − 1)·{s} + ({ke} mod 2) + {op} = {out}"
        top = transpose_crop(n, k, s, self.padding, op, d)
        if out > full:
            return text + f" (full {full}, {out - full} zero {sides[1]})"
        return text + f" (full ({n} − 1)·{s} + {ke} = {full}, crop {top} {sides[0]}, {full - out - top} {sides[1]})"

    def rows_reached(self, input_shape, rows):
        return None  # a scatter, not windows read: computed whole

    def _call(self, x, training):
        return ops.conv2d_transpose(x, self.kernel, self.bias, self.strides, self.padding,
                                    self.output_padding, self.dilation_rate)

    def _forward(self, x, training):
        return batch_ops.conv2d_transpose(x, self.kernel, self.bias, self.strides, self.padding,
                                          self.output_padding, self.dilation_rate)

    def _backward(self, x, dy, training):
        dx, dkernel, dbias = grad_ops.conv2d_transpose(x, dy, self.kernel, self.strides, self.padding,
                                                       self.output_padding, self.dilation_rate)
        return dx, self._grads(dkernel, dbias)

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config

    # ---- the scatter form: input i reaches output i·s + a·d − crop through tap a --------------------
    def axis_geometry(self, axis):
        return {**super().axis_geometry(axis), "output_padding": self._op(axis)}

    def tap_sources(self, axis, n, index):
        """The taps a for which i·s + a·d − crop = index has an integer solution i (the other taps meet the
        zeros a stride inserts)."""
        geometry = self.axis_geometry(axis)
        k, s, d = geometry["k"], geometry["s"], geometry["d"]
        crop = transpose_crop(n, **geometry)
        return [(a, (index + crop - a * d) // s) for a in range(k) if (index + crop - a * d) % s == 0]

    def _axis_back(self, axis, n, wanted):
        reached = transpose_taps(n, **self.axis_geometry(axis))
        return np.flatnonzero(np.isin(reached, wanted).any(axis=1))

    def _taps_used(self, axis, n, wanted):
        reached = transpose_taps(n, **self.axis_geometry(axis))
        return np.flatnonzero(np.isin(reached, wanted).any(axis=0))

    def _weight_axis(self, axis, n, tap):
        geometry = self.axis_geometry(axis)
        reached = transpose_taps(n, **geometry)[:, tap]
        return np.flatnonzero((reached >= 0) & (reached < transpose_output_size(n, **geometry)))

    def keras_notes(self, in_shape):
        """Where Keras on TensorFlow refuses to run it: no dilated transposed convolution on CPU, and a size
        check (would a convolution of this output give back the input size?) an output_padding can fail."""
        if max(self.dilation_rate) > 1:
            return ["# TensorFlow's CPU kernels refuse a dilated Conv2DTranspose ('do not yet support dilation",
                    "# rates larger than 1'); Keras's torch backend computes it, with cnnviz's numbers."]
        for axis, n in enumerate(in_shape[:2]):
            k, s, out = self.kernel_size[axis], self.strides[axis], self._axis_out(n, axis)
            back = -(-out // s) if self.padding == "same" else (out - k) // s + 1
            if self.output_padding is not None and back != n:
                return [f"# TensorFlow refuses this output_padding on a {_times(*in_shape[:2])} input (a convolution "
                        f"of the {out}-cell output", f"# would not give back {n} cells); Keras's torch backend "
                        "computes it, with cnnviz's numbers."]
        return []

    def provenance(self, x, cell, training):
        """y[r,c,o] = bias[o] + Σ x[i,j,ch] · W[a,b,o,ch] over every (i, a), (j, b) scattering into (r, c)."""
        rows, cols = self._window_taps(x, cell)
        o = cell[2]
        terms = [self._term(x, (i, j, c), self.kernel[a, b, o, c], (a, b, o, c))
                 for a, i in rows for b, j in cols for c in range(x.shape[2])]
        return Terms(terms, self._bias_of(o), window=_window(rows, cols))

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        h, w, channels = in_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        axes = ((h, kh, sh, self._op(0), dh), (w, kw, sw, self._op(1), dw))
        crop = tuple(transpose_crop(n, k, s, self.padding, o, d) for n, k, s, o, d in axes)
        size = tuple(transpose_output_size(n, k, s, self.padding, o, d) for n, k, s, o, d in axes)
        full = tuple(transpose_full_size(n, k, s, d) for n, k, s, _, d in axes)
        args = f"{channels}, {self.filters}, kernel_size={(kh, kw)}, stride={(sh, sw)}, dilation={(dh, dw)}"
        if crop == (0, 0) and size == full:
            return TorchCode(f"nn.ConvTranspose2d({args}, padding=0, bias={self.use_bias})", [], [],
                             self._torch_loads("{ref}"))
        expr = f"KerasConvTranspose2d({args}, crop={crop}, out_size={size}, bias={self.use_bias})"
        note = [f"# Keras keeps rows {crop[0]}..{crop[0] + size[0] - 1} and cols {crop[1]}..{crop[1] + size[1] - 1}"
                f" of the {full[0]}×{full[1]} canvas"
                + ("; rows/cols past its end are zeros (plus the bias)"
                   if any(c + n > f for c, n, f in zip(crop, size, full)) else "")]
        loads = ["{ref}.conv.weight.copy_(keras_kernel_to_torch({weights}[0]))"]
        if self.use_bias:
            loads.append("{ref}.bias.copy_(torch.from_numpy({weights}[1]))")
        return TorchCode(expr, note, ["transpose"], loads)


class DepthwiseConv2D(_Windowed):
    """Keras DepthwiseConv2D: one 2-D filter per input channel (depth_multiplier of them), nothing added across
    channels. Output channel c·M + m is input channel c through its filter m."""

    DEFAULT_NAME = "depthwise_conv2d"
    HELP = ("One 2-D filter per input channel, slid over that channel alone: nothing is added across channels "
            "(a Conv2D filter is 3-D and sums every channel). depth_multiplier filters per channel make "
            "channels × depth_multiplier output maps.")
    PARAMS = (KERNEL_SIZE, STRIDES, PADDING,
              Param("depth_multiplier", "int", "Depth multiplier", "How many 2-D filters each input channel has: the "
                    "output has input channels × depth multiplier maps.", default=1, minimum=1, maximum=MAX_CHANNELS),
              DILATION_RATE, USE_BIAS)
    WEIGHTS = (Weight("kernel", ("rows", "cols", "in channels", "multiplier"), "One rows × cols filter per input "
                      "channel and multiplier.", init="glorot_uniform", in_axis=2),
               Weight("bias", ("output channel",), "One number added to every cell of its output map."))
    KERAS_EXTRAS = {"data_format": "channels_last", "activation": "linear"}
    KERAS_IGNORED = ("depthwise_initializer", "depthwise_regularizer", "depthwise_constraint")
    CHANNELS_PARAM = "depth_multiplier"

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, dilation_rate=(1, 1),
                 use_bias=True, name=None):
        # Keras 3 accepts strides and dilation > 1 together here (unlike Conv2D): the direct formula holds.
        super().__init__(name)
        self._window_args(kernel_size, strides, padding, dilation_rate, use_bias)
        if self.strides[0] != self.strides[1]:
            # TensorFlow's depthwise op refuses it when the layer runs; refused here, where it is typed.
            raise self._error(f"strides {_times(*self.strides)} are not allowed: Keras on TensorFlow computes a "
                              "depthwise convolution only with the same stride for rows and cols", "strides")
        self.depth_multiplier = self._int(depth_multiplier, "depth_multiplier", 1, MAX_CHANNELS)

    def _weight_shape(self, name, channels):
        m = self.depth_multiplier
        if name == "bias":
            return (None if channels is None else channels * m,)
        return (*self.kernel_size, channels, m)

    def _output_shape(self, shape):
        return (*self._sliding_size(shape), shape[2] * self.depth_multiplier)

    def _intermediates(self, shape, out):
        return _padded_and_windows(shape, out, self.kernel_size, self.strides, self.padding,
                                   self.dilation_rate)[:1]

    def _work(self, shape, out):
        return math.prod(out) * math.prod(self.kernel_size)

    def explain_output_shape(self, input_shape):
        h, w, c = self._check_input_shape(input_shape)
        m = self.depth_multiplier
        return self._explain_sliding_axes(h, w) + [
            f"depth: {c}·{m} = {c * m} ({m} filter{'s' if m > 1 else ''} per input channel)"]

    def _call(self, x, training):
        return ops.depthwise_conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)

    def rows_reached(self, input_shape, rows):
        return None  # einsum picks its contraction by the map's size: a crop would round differently

    def _forward(self, x, training):
        return batch_ops.depthwise_conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)

    def _backward(self, x, dy, training):
        dx, dkernel, dbias = grad_ops.depthwise_conv2d(x, dy, self.kernel, self.strides, self.padding,
                                                       self.dilation_rate)
        return dx, self._grads(dkernel, dbias)

    def get_config(self):
        return {"name": self.name, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "depth_multiplier": self.depth_multiplier,
                "dilation_rate": self.dilation_rate, "use_bias": self.use_bias}

    def _carry_state(self, new):
        """Same kernel size, multiplier and bias setting: the filters stay; otherwise a fresh draw."""
        if self.kernel is not None and (self.kernel_size, self.depth_multiplier, self.use_bias) == \
                (new.kernel_size, new.depth_multiplier, new.use_bias):
            new.kernel, new.bias = self.kernel.copy(), None if self.bias is None else self.bias.copy()

    # ---- description ------------------------------------------------------------------------------
    def provenance(self, x, cell, training):
        """y[i,j,c·M+m] = bias[c·M+m] + Σ_{a,b} xpad[i·s + a·d, j·s + b·d, c] · K[a,b,c,m]."""
        rows, cols = self._window_taps(x, cell)
        c, m = divmod(cell[2], self.depth_multiplier)
        terms = [self._term(x, (i, j, c), self.kernel[a, b, c, m], (a, b, c, m)) for a, i in rows for b, j in cols]
        return Terms(terms, self._bias_of(cell[2]), window=_window(rows, cols))

    def _channels_back(self, input_shape, channels):
        return np.unique(np.asarray(channels, int) // self.depth_multiplier)

    def kernel_reach(self, input_shape, field):
        rows, cols, outs = field
        mask = np.zeros(self.kernel.shape, bool)
        taps = np.ix_(self._taps_used(0, input_shape[0], rows), self._taps_used(1, input_shape[1], cols))
        for o in np.asarray(outs, int):
            mask[..., o // self.depth_multiplier, o % self.depth_multiplier][taps] = True
        return mask

    def absorbs_torch_padding(self):
        return self.padding == "valid"

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        c, m = in_shape[2], self.depth_multiplier
        kh, kw = self.kernel_size
        kernel = (f"torch.from_numpy(np.ascontiguousarray({{weights}}[0].reshape({kh}, {kw}, {c * m})"
                  ".transpose(2, 0, 1)[:, None]))")
        code = self._torch_conv2d(in_shape, c * m, absorbed_padding, f", groups={c}", kernel)
        code.comments.append(f"# groups={c}: each input channel has its own {m} filter(s); output channel c·{m} + m")
        return code
