"""Element-wise activations: Activation and ReLU (docs/layers.md)."""

from __future__ import annotations

from cnnviz.core import ops
from cnnviz.core.layers.base import CellToCell, Layer
from cnnviz.core.layers.description import Param, Terms, TorchCode

_TORCH = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "linear": "nn.Identity()"}


class Activation(CellToCell, Layer):
    """Element-wise activation: relu, sigmoid, tanh or linear."""

    DEFAULT_NAME = "activation"
    HELP = "Applies a function to every number separately (relu keeps positives, sets negatives to 0)."
    PARAMS = (Param("activation", "choice", "Function", "The function applied to every number: relu max(0, x), "
                    "sigmoid 1/(1+e^−x), tanh, or linear (no change).", default="relu", choices=ops.ACTIVATIONS),)

    def __init__(self, activation="relu", name=None):
        super().__init__(name)
        self.activation = self._choice(activation, ops.ACTIVATIONS, "activation")

    def _call(self, x, training):
        return ops.activation(x, self.activation)

    def get_config(self):
        return {"name": self.name, "activation": self.activation}

    def provenance(self, x, cell, training):
        """One term, coefficient 1; the function (ReLU is Activation("relu")) is applied to it."""
        name = self.activation
        return Terms([self._term(x, cell, 1.0)], activation=None if name == "linear" else name)

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
