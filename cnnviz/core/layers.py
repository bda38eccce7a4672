"""Keras-named layers on one channels-last image: validation, shapes, weights, configs (SEMANTICS.md).

Each layer normalises its Keras keyword arguments on the way in (int -> pair, list -> tuple, padding
lower-case) so that get_config -> from_config -> get_config is identical, also through JSON. Anything
a user can get wrong raises ConfigError whose message starts with the layer's label ("Conv2D #1: ...")
and whose ``param`` names the offending argument.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from cnnviz.core import ops
from cnnviz.core.arithmetic import (
    PADDINGS,
    conv_output_size,
    conv_padding,
    effective_size,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
)
from cnnviz.core.errors import ConfigError

# Interactive limits: larger inputs are refused rather than freezing the app.
MAX_CELLS = 4096 * 4096
MAX_CHANNELS = 64
MAX_VALUES = 2**26  # any array the computation makes (outputs, padded inputs, window matrices)
MAX_WORK = 2**31  # multiply-adds (or comparisons) of one layer: a few seconds of numpy at most
MAX_KERNEL = 64  # per axis; a transposed conv loops over kernel offsets
# What one pipeline may ask for, whatever its layers' sizes (checked by Pipeline before any work):
MAX_LAYERS = 32  # every level gets its own maps: opening 30 ReLUs in the window takes ~1 s
MAX_LEVEL_VALUES = 2**23  # the input and every output together: computed on each edit, drawn, kept
MAX_SAVED_VALUES = 2**20  # the input and every weight together: what a session file holds (~1 s to save and load)


def _times(a: int, b: int) -> str:
    return f"{a}×{b}"


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class Layer:
    """Base class: name, position, build/call, config and weights plumbing."""

    SLIDING = False
    TRAINABLE = False
    DEFAULT_NAME = "layer"

    def __init__(self, name: str | None = None):
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise self._error(f"name must be a non-empty text, got {name!r}", "name")
        self.name = name if name is not None else self.DEFAULT_NAME
        self.index: int | None = None
        self.built = False
        self.input_shape: tuple[int, int, int] | None = None

    # ---- identity and errors -------------------------------------------------------------------
    @property
    def label(self) -> str:
        cls = type(self).__name__
        return f"{cls} #{self.index}" if getattr(self, "index", None) is not None else cls

    def _error(self, message: str, param: str) -> ConfigError:
        return ConfigError(f"{self.label}: {message}", param=param, layer=self.label)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # ---- argument normalisation ----------------------------------------------------------------
    def _pair(self, value, param: str, minimum: int = 1) -> tuple[int, int]:
        """int or 2-sequence of ints -> (int, int), each ≥ minimum."""
        items = (value, value) if _is_int(value) else value
        try:
            items = tuple(items)
        except TypeError:
            items = ()
        if len(items) != 2 or not all(_is_int(v) for v in items):
            raise self._error(f"{param} must be an integer or a pair of integers, got {value!r}", param)
        if min(items) < minimum:
            raise self._error(f"{param} must be ≥ {minimum}, got {_times(*items)}", param)
        return int(items[0]), int(items[1])

    def _choice(self, value, choices: tuple[str, ...], param: str) -> str:
        text = value.lower() if isinstance(value, str) else value
        if text not in choices:
            options = " or ".join(f'"{c}"' for c in choices)
            raise self._error(f"{param} must be {options}, got {value!r}", param)
        return text

    # ---- shapes --------------------------------------------------------------------------------
    def _check_input_shape(self, input_shape) -> tuple[int, int, int]:
        try:
            shape = tuple(input_shape)
        except TypeError:
            shape = ()
        if len(shape) != 3 or not all(_is_int(v) for v in shape) or min(shape) < 1:
            raise self._error(f"input shape must be three positive integers (H, W, C), got {input_shape!r}", "input")
        h, w, c = (int(v) for v in shape)
        if h * w > MAX_CELLS or c > MAX_CHANNELS:
            raise self._error(
                f"input {h}×{w}×{c} is too large to compute interactively "
                f"(at most 4096×4096 cells and {MAX_CHANNELS} channels)",
                "input",
            )
        return h, w, c

    def compute_output_shape(self, input_shape) -> tuple[int, int, int]:
        shape = self._check_input_shape(input_shape)
        out = self._output_shape(shape)
        for what, size in [(f"output {_times(*out[:2])}×{out[2]}", math.prod(out)), *self._intermediates(shape, out)]:
            if size > MAX_VALUES:
                raise self._error(f"{what} has {size:,} values, more than 2^26: too large to compute interactively",
                                  "input")
        work = self._work(shape, out)
        if work > MAX_WORK:
            raise self._error(f"{work:,} arithmetic operations (more than 2^31): too much to compute interactively",
                              "input")
        return out

    def _output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        return shape

    def _intermediates(self, shape, out) -> list[tuple[str, int]]:
        """(description, number of values) of the temporary arrays computing this layer makes."""
        return []

    def _work(self, shape, out) -> int:
        return math.prod(out)

    def explain_output_shape(self, input_shape) -> list[str]:
        """The output-shape arithmetic per axis as text for the UI (does not raise for an empty result)."""
        h, w, c = self._check_input_shape(input_shape)
        return [f"rows: {h} (unchanged)", f"cols: {w} (unchanged)", f"depth: {c} (unchanged)"]

    # ---- build and call ------------------------------------------------------------------------
    def build(self, input_shape, rng: np.random.Generator | None = None) -> None:
        """Validate the input shape and create weights; same input channel count keeps the weights."""
        shape = self._check_input_shape(input_shape)
        self.compute_output_shape(shape)
        self._build_weights(shape[2], rng if rng is not None else np.random.default_rng(0))
        self.input_shape = shape
        self.built = True

    def _build_weights(self, channels: int, rng: np.random.Generator) -> None:
        pass

    def weight_shapes(self, input_shape) -> list[tuple]:
        """Shapes of the weights building on `input_shape` makes, in get_weights order (before making them)."""
        return []

    def __call__(self, x, training: bool = False) -> np.ndarray:
        x = self._check_input(x)
        if not self.built or self.input_shape != x.shape:
            self.build(x.shape)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below, by name
            y = self._call(x, training)
        if not np.isfinite(y).all():
            raise self._error("output overflows float32 (a value beyond ±3.4·10³⁸): the input or the weights "
                              "are too large", "weights" if self.get_weights() else "input")
        return y

    def _check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3:
            raise self._error(f"input must be an (H, W, C) array, got {x.ndim} dimensions", "input")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise self._error(f"input must hold real numbers, got {x.dtype}", "input")
        self._check_input_shape(x.shape)
        with np.errstate(over="ignore"):  # values beyond float32 become inf and are refused below
            x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise self._error("input holds NaN or infinite values (or values too large for float32)", "input")
        if self.built and self.input_shape[2] != x.shape[2]:
            raise self._error(f"input has {x.shape[2]} channels, the layer was built for {self.input_shape[2]}",
                              "input")
        return x

    def _call(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    # ---- weights -------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        return []

    def set_weights(self, weights) -> None:
        if len(list(weights)) != 0:
            raise self._error(f"has no weights, got {len(list(weights))} arrays", "weights")

    # ---- config --------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a dict, got {type(config).__name__}", param="config")
        try:
            return cls(**config)
        except TypeError as exc:  # an unknown or missing keyword
            raise ConfigError(f"{cls.__name__}: bad config keys ({exc})", param="config") from None

    def replace(self, **changes) -> Layer:
        """A new layer of the same class with changed config; weights carried where they still fit."""
        try:
            new = type(self).from_config({**self.get_config(), **changes})
        except ConfigError as exc:  # re-label with this layer's position in the pipeline
            cls = type(self).__name__
            message = str(exc)
            if message.startswith(cls + ":"):
                message = self.label + message[len(cls) :]
            raise ConfigError(message, param=exc.param, layer=self.label) from None
        new.index = self.index
        self._carry_state(new)
        if self.built:
            try:  # ready to run on the same input; an impossible shape is left for the pipeline to report
                new.build(self.input_shape)
            except ConfigError:
                pass
        return new

    def _carry_state(self, new: Layer) -> None:
        pass


# ======================================================================================================
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

    def weight_shapes(self, input_shape) -> list[tuple]:
        return [self._kernel_shape(int(input_shape[-1]))] + ([(self.filters,)] if self.use_bias else [])

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


def _axes(h: int, w: int):
    """(name, size, sides) of the two spatial axes, for the explanations."""
    return (("rows", h, ("top", "bottom")), ("cols", w, ("left", "right")))


def _padded_and_windows(shape, out, size, strides, padding, dilation=(1, 1)) -> list[tuple[str, int]]:
    """The padded input and the window matrix (im2col) a sliding layer builds."""
    h, w, c = shape
    rows = h + sum(conv_padding(h, size[0], strides[0], padding, dilation[0]))
    cols = w + sum(conv_padding(w, size[1], strides[1], padding, dilation[1]))
    return [(f"padded input {_times(rows, cols)}×{c}", rows * cols * c),
            (f"window matrix {out[0] * out[1]}×{size[0] * size[1] * c}", out[0] * out[1] * size[0] * size[1] * c)]


def _explain_sliding(name, n, k, s, d, padding, sides, pool=False) -> str:
    """`rows: ⌊(6 + 0 + 0 − 3)/1⌋ + 1 = 4` or `rows: ⌈6/2⌉ = 3 (padding 0 top, 1 bottom)`."""
    ke = effective_size(k, d)
    out = conv_output_size(n, k, s, padding, d)
    if padding == "same":
        before, after = conv_padding(n, k, s, padding, d)
        note = f"padding {before} {sides[0]}, {after} {sides[1]}"
        if pool and before + after:
            note += ", padded cells ignored"
        return f"{name}: ⌈{n}/{s}⌉ = {out} ({note})"
    text = f"{name}: ⌊({n} + 0 + 0 − {ke})/{s}⌋ + 1 = {max(out, 0)}"
    if d > 1:
        text += f" (dilated kernel {d}·({k}−1)+1 = {ke})"
    if out < 1:
        text += " (empty: the window does not fit)"
    return text


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


# ======================================================================================================
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


class Dropout(Layer):
    """Identity at inference; with training=True, inverted dropout through a kept, injectable mask."""

    DEFAULT_NAME = "dropout"

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not (0 <= rate < 1):
            raise self._error(f"rate must be a number in [0, 1), got {rate!r}", "rate")
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise self._error(f"seed must be a non-negative integer or None, got {seed!r}", "seed")
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self.mask: np.ndarray | None = None
        self._rng: np.random.Generator | None = None

    def new_mask(self, shape=None) -> np.ndarray:
        """Draw a fresh mask (keep probability 1 − rate) of `shape` or of the current mask's shape."""
        if shape is None:
            if self.mask is not None:
                shape = self.mask.shape
            elif self.input_shape is not None:
                shape = self.input_shape
            else:
                raise self._error("cannot draw a mask before the input shape is known", "mask")
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        self.mask = self._rng.random(tuple(shape)) >= self.rate
        return self.mask

    def set_mask(self, mask) -> None:
        mask = np.asarray(mask)
        expected = self.mask.shape if self.mask is not None else self.input_shape
        if mask.ndim != 3 or (expected is not None and mask.shape != tuple(expected)):
            raise self._error(f"mask must have shape {expected}, got {mask.shape}", "mask")
        if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
            raise self._error("mask must hold only true/false (1/0) values", "mask")
        self.mask = mask.astype(bool)

    def _call(self, x, training):
        if not training or self.rate == 0:
            return x.copy()
        if self.mask is None or self.mask.shape != x.shape:
            self.new_mask(x.shape)
        return ops.dropout(x, self.rate, self.mask)

    def _carry_state(self, new):
        if (new.rate, new.seed) == (self.rate, self.seed):
            new.mask = None if self.mask is None else self.mask.copy()
            new._rng = copy.deepcopy(self._rng)

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}


class Activation(Layer):
    """Element-wise activation: relu, sigmoid, tanh or linear."""

    DEFAULT_NAME = "activation"

    def __init__(self, activation="relu", name=None):
        super().__init__(name)
        self.activation = self._choice(activation, ops.ACTIVATIONS, "activation")

    def _call(self, x, training):
        return ops.activation(x, self.activation)

    def get_config(self):
        return {"name": self.name, "activation": self.activation}


class ReLU(Activation):
    """max(x, 0) as its own layer (Keras ReLU with default arguments)."""

    DEFAULT_NAME = "re_lu"

    def __init__(self, name=None):
        super().__init__("relu", name)

    def get_config(self):
        return {"name": self.name}


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, UpSampling2D, Dropout, ReLU, Activation)
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
