"""Element-wise activations: Activation and ReLU."""

from __future__ import annotations

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.layers.base import Layer


class Activation(Layer):
    """Element-wise activation: relu, sigmoid, tanh or linear."""

    DEFAULT_NAME = "activation"

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

    def forward_logits(self, x, training=False):
        return x  # this layer's input is the logits

    def activate_logits(self, logits):
        return batch_ops.activation(logits, self.activation)

    def backward_logits(self, x, dlogits, training=False):
        return dlogits, []

    def get_config(self):
        return {"name": self.name, "activation": self.activation}


class ReLU(Activation):
    """max(x, 0) as its own layer (Keras ReLU with default arguments)."""

    DEFAULT_NAME = "re_lu"

    def __init__(self, name=None):
        super().__init__("relu", name)

    def get_config(self):
        return {"name": self.name}
