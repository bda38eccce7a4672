"""The Layer base class, the argument helpers every layer family shares, and the defaults of the layer
description (docs/architecture.md).

Each layer normalises its Keras keyword arguments on the way in (int -> pair, list -> tuple, padding
lower-case) so that get_config -> from_config -> get_config is identical, also through JSON. Anything
a user can get wrong raises ConfigError whose message starts with the layer's label ("Conv2D #1: ...")
and whose ``param`` names the offending argument.

A level is an (H, W, C) map or, after Flatten, Dense or global pooling, a vector (n,).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from cnnviz.core.arithmetic import (
    conv_output_size,
    conv_padding,
    conv_taps,
    effective_size,
)
from cnnviz.core.errors import ConfigError
from cnnviz.core.layers.description import Param, Term, TorchCode, Weight
from cnnviz.core.limits import (
    MAX_CELLS,
    MAX_CHANNELS,
    MAX_KERNEL,
    MAX_SIDE,
    MAX_VALUES,
    MAX_WORK,
)

__all__ = ["MAX_CELLS", "MAX_CHANNELS", "MAX_KERNEL", "MAX_SIDE", "MAX_VALUES", "MAX_WORK", "Layer"]


def _times(a: int, b: int) -> str:
    return f"{a}×{b}"


def _dims(shape) -> str:
    return "×".join(str(int(v)) for v in shape)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _glorot_uniform(shape, rng: np.random.Generator) -> np.ndarray:
    """Keras's default kernel initializer, with Keras's fans (a kernel's leading axes are its receptive field)."""
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


_INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "zeros": lambda shape, rng: np.zeros(shape, np.float32),
    "ones": lambda shape, rng: np.ones(shape, np.float32),
}


