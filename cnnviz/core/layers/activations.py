"""Element-wise activations: Activation and ReLU."""

from __future__ import annotations

from cnnviz.core import ops
from cnnviz.core.layers.base import Layer


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
