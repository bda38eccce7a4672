"""The pieces a layer type describes itself with: its parameters, its weights, its provenance terms and its
PyTorch translation (docs/architecture.md, "The layer description").

Plain data, no behaviour of any one layer: a form, a file validator or a code generator reads these
instead of switching on the layer's class.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()  # the default of a parameter Keras has no default for (Conv2D's filters)

# Parameter kinds, what a form shows for each, and what a JSON value must be.
KINDS = (
    "int",  # an integer in [minimum, maximum]
    "float",  # a number in [minimum, maximum] (maximum excluded when `below_maximum`)
    "bool",  # true or false
    "choice",  # one of `choices` (text, case-insensitive)
    "pair",  # an integer or two integers (rows, cols), each in [minimum, maximum]
    "sides",  # an integer, a pair, or ((top, bottom), (left, right)): ZeroPadding2D / Cropping2D
)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


@dataclass(frozen=True)
class Param:
    """One Keras keyword argument of a layer type, as a form and a file validator need it."""

    name: str  # the Keras keyword
    kind: str  # one of KINDS
    label: str  # the form's label ("Kernel size")
    help: str  # the tooltip, in the lecture's words
    default: object = REQUIRED  # the Keras default (REQUIRED: none)
    minimum: float | None = None
    maximum: float | None = None
    below_maximum: bool = False  # the maximum itself is refused (Dropout's rate < 1)
    choices: tuple = ()
    nullable: bool = False  # None is a value (Keras's "take the default": pooling strides, output_padding)
    placeholder: str = ""  # what an empty (None) field reads as in a form ("= pool size")
    suggested: object = None  # the value a new layer gets when there is no default (filters 2)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown parameter kind {self.kind!r}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def initial(self):
        """The value a new layer starts with: the Keras default, else the suggestion."""
        return self.suggested if self.required else self.default

    def problem(self, value) -> str | None:
        """None when a JSON value fits this parameter's type and range, else what was expected
        ("two positive integers"); the layer itself then checks the arithmetic."""
        if value is None and self.nullable:
            return None
        if self.kind == "bool":
            return None if isinstance(value, bool) else "true or false"
        if self.kind == "choice":
            ok = isinstance(value, str) and value.lower() in self.choices or (value is None and None in self.choices)
            return None if ok else " or ".join(repr(c) for c in self.choices)
        if self.kind == "int":
            ok = _is_int(value) and self._in_range(value)
            return None if ok else self._range_text("an integer")
        if self.kind == "float":
            ok = _is_number(value) and self._in_range(value)
            return None if ok else self._range_text("a number")
        if self.kind == "pair":
            return self._pair_problem(value)
        return self._sides_problem(value)

    def _in_range(self, v) -> bool:
        if self.minimum is not None and v < self.minimum:
            return False
        if self.maximum is not None and (v > self.maximum or (self.below_maximum and v == self.maximum)):
            return False
        return True

    def _range_text(self, what: str) -> str:
        lo, hi = self.minimum, self.maximum
        if self.kind == "int" and lo is not None and hi is not None:
            text = f"{what} from {lo:g} to {hi:g}"
        elif lo is not None and hi is not None:
            text = f"{what} with {lo:g} ≤ {self.name} {'<' if self.below_maximum else '≤'} {hi:g}"
        elif lo is not None:
            text = f"{what} ≥ {lo:g}"
        else:
            text = what
        return ("null or " if self.nullable else "") + text

    def _pair_problem(self, value) -> str | None:
        desc = "two positive integers" if self.minimum == 1 else "two integers ≥ 0"
        values = [value, value] if _is_int(value) else value
        if not (isinstance(values, (list, tuple)) and len(values) == 2
                and all(_is_int(a) and a >= (self.minimum or 0) for a in values)):
            return desc
        if self.maximum is not None and any(a > self.maximum for a in values):
            return f"{desc} of at most {self.maximum:g}"
        return None

    def _sides_problem(self, value) -> str | None:
        def side(v) -> bool:
            return _is_int(v) and v >= 0

        def axis(v) -> bool:
            return side(v) or (isinstance(v, (list, tuple)) and len(v) == 2 and all(side(q) for q in v))

        if side(value) or (isinstance(value, (list, tuple)) and len(value) == 2 and all(axis(p) for p in value)):
            return None
        return "an integer ≥ 0, two of them (rows, cols), or [[top, bottom], [left, right]]"


@dataclass(frozen=True)
class Weight:
    """One named weight array, in Keras's order and layout."""

    name: str  # Keras's name: kernel, bias, gamma, beta, moving_mean, moving_variance
    axes: tuple[str, ...]  # what each axis of its layout counts, e.g. (rows, cols, in channels, filters)
    help: str  # in the lecture's words
    init: str = "zeros"  # Keras's initializer: glorot_uniform, zeros or ones
    trainable: bool = True  # False for BatchNormalization's moving statistics
    in_axis: int | None = None  # the axis whose length is the input's channel count (None: no such axis)

    @property
    def layout(self) -> str:
        """"kernel rows, cols, in channels, filters" or "bias, one per filter"."""
        if len(self.axes) == 1:
            return f"{self.name}, one per {self.axes[0]}"
        return f"{self.name} {', '.join(self.axes)}"


Cell = tuple  # (row, col, channel) on a map, (index,) on a vector


@dataclass(frozen=True)
class Term:
    """One linear term of an output number: coefficient · x[cell]."""

    cell: Cell  # input cell of the layer's input; may lie in padding
    coefficient: float  # multiplies value
    value: float  # x[cell], or 0.0 for a padding cell
    weight: tuple | None  # index into the layer's first weight array (its kernel), or None
    padding: bool  # True when cell is outside the input (drawn hatched)


@dataclass(frozen=True)
class Terms:
    """What a layer says about one output cell: value = f(Σ coefficient·value + bias)."""

    terms: list[Term]
    bias: float = 0.0
    activation: str | None = None  # None, or relu / sigmoid / tanh / softmax applied to the sum
    window: list = field(default_factory=list)  # input (row, col) positions a sliding window covers
    logits: tuple[float, ...] = ()  # softmax only: every pre-activation value along its axis at this cell


@dataclass
class TorchCode:
    """One cnnviz layer as a torch module expression (text: the core never imports torch).

    `loads` are lines copying the layer's Keras-layout weights in, with `{ref}` for the module and
    `{weights}` for the list of its arrays; `helpers` name helper classes io/codegen.py defines."""

    expr: str
    comments: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