class Layer:
    """Base class: name, position, build/call, config and weights plumbing, and the description's defaults.

    A layer type describes itself with the class attributes below and the methods marked "description";
    tests/core/test_registry.py checks that every registered type provides every piece.
    """

    SLIDING = False
    TRAINABLE = False
    DEFAULT_NAME = "layer"
    HELP = ""  # what the layer does, in the lecture's words (description)
    PARAMS: tuple[Param, ...] = ()  # its Keras arguments besides `name`, in Keras's order (description)
    WEIGHTS: tuple[Weight, ...] = ()  # every weight it can have, in Keras's order (description)
    INPUT_RANKS: tuple[int, ...] = (3,)  # 3: an (H, W, C) map, 1: a vector
    # Keras config keys a Keras layer of this type writes besides cnnviz's, with the only value cnnviz
    # computes (exported as written, refused on import when different).
    KERAS_EXTRAS: dict = {}
    # Keras config keys of this type that do not change its forward pass at inference (ignored on import).
    KERAS_IGNORED: tuple[str, ...] = ()
    # True where Keras's layer has an `activation` argument cnnviz keeps as a separate Activation layer.
    KERAS_SPLITS_ACTIVATION = False
    CHANNELS_PARAM = "input"  # the parameter to blame when the output has too many channels

    def __init__(self, name: str | None = None):
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise self._error(f"name must be a non-empty text, got {name!r}", "name")
        self.name = name if name is not None else self.DEFAULT_NAME
        self.index: int | None = None
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.trainable = True  # as Keras's layer.trainable: False freezes the weights in training
        for weight in self.WEIGHTS:
            setattr(self, weight.name, None)

    @classmethod
    def param(cls, name: str) -> Param:
        """The description of one parameter."""
        for p in cls.PARAMS:
            if p.name == name:
                return p
        raise KeyError(f"{cls.__name__} has no parameter {name!r}")

    @classmethod
    def suggested(cls, input_shape=None) -> Layer:
        """A new layer with every parameter at its initial value; where that does not fit `input_shape`,
        `same` padding when the type has a padding choice (a small map keeps its size instead of refusing)."""
        config = {p.name: p.initial for p in cls.PARAMS}
        layer = cls(**config)
        if input_shape is not None and any(p.name == "padding" for p in cls.PARAMS):
            try:
                layer.compute_output_shape(input_shape)
            except ConfigError:
                layer = cls(**{**config, "padding": "same"})
        return layer

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

    def _bool(self, value, param: str) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise self._error(f"{param} must be true or false, got {value!r}", param)
        return bool(value)

    def _int(self, value, param: str, minimum: int, maximum: int) -> int:
        if not _is_int(value) or value < minimum:
            what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
            raise self._error(f"{param} must be {what}, got {value!r}", param)
        if value > maximum:
            raise self._error(f"{param} must be at most {maximum}, got {value}", param)
        return int(value)

    # ---- shapes --------------------------------------------------------------------------------
    def _check_input_shape(self, input_shape) -> tuple[int, ...]:
        try:
            shape = tuple(input_shape)
        except TypeError:
            shape = ()
        if len(shape) not in (1, 3) or not all(_is_int(v) for v in shape) or min(shape) < 1:
            raise self._error(f"input shape must be three positive integers (H, W, C), got {input_shape!r}", "input")
        shape = tuple(int(v) for v in shape)
        if len(shape) not in self.INPUT_RANKS:
            raise self._error(f"needs an (H, W, C) map, got a vector of {shape[0]} values: "
                              "put it before the Flatten (or the layer that made the vector)", "input")
        if len(shape) == 1:
            if shape[0] > MAX_VALUES:
                raise self._error(f"input of {shape[0]:,} values is too large to compute interactively", "input")
            return shape
        h, w, c = shape
        if h * w > MAX_CELLS or c > MAX_CHANNELS:
            raise self._error(
                f"input {h}×{w}×{c} is too large to compute interactively "
                f"(at most {MAX_SIDE}×{MAX_SIDE} cells and {MAX_CHANNELS} channels)",
                "input",
            )
        return shape

    def compute_output_shape(self, input_shape) -> tuple[int, ...]:
        """The output shape (description); ConfigError naming the layer and the arithmetic when impossible."""
        shape = self._check_input_shape(input_shape)
        out = self._output_shape(shape)
        for what, size in [(f"output {_dims(out)}", math.prod(out)), *self._intermediates(shape, out)]:
            if size > MAX_VALUES:
                raise self._error(f"{what} has {size:,} values, more than 2^26: too large to compute interactively",
                                  "input")
        if len(out) == 3 and out[2] > MAX_CHANNELS:
            raise self._error(f"output {_dims(out)} has {out[2]} channels, more than {MAX_CHANNELS}: too many to "
                              "compute interactively", self.CHANNELS_PARAM)
        work = self._work(shape, out)
        if work > MAX_WORK:
            raise self._error(f"{work:,} arithmetic operations (more than 2^31): too much to compute interactively",
                              "input")
        return out

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape

    def _intermediates(self, shape, out) -> list[tuple[str, int]]:
        """(description, number of values) of the temporary arrays computing this layer makes."""
        return []

    def _work(self, shape, out) -> int:
        return math.prod(out)

    def explain_output_shape(self, input_shape) -> list[str]:
        """The output-shape arithmetic per axis as text for the UI (description; does not raise for an
        empty result)."""
        shape = self._check_input_shape(input_shape)
        if len(shape) == 1:
            return [f"length: {shape[0]} (unchanged)"]
        h, w, c = shape
        return [f"rows: {h} (unchanged)", f"cols: {w} (unchanged)", f"depth: {c} (unchanged)"]

    # ---- build and call ------------------------------------------------------------------------
    def build(self, input_shape, rng: np.random.Generator | None = None) -> None:
        """Validate the input shape and create weights; same input channel count keeps the weights."""
        shape = self._check_input_shape(input_shape)
        self.compute_output_shape(shape)
        self._build_weights(shape[-1], rng if rng is not None else np.random.default_rng(0))
        self.input_shape = shape
        self.built = True

    def __call__(self, x, training: bool = False) -> np.ndarray:
        """One image (H, W, C) or vector, or a batch (N, H, W, C) or (N, units), validated; a batch gives
        each image's numbers."""
        x = self._check_input(x)
        batched = self._is_batch(x)
        shape = x.shape[1:] if batched else x.shape
        if not self.built or self.input_shape != shape:
            self.build(shape)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below, by name
            y = self._forward(x, training) if batched else self._call(x, training)
        if not np.isfinite(y).all():
            raise self._error("output overflows float32 (a value beyond ±3.4·10³⁸): the input or the weights "
                              "are too large", "weights" if self.get_weights() else "input")
        # in C order, whatever order the maths left it in (a DepthwiseConv2D's is channels-first): numpy sums a
        # mean or a softmax in an order that follows the memory layout, so the same numbers laid out another way
        # gave another last bit, and Pipeline.rerun_rows (which writes into C-ordered copies) differed from run
        return np.ascontiguousarray(y)

    def _check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        batched = self._is_batch(x)
        if batched and len(x) == 0:
            raise self._error(f"input is a batch of no images, shape {x.shape}", "input")
        if not batched and x.ndim not in (1, 3):  # a vector on a map layer: _check_input_shape names it
            raise self._error(f"input must be an (H, W, C) array or a batch (N, H, W, C), got {x.ndim} dimensions",
                              "input")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise self._error(f"input must hold real numbers, got {x.dtype}", "input")
        self._check_input_shape(x.shape[1:] if batched else x.shape)
        with np.errstate(over="ignore"):  # values beyond float32 become inf and are refused below
            x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise self._error("input holds NaN or infinite values (or values too large for float32)", "input")
        if self.built and self.input_shape[-1] != x.shape[-1]:
            raise self._error(f"input has {x.shape[-1]} channels, the layer was built for {self.input_shape[-1]}",
                              "input")
        return x

    def _call(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def _is_batch(self, x: np.ndarray) -> bool:
        """A batch has one axis more than the inputs this type takes: (N, H, W, C), or (N, units)."""
        return x.ndim - 1 in self.INPUT_RANKS and x.ndim not in self.INPUT_RANKS

    # ---- batches and gradients (training) ----------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The layer on a batch (N, H, W, C) without validation, in x's float dtype: the training loop's
        forward pass (the layer must be built for these images)."""
        return self._forward(x, training)

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        return np.stack([self._call(image, training) for image in x])

    def backward(self, x, dy, training: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """The vector-Jacobian product at input x: (∂L/∂x, [∂L/∂w for w in get_weights()]) from dy = ∂L/∂y.

        x and dy are one image or a batch (then the weight gradients are summed over the batch); with
        training=True the layer differentiates its training-mode forward pass (Dropout's current mask)."""
        single = not self._is_batch(np.asarray(x))
        x, dy = (np.asarray(a)[None] if single else np.asarray(a) for a in (x, dy))
        dx, grads = self._backward(x, dy, training)
        return (dx[0] if single else dx), grads

    def _backward(self, x: np.ndarray, dy: np.ndarray, training: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        raise NotImplementedError(f"{type(self).__name__} has no backward pass")

    def weight_gradients(self, x: np.ndarray, dy: np.ndarray, training: bool = False) -> list[np.ndarray]:
        """backward's weight gradients alone, on a batch (the lowest trained layer needs no ∂L/∂x)."""
        return self._backward(x, dy, training)[1]

    def logits_activation(self) -> str | None:
        """"softmax" or "sigmoid" when this layer's output is that Keras activation of its logits: a
        crossentropy after it is then computed from the logits (forward_logits / backward_logits)."""
        return None

    def forward_logits(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not end in a softmax or sigmoid")

    def activate_logits(self, logits: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not end in a softmax or sigmoid")

    def backward_logits(self, x, dlogits, training: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        raise NotImplementedError(f"{type(self).__name__} does not end in a softmax or sigmoid")

    def weight_attributes(self) -> tuple[str, ...]:
        """The attributes holding get_weights()'s arrays, in the same order (updated in place by training)."""
        return tuple(w.name for w in self.weight_specs())

    def trainable_weights(self) -> tuple[bool, ...]:
        """Per get_weights() array: does training change it? (Never BatchNormalization's statistics.)"""
        return tuple(self.trainable and w.trainable for w in self.weight_specs())

    # ---- weights: generic over WEIGHTS, each array an attribute of its Keras name ----------------
    def weight_specs(self) -> tuple[Weight, ...]:
        """The weights this layer has with its settings, in get_weights order (description)."""
        return tuple(w for w in self.WEIGHTS if self._has_weight(w.name))

    def _has_weight(self, name: str) -> bool:
        return True

    def _weight_shape(self, name: str, channels: int | None) -> tuple:
        """The shape of weight `name` for an input of `channels` channels (None: unknown, shown as "in")."""
        raise NotImplementedError(f"{type(self).__name__} declares weights but not their shapes")

    def weight_shapes(self, input_shape=None) -> list[tuple]:
        """Shapes of the weights for an input shape, in get_weights order (description)."""
        channels = None if input_shape is None else int(tuple(input_shape)[-1])
        return [self._weight_shape(w.name, channels) for w in self.weight_specs()]

    def _weights_channels(self) -> int | None:
        """The input channel count the current weights were made for (None before any weights)."""
        for w in self.weight_specs():
            array = getattr(self, w.name)
            if w.in_axis is not None and array is not None:
                return array.shape[w.in_axis]
        return None

    def _build_weights(self, channels: int, rng: np.random.Generator) -> None:
        specs = self.weight_specs()
        if not specs or self._weights_channels() == channels:
            return
        for w in self.WEIGHTS:
            array = _INITIALIZERS[w.init](self._weight_shape(w.name, channels), rng) if w in specs else None
            setattr(self, w.name, array)

    def get_weights(self) -> list[np.ndarray]:
        arrays = [getattr(self, w.name) for w in self.weight_specs()]
        return [] if any(a is None for a in arrays) else [a.copy() for a in arrays]

    def set_weights(self, weights) -> None:
        """The arrays in Keras order and layout; before build the input channel count is read from them."""
        weights = list(weights)
        specs = self.weight_specs()
        if not specs:
            if weights:
                raise self._error(f"has no weights, got {len(weights)} arrays", "weights")
            return
        channels = self.input_shape[-1] if self.built else None
        if len(weights) != len(specs):
            parts = [f"{w.name} {_shape_text(s)}" for w, s in zip(specs, self.weight_shapes(None if channels is None
                                                                                        else (channels,)))]
            listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
            raise self._error(f"expected {len(specs)} weight array{'s' if len(specs) > 1 else ''} ({listed}), "
                              f"got {len(weights)}", "weights")
        arrays = [np.asarray(a) for a in weights]
        if channels is None:  # before build: the first array with an input-channel axis tells
            for w, a in zip(specs, arrays):
                if w.in_axis is not None and a.ndim == len(w.axes):
                    channels = a.shape[w.in_axis]
                    break
        for w, a, shape in zip(specs, arrays, self.weight_shapes(None if channels is None else (channels,))):
            if a.shape != shape:
                raise self._error(f"{w.name} must have shape {_shape_text(shape)}, got {a.shape}", "weights")
        for a in arrays:
            if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a.astype(np.float64)).all():
                raise self._error("weights must be finite numbers", "weights")
        self._check_weights(dict(zip((w.name for w in specs), arrays)))
        for w, a in zip(specs, arrays):
            setattr(self, w.name, a.astype(np.float32).copy())

    def _check_weights(self, arrays: dict) -> None:
        """Further checks of new weights by name (BatchNormalization: no negative variance)."""

    # ---- description: provenance, receptive field, weights touched, code -------------------------
    def provenance(self, x: np.ndarray, cell: tuple, training: bool):
        """The Terms that make output `cell` on input `x`: value = f(Σ coefficient·x[cell] + bias)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its provenance")

    def field_back(self, input_shape, field: tuple) -> tuple:
        """One layer back: the input index arrays (one per input axis, their product is the field) that
        the output field `field` (one index array per output axis) depends on. Padding is never included."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its receptive field")

    def rows_reached(self, input_shape, rows: tuple[int, int]) -> tuple[int, int] | None:
        """The output rows [o0, o1) that can change when input rows [r0, r1) change, for a layer that can
        compute some output rows on their own (call_rows); None: the layer is computed whole
        (Pipeline.rerun_rows)."""
        return None

    def call_rows(self, x: np.ndarray, rows: tuple[int, int]) -> np.ndarray:
        """Output rows [o0, o1) of the inference call on the whole map x, bit for bit those rows of it."""
        raise NotImplementedError(f"{type(self).__name__} computes whole maps only")

    def kernel_reach(self, input_shape, field: tuple) -> np.ndarray | None:
        """A boolean mask of the kernel: the weights that multiply a real input cell for some output of the
        product field (rows, cols, outputs). None for a layer without a kernel."""
        return None

    def weight_footprint(self, input_shape, weight: tuple) -> np.ndarray:
        """A boolean mask of the input: the cells kernel weight `weight` multiplies over all outputs."""
        return np.zeros(tuple(input_shape), bool)

    def torch_code(self, in_shape, out_shape, absorbed_padding=None) -> TorchCode:
        """This layer in PyTorch, computing Keras's numbers on NCHW tensors (N, C) for vectors.
        `absorbed_padding`: a symmetric (rows, cols) zero padding folded in from the layer before."""
        raise NotImplementedError(f"{type(self).__name__} has no PyTorch translation")

    def keras_notes(self, in_shape) -> list[str]:
        """Comments for generated Keras code where a Keras backend computes other numbers."""
        return []

    def torch_padding(self) -> tuple[int, int] | None:
        """(rows, cols) when this layer is a symmetric zero padding the next layer may fold into its own."""
        return None

    def absorbs_torch_padding(self) -> bool:
        """True when a symmetric zero padding just before can become this layer's torch `padding=`."""
        return False

    def _term(self, x: np.ndarray, cell, coefficient, weight=None) -> Term:
        """x[cell] as a term; a map cell outside the input is padding (value 0)."""
        cell = tuple(int(v) for v in cell)
        inside = len(cell) == 1 or (0 <= cell[0] < x.shape[0] and 0 <= cell[1] < x.shape[1])
        value = float(x[cell]) if inside else 0.0
        weight = None if weight is None else tuple(int(v) for v in weight)
        return Term(cell, float(coefficient), value, weight, not inside)

    def _kernel_index_check(self, weight) -> tuple:
        weight = tuple(int(v) for v in weight)
        shape = self.weight_specs() and getattr(self, self.weight_specs()[0].name).shape
        if len(weight) != len(shape) or not all(0 <= v < n for v, n in zip(weight, shape)):
            raise self._error(f"weight {weight} is outside the kernel of shape {shape}", "weight")
        return weight

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


def _shape_text(shape) -> str:
    """(3, 3, 1, 2); an unknown input channel count reads "in": (3, 3, in, 2)."""
    return "(" + ", ".join("in" if v is None else str(v) for v in shape) + ("," if len(shape) == 1 else "") + ")"


class RowsPerCell:
    """Mixin for layers whose output row on a map depends on the same input row only: an edit of some rows
    recomputes those rows (the same arithmetic on fewer cells)."""

    def rows_reached(self, input_shape, rows):
        return (int(rows[0]), int(rows[1])) if len(input_shape) == 3 else None

    def call_rows(self, x, rows):
        return self._call(x[rows[0] : rows[1]], False)


class CellToCell(RowsPerCell):
    """Mixin for layers whose output cell depends on the same input cell only (the receptive field stays)."""

    INPUT_RANKS = (1, 3)

    def field_back(self, input_shape, field):
        return field


class Sliding:
    """Mixin for window layers (convolutions and pooling). Each is separable per axis: the tap table of an
    axis (arithmetic.conv_taps) says which input index every tap of every output reads, and provenance
    windows, receptive fields and weight footprints are read from it."""

    SLIDING = True

    def axis_geometry(self, axis: int) -> dict:
        """The per-axis settings as keyword arguments for the tap tables (k, s, padding, d)."""
        raise NotImplementedError

    def tap_sources(self, axis: int, n: int, index: int) -> list[tuple[int, int]]:
        """The (tap, input index) pairs that feed output `index` along one axis: every tap a reads
        i·s − before + a·d. An input index outside 0..n−1 is padding."""
        return [(a, int(i)) for a, i in enumerate(conv_taps(n, **self.axis_geometry(axis))[index])]

    def _window_taps(self, x, cell):
        return self.tap_sources(0, x.shape[0], cell[0]), self.tap_sources(1, x.shape[1], cell[1])

    def _axis_back(self, axis: int, n: int, wanted: np.ndarray) -> np.ndarray:
        """The real input indices along one axis that the output indices `wanted` read."""
        read = np.unique(conv_taps(n, **self.axis_geometry(axis))[wanted])
        return read[(read >= 0) & (read < n)]

    def _taps_used(self, axis: int, n: int, wanted: np.ndarray) -> np.ndarray:
        """The taps that read a real input cell for at least one of the output indices `wanted`."""
        read = conv_taps(n, **self.axis_geometry(axis))[np.asarray(wanted, int)]
        return np.flatnonzero(((read >= 0) & (read < n)).any(axis=0))

    def _weight_axis(self, axis: int, n: int, tap: int) -> np.ndarray:
        """The real input indices tap `tap` reads over all outputs."""
        read = conv_taps(n, **self.axis_geometry(axis))[:, tap]
        return np.unique(read[(read >= 0) & (read < n)])

    ROW_PADDING = 0.0  # what call_rows fills padding rows with (max pooling: −∞, never the largest)

    def rows_reached(self, input_shape, rows):
        taps = conv_taps(input_shape[0], **self.axis_geometry(0))
        hit = np.flatnonzero(((taps >= rows[0]) & (taps < rows[1])).any(axis=1))
        return (int(hit[0]), int(hit[-1]) + 1) if len(hit) else (0, 0)

    def call_rows(self, x, rows):
        """The padded input rows these outputs read (padding filled in as the whole call pads), with the
        columns padded as the whole call pads them, computed `valid`: every output reads the same numbers
        through the same arithmetic as in the whole call."""
        h, w, c = x.shape
        taps = conv_taps(h, **self.axis_geometry(0))[rows[0] : rows[1]]
        lo, hi = int(taps[0, 0]), int(taps[-1, -1]) + 1
        left, right = conv_padding(w, **self.axis_geometry(1))
        crop = np.full((hi - lo, left + w + right, c), self.ROW_PADDING, np.float32)
        a, b = max(lo, 0), min(hi, h)
        crop[a - lo : b - lo, left : left + w] = x[a:b]
        return self._call_valid(crop)

    def _call_valid(self, padded: np.ndarray) -> np.ndarray:
        """The layer's inference call with padding `valid` on an already padded input (call_rows)."""
        raise NotImplementedError

    def field_back(self, input_shape, field):
        rows, cols, channels = field
        return (self._axis_back(0, input_shape[0], rows), self._axis_back(1, input_shape[1], cols),
                self._channels_back(input_shape, channels))

    def _channels_back(self, input_shape, channels: np.ndarray) -> np.ndarray:
        return channels  # pooling: each channel on its own


def _window(rows, cols) -> list[tuple[int, int]]:
    return [(i, j) for _, i in rows for _, j in cols]


def _inside(position: int, n: int) -> bool:
    return 0 <= position < n


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
