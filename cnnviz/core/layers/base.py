"""The Layer base class, the interactive limits and the argument helpers every layer family shares.

Each layer normalises its Keras keyword arguments on the way in (int -> pair, list -> tuple, padding
lower-case) so that get_config -> from_config -> get_config is identical, also through JSON. Anything
a user can get wrong raises ConfigError whose message starts with the layer's label ("Conv2D #1: ...")
and whose ``param`` names the offending argument.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from cnnviz.core.arithmetic import conv_output_size, conv_padding, effective_size
from cnnviz.core.errors import ConfigError

# Interactive limits: larger inputs are refused rather than freezing the app.
MAX_CELLS = 4096 * 4096
MAX_CHANNELS = 64
MAX_VALUES = 2**26  # any array the computation makes (outputs, padded inputs, window matrices)
MAX_WORK = 2**31  # multiply-adds (or comparisons) of one layer: a few seconds of numpy at most
MAX_KERNEL = 64  # per axis; a transposed conv loops over kernel offsets


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


# ---- explanations shared by the sliding layers (convolutions and pooling) -------------------------
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
