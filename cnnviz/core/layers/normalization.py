"""BatchNormalization at inference: every channel scaled and shifted by its moving statistics (docs/layers.md)."""

from __future__ import annotations

import numpy as np

from cnnviz.core import batch_ops, grad_ops
from cnnviz.core.layers.base import CellToCell, Layer
from cnnviz.core.layers.description import Param, Terms, TorchCode, Weight

_TORCH_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


class BatchNormalization(CellToCell, Layer):
    """Keras BatchNormalization (axis −1) at inference: y = γ·(x − μ)/√(σ² + ε) + β per channel, with the moving
    mean μ and variance σ², computed as TensorFlow does: inv = γ/√(σ² + ε), y = x·inv + (β − μ·inv)."""

    DEFAULT_NAME = "batch_normalization"
    TRAINABLE = True
    HELP = ("Normalises every channel with the mean and variance it had over the training data, then scales and "
            "shifts it: y = γ·(x − μ)/√(σ² + ε) + β, one γ, β, μ and σ² per channel.")
    PARAMS = (
        Param("epsilon", "float", "Epsilon", "A small number added to the variance before its square root, so that "
              "a channel with (almost) no variance does not divide by zero.", default=1e-3, minimum=0),
        Param("center", "bool", "Center", "Add the learned shift β after normalising (without it β is 0).",
              default=True),
        Param("scale", "bool", "Scale", "Multiply by the learned scale γ after normalising (without it γ is 1).",
              default=True),
    )
    WEIGHTS = (
        Weight("gamma", ("channel",), "The scale γ each normalised channel is multiplied by.", init="ones", in_axis=0),
        Weight("beta", ("channel",), "The shift β added to each normalised channel.", in_axis=0),
        Weight("moving_mean", ("channel",), "The mean μ of each channel over the training data.", trainable=False,
               in_axis=0),
        Weight("moving_variance", ("channel",), "The variance σ² of each channel over the training data.",
               init="ones", trainable=False, in_axis=0),
    )
    KERAS_EXTRAS = {"axis": -1}
    # momentum and the rest change training only (the moving statistics' updates), not the forward pass here
    KERAS_IGNORED = ("momentum", "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                     "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
                     "gamma_constraint", "synchronized", "renorm", "renorm_clipping", "renorm_momentum")

    MOMENTUM = 0.99  # Keras's default: how much of the moving statistics a training step keeps

    def __init__(self, epsilon=1e-3, center=True, scale=True, name=None):
        super().__init__(name)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 <= epsilon < np.inf:
            raise self._error(f"epsilon must be a number ≥ 0, got {epsilon!r}", "epsilon")
        self.epsilon = float(epsilon)
        self.center = self._bool(center, "center")
        self.scale = self._bool(scale, "scale")

    def _has_weight(self, name):
        return {"gamma": self.scale, "beta": self.center}.get(name, True)

    def _weight_shape(self, name, channels):
        return (channels,)

    def _check_weights(self, arrays):
        bad = np.flatnonzero(arrays["moving_variance"].astype(np.float64) + self.epsilon <= 0)
        if len(bad):
            c = int(bad[0])
            raise self._error(f"moving_variance + epsilon must be > 0 (a variance is ≥ 0), got "
                              f"{arrays['moving_variance'][c]:g} + {self.epsilon:g} in channel {c + 1}", "weights")

    def _inv_and_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """inv = γ/√(σ² + ε) and offset = β − μ·inv, in float32 as TensorFlow orders them."""
        inv = np.float32(1) / np.sqrt(self.moving_variance + np.float32(self.epsilon))
        if self.scale:
            inv = inv * self.gamma
        offset = (self.beta if self.center else np.float32(0)) - self.moving_mean * inv
        return inv.astype(np.float32), offset.astype(np.float32)

    def _call(self, x, training):
        inv, offset = self._inv_and_offset()
        return x * inv + offset

    def _forward(self, x, training):
        """Inference: the moving statistics. Training (a batch, as Keras's train_step): the batch's mean and
        biased variance (÷N) over every axis but the channels, and the moving statistics move towards them:
        μ ← momentum·μ + (1 − momentum)·mean (docs/training.md)."""
        if not training:  # the same order as _call, in x's dtype
            return batch_ops.batch_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance, self.epsilon)
        axes = tuple(range(x.ndim - 1))
        mean, variance = x.mean(axis=axes), x.var(axis=axes)
        keep = np.float32(self.MOMENTUM)
        self.moving_mean[...] = self.moving_mean * keep + mean * (1 - keep)
        self.moving_variance[...] = self.moving_variance * keep + variance * (1 - keep)
        return batch_ops.batch_norm(x, self.gamma, self.beta, mean, variance, self.epsilon)

    def _backward(self, x, dy, training):
        """Inference: the moving statistics are constants. Training: the gradient also flows through the
        batch's mean and variance. The moving statistics get zero gradients (they are not trained)."""
        if training:
            dx, dgamma, dbeta = grad_ops.batch_norm_training(x, dy, self.gamma, self.epsilon)
        else:
            dx, dgamma, dbeta = grad_ops.batch_norm(x, dy, self.gamma, self.moving_mean, self.moving_variance,
                                                    self.epsilon)
        grads = {"gamma": dgamma, "beta": dbeta, "moving_mean": np.zeros_like(self.moving_mean),
                 "moving_variance": np.zeros_like(self.moving_variance)}
        return dx, [grads[w.name] for w in self.weight_specs()]

    def get_config(self):
        return {"name": self.name, "epsilon": self.epsilon, "center": self.center, "scale": self.scale}

    def provenance(self, x, cell, training):
        """One term, x·γ/√(σ² + ε), and the bias β − μ·γ/√(σ² + ε) of the cell's channel."""
        inv, offset = self._inv_and_offset()
        c = cell[-1]
        return Terms([self._term(x, cell, inv[c])], float(offset[c]))

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        module = "nn.BatchNorm2d" if len(in_shape) == 3 else "nn.BatchNorm1d"
        loads = [f"{{ref}}.{_TORCH_NAMES[w.name]}.copy_(torch.from_numpy({{weights}}[{i}]))"
                 for i, w in enumerate(self.weight_specs())]
        return TorchCode(f"{module}({in_shape[-1]}, eps={self.epsilon})",
                         ["# in eval mode it uses the moving statistics, as Keras at inference"], [], loads)
