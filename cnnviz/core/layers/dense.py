"""Dense: the fully connected layer, the lecture's ANN after the flattened maps (docs/layers.md)."""

from __future__ import annotations

import numpy as np

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.layers.base import Layer
from cnnviz.core.layers.description import Param, Terms, TorchCode, Weight
from cnnviz.core.limits import MAX_UNITS

_TORCH_ACTIVATIONS = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "softmax": "nn.Softmax(dim=1)"}


class Dense(Layer):
    """Keras Dense: y = activation(x @ kernel + bias) on the last axis, kernel (in, units).

    On a vector every output is the inner product of the whole vector with one kernel column. On an (H, W, C)
    map Keras does not flatten: every cell's channels are multiplied by the kernel, a 1×1 convolution.
    """

    DEFAULT_NAME = "dense"
    TRAINABLE = True
    HELP = ("Fully connected: every output number is the inner product of all its inputs with one column of "
            "weights, plus a bias (the lecture's ANN). On a map it acts on each cell's channels, like a 1×1 "
            "convolution: put a Flatten before it for a classifier.")
    PARAMS = (
        Param("units", "int", "Units", "How many output numbers (neurons) the layer has: for a classifier, one "
              "per class.", minimum=1, maximum=MAX_UNITS, suggested=10),
        Param("activation", "choice", "Activation", "The function applied to each output: linear (none), relu, "
              "sigmoid, tanh, or softmax (the outputs become probabilities that add up to 1).", default=None,
              choices=ops.ACTIVATIONS, nullable=True, placeholder="linear"),
        Param("use_bias", "bool", "Use bias", "Add one number (the bias) to each output.", default=True),
    )
    WEIGHTS = (Weight("kernel", ("in", "units"), "One column of weights per output: the numbers each input is "
                      "multiplied by.", init="glorot_uniform", in_axis=0),
               Weight("bias", ("unit",), "One number added to each output."))
    INPUT_RANKS = (1, 3)
    CHANNELS_PARAM = "units"

    def __init__(self, units, activation=None, use_bias=True, name=None):
        super().__init__(name)
        self.units = self._int(units, "units", 1, MAX_UNITS)
        # Keras stores activation=None as "linear": so does cnnviz, so configs round-trip identically.
        self.activation = "linear" if activation is None else self._choice(activation, ops.ACTIVATIONS, "activation")
        self.use_bias = self._bool(use_bias, "use_bias")

    def _has_weight(self, name):
        return name != "bias" or self.use_bias

    def _weight_shape(self, name, channels):
        return (channels, self.units) if name == "kernel" else (self.units,)

    def _output_shape(self, shape):
        return (*shape[:-1], self.units)

    def _intermediates(self, shape, out):
        return [(f"kernel {shape[-1]}×{self.units}", shape[-1] * self.units)]

    def _work(self, shape, out):
        return int(np.prod(shape)) * self.units

    def explain_output_shape(self, input_shape):
        shape = self._check_input_shape(input_shape)
        if len(shape) == 1:
            return [f"length: {self.units} units (each the inner product of the {shape[0]} inputs with its "
                    "kernel column, plus its bias)"]
        h, w, c = shape
        return [f"rows: {h} (unchanged)", f"cols: {w} (unchanged)",
                f"depth: {self.units} units (Dense acts on each cell's {c} channels, like a 1×1 convolution; "
                "a classifier needs a Flatten before it)"]

    def _call(self, x, training):
        return ops.dense(x, self.kernel, self.bias, self.activation)

    def _forward(self, x, training):
        logits = self.forward_logits(x)
        return logits if self.activation == "linear" else self.activate_logits(logits)

    def _backward(self, x, dy, training):
        if self.activation != "linear":  # through the activation first, at the pre-activation sums
            dy = grad_ops.activation(self.forward_logits(x), dy, self.activation)
        return self.backward_logits(x, dy, training)

    def logits_activation(self):
        return self.activation if self.activation in ("softmax", "sigmoid") else None

    def forward_logits(self, x, training=False):
        """The pre-activation sums x · kernel + bias."""
        return batch_ops.dense(x, self.kernel, self.bias)

    def activate_logits(self, logits):
        return batch_ops.activation(logits, self.activation)

    def backward_logits(self, x, dlogits, training=False):
        dx, dkernel, dbias = grad_ops.dense(x, dlogits, self.kernel)
        return dx, [dkernel, dbias] if self.use_bias else [dkernel]

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation, "use_bias": self.use_bias}

    # ---- description ------------------------------------------------------------------------------
    def provenance(self, x, cell, training):
        """y[u] = f(Σ_i x[i]·W[i,u] + b[u]); on a map the sum runs over the cell's channels."""
        *where, u = cell
        inputs = [(i,) for i in range(x.shape[0])] if x.ndim == 1 else [(*where, c) for c in range(x.shape[2])]
        terms = [self._term(x, i, self.kernel[i[-1], u], (i[-1], u)) for i in inputs]
        bias = 0.0 if self.bias is None else float(self.bias[u])
        name = None if self.activation == "linear" else self.activation
        logits = ()
        if name == "softmax":  # every unit's pre-activation sum at this position
            row = x[tuple(where)].astype(np.float64) @ self.kernel.astype(np.float64)
            logits = tuple(float(v) for v in (row if self.bias is None else row + self.bias))
        return Terms(terms, bias, name, logits=logits)

    def field_back(self, input_shape, field):
        if len(input_shape) == 1:  # every output reads every input
            return (np.arange(input_shape[0]),)
        rows, cols, _ = field
        return rows, cols, np.arange(input_shape[2])

    def kernel_reach(self, input_shape, field):
        mask = np.zeros(self.kernel.shape, bool)
        if all(len(axis) for axis in field):
            mask[:, np.asarray(field[-1], int)] = True
        return mask

    def weight_footprint(self, input_shape, weight):
        i = self._kernel_index_check(weight)[0]
        mask = np.zeros(tuple(input_shape), bool)
        mask[..., i] = True
        return mask

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        if len(in_shape) == 1:
            layer = f"nn.Linear({in_shape[0]}, {self.units}, bias={self.use_bias})"
            kernel = "{weights}[0].T"
            comments = []
        else:
            layer = f"nn.Conv2d({in_shape[2]}, {self.units}, kernel_size=1, bias={self.use_bias})"
            kernel = "{weights}[0].T[:, :, None, None]"
            comments = ["# Keras Dense on a map acts on each cell's channels: a 1×1 convolution"]
        ref = "{ref}"
        if self.activation != "linear":
            layer = f"nn.Sequential(\n    {layer},\n    {_TORCH_ACTIVATIONS[self.activation]},\n)"
            ref = "{ref}[0]"
        loads = [f"{ref}.weight.copy_(torch.from_numpy(np.ascontiguousarray({kernel})))"]
        if self.use_bias:
            loads.append(f"{ref}.bias.copy_(torch.from_numpy({{weights}}[1]))")
        return TorchCode(layer, comments, [], loads)
