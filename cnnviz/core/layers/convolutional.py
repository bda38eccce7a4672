"""Conv2D and Conv2DTranspose: Keras kernel layouts, glorot initialisation, output-shape arithmetic."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core import ops
from cnnviz.core.arithmetic import (
    PADDINGS,
    conv_output_size,
    effective_size,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
)
from cnnviz.core.errors import ConfigError
from cnnviz.core.layers.base import (
    MAX_CHANNELS,
    MAX_KERNEL,
    Layer,
    _axes,
    _explain_sliding,
    _is_int,
    _padded_and_windows,
    _times,
)


class _Conv(Layer):
    """Shared by Conv2D and Conv2DTranspose: kernel/bias plumbing and argument checks."""

    SLIDING = True
    TRAINABLE = True
    IN_AXIS = 2  # kernel axes of the input channels and of the filters (Keras layouts)
    FILTER_AXIS = 3

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                 use_bias=True, name=None):
        super().__init__(name)
        if not _is_int(filters) or filters < 1:
            raise self._error(f"filters must be a positive integer, got {filters!r}", "filters")
        if filters > MAX_CHANNELS:
            raise self._error(f"filters must be at most {MAX_CHANNELS}, got {filters}", "filters")
        self.filters = int(filters)
        self.kernel_size = self._pair(kernel_size, "kernel_size")
        if max(self.kernel_size) > MAX_KERNEL:
            raise self._error(f"kernel_size must be at most {MAX_KERNEL} per axis, got {_times(*self.kernel_size)}",
                              "kernel_size")
        self.strides = self._pair(strides, "strides")
        self.padding = self._choice(padding, PADDINGS, "padding")
        self.dilation_rate = self._pair(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            # Keras (like tf.nn.convolution) refuses the pair, even on different axes; so does cnnviz, so
            # that every pipeline it shows can be exported to Keras.
            raise self._error(
                f"strides {_times(*self.strides)} together with dilation_rate {_times(*self.dilation_rate)} "
                "is not allowed: Keras supports strides > 1 or dilation_rate > 1, not both (set one to 1)",
                "dilation_rate",
            )
        if not isinstance(use_bias, (bool, np.bool_)):
            raise self._error(f"use_bias must be true or false, got {use_bias!r}", "use_bias")
        self.use_bias = bool(use_bias)
        self.kernel: np.ndarray | None = None
        self.bias: np.ndarray | None = None

    def replace(self, **changes) -> _Conv:
        """As Layer.replace; a strides edit that clashes with the existing dilation is reported on strides."""
        try:
            return super().replace(**changes)
        except ConfigError as exc:
            if exc.param == "dilation_rate" and "dilation_rate" not in changes:
                raise ConfigError(str(exc), param="strides", layer=exc.layer) from None
            raise

    def _kernel_shape(self, channels) -> tuple:
        shape = [*self.kernel_size, None, None]
        shape[self.IN_AXIS], shape[self.FILTER_AXIS] = channels, self.filters
        return tuple(shape)

    def _in_channels(self) -> int | None:
        """Input channel count the current kernel was made for (None before any weights)."""
        return None if self.kernel is None else self.kernel.shape[self.IN_AXIS]

    def _build_weights(self, channels: int, rng: np.random.Generator) -> None:
        if self.kernel is not None and self._in_channels() == channels:
            return
        shape = self._kernel_shape(channels)
        field = shape[0] * shape[1]
        limit = math.sqrt(6.0 / (field * shape[2] + field * shape[3]))  # glorot uniform, as Keras
        self.kernel = rng.uniform(-limit, limit, size=shape).astype(np.float32)
        self.bias = np.zeros(self.filters, np.float32) if self.use_bias else None

    def get_weights(self) -> list[np.ndarray]:
        if self.kernel is None:
            return []
        return [self.kernel.copy()] + ([self.bias.copy()] if self.use_bias else [])

    def set_weights(self, weights) -> None:
        """[kernel, bias] in Keras layout; before build the input channel count is taken from the kernel."""
        weights = list(weights)
        count = 2 if self.use_bias else 1
        channels = self.input_shape[2] if self.built else None
        expected = _shape_text(self._kernel_shape(channels))
        if len(weights) != count:
            bias = f" and bias ({self.filters},)" if self.use_bias else ""
            raise self._error(f"expected {count} weight arrays (kernel {expected}{bias}), got {len(weights)}",
                              "weights")
        kernel = np.asarray(weights[0])
        if kernel.ndim != 4:
            raise self._error(f"kernel must have shape {expected}, got {kernel.shape}", "weights")
        shape = self._kernel_shape(kernel.shape[self.IN_AXIS] if channels is None else channels)
        if kernel.shape != shape:
            raise self._error(f"kernel must have shape {shape}, got {kernel.shape}", "weights")
        arrays = [kernel]
        if self.use_bias:
            bias = np.asarray(weights[1])
            if bias.shape != (self.filters,):
                raise self._error(f"bias must have shape ({self.filters},), got {bias.shape}", "weights")
            arrays.append(bias)
        for a in arrays:
            if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a.astype(np.float64)).all():
                raise self._error("weights must be finite numbers", "weights")
        self.kernel = kernel.astype(np.float32).copy()
        self.bias = arrays[1].astype(np.float32).copy() if self.use_bias else None


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
        new._build_weights(self._in_channels(), np.random.default_rng(0))
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


def _shape_text(shape) -> str:
    """(3, 3, 1, 2); an unknown input channel count reads "in": (3, 3, in, 2)."""
    return "(" + ", ".join("in" if v is None else str(v) for v in shape) + ")"


def _centre_overlap(size: int, other: int) -> slice:
    """The slice of an extent `size` that overlaps a centred extent `other`."""
    n = min(size, other)
    start = (size - n) // 2
    return slice(start, start + n)


class Conv2D(_Conv):
    """Keras Conv2D: cross-correlation of every filter (kh×kw×C) with the input, plus bias."""

    DEFAULT_NAME = "conv2d"

    def _axis_sizes(self, n: int, axis: int) -> tuple[int, int, int, int]:
        k, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        return k, s, d, conv_output_size(n, k, s, self.padding, d)

    def _output_shape(self, shape):
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
        return oh, ow, self.filters

    def _intermediates(self, shape, out):
        return _padded_and_windows(shape, out, self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def _work(self, shape, out):
        return math.prod(out) * math.prod(self.kernel_size) * shape[2]

    def explain_output_shape(self, input_shape):
        h, w, _ = self._check_input_shape(input_shape)
        lines = [_explain_sliding(name, n, *self._axis_sizes(n, axis)[:3], self.padding, sides)
                 for axis, (name, n, sides) in enumerate(_axes(h, w))]
        return lines + [f"depth: {self.filters} (one per filter)"]

    def _call(self, x, training):
        return ops.conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)


class Conv2DTranspose(_Conv):
    """Keras Conv2DTranspose: every input cell scatters kernel×value into the output, then the crop."""

    DEFAULT_NAME = "conv2d_transpose"
    IN_AXIS = 3
    FILTER_AXIS = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 dilation_rate=(1, 1), use_bias=True, name=None):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, use_bias, name)
        # 0 ≤ output_padding < stride (the torch / Keras 2 rule). Beyond that every case is accepted, as
        # the Keras torch backend does: `same` with output_padding gives O = (n−1)s + k_e%2 + op, zero rows
        # past the scatter canvas. TF's backend refuses some of these (an even k with op 0), but its
        # results agree wherever it answers (SEMANTICS.md §2). Only an empty output is an error.
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

    def _call(self, x, training):
        return ops.conv2d_transpose(x, self.kernel, self.bias, self.strides, self.padding,
                                    self.output_padding, self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config
