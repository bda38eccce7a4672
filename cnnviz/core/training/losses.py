"""Keras's losses with their gradients, and the accuracy metric (docs/training.md).

Each loss gives one value per sample (per pixel for a map output: every axis but the last), and the
batch loss is Keras's default reduction "sum_over_batch_size": Σ values / number of values.

Computed as Keras on TensorFlow computes them, which is not the textbook in three places:
- probabilities are clipped to [ε, 1 − ε] (ε = 1e-7, 1 − ε rounded to float32) and a clipped value
  passes no gradient: a saturated prediction stops learning;
- categorical_crossentropy renormalises the probabilities before clipping, sparse_categorical_crossentropy
  clips before renormalising;
- when the model's last step is a Keras softmax or sigmoid, every crossentropy is computed from the
  logits before it (no clipping), which the Trainer arranges through `logits=`.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.batch_ops import sigmoid, softmax
from cnnviz.core.errors import ConfigError

EPSILON = float(np.float32(1e-7))
ONE_MINUS_EPSILON = float(np.float32(1) - np.float32(1e-7))  # 0.99999988: 1 − it is 1.1920929e-7
REDUCTIONS = ("sum_over_batch_size", "sum")


def _logsumexp(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[..., 0]


def _clip(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """clip(p, ε, 1 − ε) and where the gradient passes (TF's minimum/maximum pass it at the bounds)."""
    return np.clip(p, EPSILON, ONE_MINUS_EPSILON), (p >= EPSILON) & (p <= ONE_MINUS_EPSILON)


class Loss:
    """Base class: Keras name and config, the reduction, value and gradient."""

    name = "loss"
    CROSSENTROPY = True
    KERAS_CLASS = "Loss"

    def __init__(self, from_logits: bool = False, reduction: str = "sum_over_batch_size"):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise ConfigError(f"{self.name}: from_logits must be true or false, got {from_logits!r}",
                              param="from_logits")
        if reduction not in REDUCTIONS:
            raise ConfigError(f"{self.name}: reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}",
                              param="reduction")
        self.from_logits = bool(from_logits)
        self.reduction = reduction

    def __call__(self, y_true, y_pred) -> float:
        return self.value_and_grad(y_true, y_pred)[0]

    def value_and_grad(self, y_true, y_pred, logits=None) -> tuple[float, np.ndarray]:
        """(batch loss, ∂loss/∂y_pred), or with `logits` (the input of the model's final softmax or
        sigmoid) the crossentropy of those logits and ∂loss/∂logits, as Keras on TensorFlow does."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = self._targets(y_true, y_pred)
        if logits is not None and self.CROSSENTROPY:
            values, grad = self._from_logits(y_true, np.asarray(logits, dtype=np.float64))
        elif self.from_logits:
            values, grad = self._from_logits(y_true, y_pred)
        else:
            values, grad = self._from_probabilities(y_true, y_pred)
        count = values.size if self.reduction == "sum_over_batch_size" else 1
        return float(values.sum() / count), grad / count

    def _targets(self, y_true, y_pred) -> np.ndarray:
        y_true = np.asarray(y_true, dtype=np.float64)
        if y_true.shape != y_pred.shape:
            raise ConfigError(f"{self.name}: targets have shape {y_true.shape}, the predictions {y_pred.shape}",
                              param="y")
        return y_true

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits}


class MeanSquaredError(Loss):
    """Per sample the mean over the last axis of (y_true − y_pred)²."""

    name = "mean_squared_error"
    CROSSENTROPY = False
    KERAS_CLASS = "MeanSquaredError"

    def __init__(self, reduction: str = "sum_over_batch_size"):
        super().__init__(False, reduction)

    def _from_probabilities(self, t, p):
        k = p.shape[-1]
        return ((p - t) ** 2).mean(axis=-1), 2 * (p - t) / k

    _from_logits = _from_probabilities

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class CategoricalCrossentropy(Loss):
    """−Σ t·log q with q = clip(p / Σp) (renormalise, then clip), or logsumexp(z) − Σ t·z from logits."""

    name = "categorical_crossentropy"
    KERAS_CLASS = "CategoricalCrossentropy"

    def _from_probabilities(self, t, p):
        total = p.sum(axis=-1, keepdims=True)
        q = p / total
        clipped, passes = _clip(q)
        dq = np.where(passes, -t / clipped, 0)
        # through q = p / Σp: ∂/∂p_j = (dq_j − Σ_k dq_k·q_k) / Σp
        grad = (dq - (dq * q).sum(axis=-1, keepdims=True)) / total
        return -(t * np.log(clipped)).sum(axis=-1), grad

    def _from_logits(self, t, z):
        mass = t.sum(axis=-1, keepdims=True)
        return mass[..., 0] * _logsumexp(z) - (t * z).sum(axis=-1), softmax(z) * mass - t


class SparseCategoricalCrossentropy(Loss):
    """Integer class targets: −log c_k + log Σ_j c_j with c = clip(p) (clip, then renormalise), or
    logsumexp(z) − z_k from logits."""

    name = "sparse_categorical_crossentropy"
    KERAS_CLASS = "SparseCategoricalCrossentropy"

    def _targets(self, y_true, y_pred):
        y_true = np.asarray(y_true)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]  # (N, 1) labels, as Keras accepts them
        classes = y_pred.shape[-1]
        if y_true.shape != y_pred.shape[:-1]:
            raise ConfigError(f"{self.name}: class labels have shape {y_true.shape}, the predictions "
                              f"{y_pred.shape} need {y_pred.shape[:-1]} (one integer class per sample)", param="y")
        if y_true.size and (not np.all(np.mod(y_true, 1) == 0) or y_true.min() < 0 or y_true.max() >= classes):
            raise ConfigError(f"{self.name}: class labels must be integers 0..{classes - 1}", param="y")
        return np.eye(classes)[y_true.astype(np.intp)]  # one-hot: both forms below read it

    def _from_probabilities(self, t, p):
        clipped, passes = _clip(p)
        total = clipped.sum(axis=-1, keepdims=True)
        values = np.log(total[..., 0]) - np.log((t * clipped).sum(axis=-1))
        return values, np.where(passes, 1 / total - t / clipped, 0)

    def _from_logits(self, t, z):
        return _logsumexp(z) - (t * z).sum(axis=-1), softmax(z) - t

    def get_config(self):
        return {**super().get_config(), "ignore_class": None}


class BinaryCrossentropy(Loss):
    """Per sample the mean over the last axis of −(t·log c + (1 − t)·log(1 − c)), c = clip(p), or of
    max(z, 0) − z·t + log(1 + e^−|z|) from logits."""

    name = "binary_crossentropy"
    KERAS_CLASS = "BinaryCrossentropy"

    def _from_probabilities(self, t, p):
        c, passes = _clip(p)
        values = -(t * np.log(c) + (1 - t) * np.log(1 - c))
        return values.mean(axis=-1), np.where(passes, (1 - t) / (1 - c) - t / c, 0) / p.shape[-1]

    def _from_logits(self, t, z):
        values = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        return values.mean(axis=-1), (sigmoid(z) - t) / z.shape[-1]


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (MeanSquaredError, CategoricalCrossentropy, SparseCategoricalCrossentropy,
                              BinaryCrossentropy)
}
_ALIASES = {"mse": "mean_squared_error", **{cls.KERAS_CLASS: cls.name for cls in LOSSES.values()}}
_DEFAULTS = {"label_smoothing": 0.0, "axis": -1, "ignore_class": None}  # Keras config keys cnnviz keeps at default


def get_loss(identifier) -> Loss:
    """A Loss from a Keras name ("mse", "categorical_crossentropy" ...), a Keras config
    {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": true}}, or a Loss."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        config, key = {}, identifier
    elif isinstance(identifier, dict) and "class_name" in identifier:
        config, key = dict(identifier.get("config") or {}), identifier["class_name"]
    else:
        raise ConfigError(f"loss must be a name or a Keras config, got {identifier!r}", param="loss")
    cls = LOSSES.get(_ALIASES.get(key, key))
    if cls is None:
        raise ConfigError(f"unknown loss {key!r} (known: {', '.join(LOSSES)})", param="loss")
    config.pop("name", None)
    for option, default in _DEFAULTS.items():
        if option in config and config.pop(option) != default:
            raise ConfigError(f"{cls.name}: {option} other than {default!r} is not supported", param=option)
    try:
        return cls(**config)
    except TypeError as exc:
        raise ConfigError(f"{cls.name}: bad config keys ({exc})", param="loss") from None


def loss_to_config(loss: Loss) -> dict:
    return {"class_name": loss.KERAS_CLASS, "config": loss.get_config()}


def accuracy(y_true, y_pred) -> float:
    """Keras's "accuracy" as compile() resolves it from the shapes: binary (threshold 0.5) for one output,
    sparse categorical for integer labels, else categorical (argmax equal); the mean over samples."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.shape[-1] == 1:
        return float((y_true.reshape(y_pred.shape) == (y_pred > 0.5)).mean())
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    labels = y_true if y_true.ndim < y_pred.ndim else y_true.argmax(axis=-1)
    return float((y_pred.argmax(axis=-1) == labels).mean())


METRICS = {"accuracy": accuracy, "acc": accuracy}
