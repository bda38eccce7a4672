"""Element-wise activations: Activation and ReLU (docs/layers.md)."""

from __future__ import annotations

import numpy as np

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.layers.base import CellToCell, Layer, RowsPerCell
from cnnviz.core.layers.description import Param, Terms, TorchCode

_TORCH = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "linear": "nn.Identity()",
          "softmax": "nn.Softmax(dim=1)"}  # dim 1: the channels of NCHW, the entries of (N, n)


def _softmax_terms(layer, x, cell) -> Terms:
    """This cell's number against every number along the last axis at its position."""
    logits = tuple(float(v) for v in x[tuple(cell[:-1])])
    return Terms([layer._term(x, cell, 1.0)], activation="softmax", logits=logits)


def _softmax_field(field, input_shape):
    return (*field[:-1], np.arange(input_shape[-1]))


class _LogitsAreTheInput:
    """For an activation layer: when it is a softmax or sigmoid, its input is the logits a crossentropy
    after it is computed from (Keras on TensorFlow, docs/training.md)."""

    def forward_logits(self, x, training=False):
        return x

    def activate_logits(self, logits):
        return self._forward(logits, False)

    def backward_logits(self, x, dlogits, training=False):
        return dlogits, []


class Activation(RowsPerCell, _LogitsAreTheInput, Layer):
    """Activation by name: relu, sigmoid, tanh, linear element-wise, or softmax along the last axis."""

    DEFAULT_NAME = "activation"
    HELP = "Applies a function to every number separately (relu keeps positives, sets negatives to 0)."
    PARAMS = (Param("activation", "choice", "Function", "The function applied to every number: relu max(0, x), "
                    "sigmoid 1/(1+e^−x), tanh, linear (no change), or softmax: e^x / Σ e^x over the channels "
                    "of a cell (or the whole vector), numbers that add up to 1 (class probabilities).",
                    default="relu", choices=ops.ACTIVATIONS),)
    INPUT_RANKS = (1, 3)

    def __init__(self, activation="relu", name=None):
        super().__init__(name)
        self.activation = self._choice(activation, ops.ACTIVATIONS, "activation")

    def _call(self, x, training):
        return ops.activation(x, self.activation)

    def _forward(self, x, training):
        return batch_ops.activation(x, self.activation)

    def _backward(self, x, dy, training):
        return grad_ops.activation(x, dy, self.activation), []

    def logits_activation(self):
        return self.activation if self.activation in ("softmax", "sigmoid") else None

    def get_config(self):
        return {"name": self.name, "activation": self.activation}

    def provenance(self, x, cell, training):
        """One term, coefficient 1; the function (ReLU is Activation("relu")) is applied to it."""
        name = self.activation
        if name == "softmax":
            return _softmax_terms(self, x, cell)
        return Terms([self._term(x, cell, 1.0)], activation=None if name == "linear" else name)

    def field_back(self, input_shape, field):
        return _softmax_field(field, input_shape) if self.activation == "softmax" else field

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return TorchCode(_TORCH[self.activation])


class ReLU(Activation):
    """max(x, 0) as its own layer (Keras ReLU with default arguments)."""

    DEFAULT_NAME = "re_lu"
    HELP = "Keeps positive numbers and sets negative numbers to 0."
    PARAMS = ()
    KERAS_EXTRAS = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}

    def __init__(self, name=None):
        super().__init__("relu", name)

    def get_config(self):
        return {"name": self.name}


class Softmax(RowsPerCell, _LogitsAreTheInput, Layer):
    """Keras Softmax(axis=-1): e^x / Σ e^x over the channels of each cell (over the whole vector)."""

    DEFAULT_NAME = "softmax"
    HELP = ("Turns numbers into probabilities: e^x / Σ e^x over the channels of each cell, or over the whole "
            "vector; the results are positive and add up to 1. A classifier's last layer.")
    INPUT_RANKS = (1, 3)
    KERAS_EXTRAS = {"axis": -1}

    def _call(self, x, training):
        return ops.softmax(x)

    def _forward(self, x, training):
        return batch_ops.softmax(x)

    def _backward(self, x, dy, training):
        return grad_ops.softmax(batch_ops.softmax(x), dy), []

    def logits_activation(self):
        return "softmax"

    def provenance(self, x, cell, training):
        return _softmax_terms(self, x, cell)

    def field_back(self, input_shape, field):
        return _softmax_field(field, input_shape)

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return TorchCode(_TORCH["softmax"])


class LeakyReLU(CellToCell, Layer):
    """Keras LeakyReLU: x where x > 0, negative_slope·x elsewhere (default 0.3, as the Keras layer)."""

    DEFAULT_NAME = "leaky_re_lu"
    HELP = "Keeps positive numbers and multiplies negative numbers by a small slope, instead of setting them to 0."
    PARAMS = (Param("negative_slope", "float", "Negative slope", "What negative numbers are multiplied by (0.3: −2 "
                    "becomes −0.6). 0 makes it a ReLU.", default=0.3, minimum=0),)

    def __init__(self, negative_slope=0.3, name=None):
        super().__init__(name)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or negative_slope < 0:
            raise self._error(f"negative_slope must be a number ≥ 0, got {negative_slope!r}", "negative_slope")
        if not np.isfinite(negative_slope):
            raise self._error(f"negative_slope must be a finite number, got {negative_slope!r}", "negative_slope")
        self.negative_slope = float(negative_slope)

    def _call(self, x, training):
        return ops.leaky_relu(x, self.negative_slope)

    def _forward(self, x, training):
        return batch_ops.activation(x, "leaky_relu", self.negative_slope)

    def _backward(self, x, dy, training):
        return grad_ops.activation(x, dy, "leaky_relu", self.negative_slope), []

    def get_config(self):
        return {"name": self.name, "negative_slope": self.negative_slope}

    def provenance(self, x, cell, training):
        """One term: coefficient 1 for a positive number, negative_slope otherwise (the sum is the output)."""
        slope = 1.0 if x[tuple(cell)] > 0 else float(np.float32(self.negative_slope))
        return Terms([self._term(x, cell, slope)])

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return TorchCode(f"nn.LeakyReLU(negative_slope={self.negative_slope})")
