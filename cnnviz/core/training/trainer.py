"""Train a pipeline as Keras trains a model: train_on_batch, fit (a generator of per-step progress),
evaluate and predict (docs/training.md).

One training step is Keras's train_step: the forward pass in training mode (Dropout draws a fresh mask,
BatchNormalization uses the batch's statistics and moves its averages), the loss of that pass (the value
train_on_batch returns: before the update), the backward pass, and one optimizer step on the weights of
the trainable layers, in place. When the pipeline ends in a softmax or sigmoid, a crossentropy is taken
from the logits before it, as Keras on TensorFlow does.

A step whose loss or new weights are not finite is not taken: training stops there with a message that
names the step, the loss and the learning rate. The weights kept are the last ones whose loss was finite:
when a step's loss is not finite, the update before it is taken back too (its weights are finite but
already overflow the maps).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from cnnviz.core.errors import ConfigError
from cnnviz.core.layers import Layer
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.training.losses import METRICS, get_loss
from cnnviz.core.training.optimizers import get_optimizer


class TrainingDiverged(ArithmeticError):
    """A NaN or infinite loss or weight: the step was not taken (the weights are the last finite ones)."""

    def __init__(self, step: int, loss: float, learning_rate: float, what: str, kept="those before this step"):
        super().__init__(f"training stopped at step {step}: {what} (loss {loss:.6g}, learning rate "
                         f"{learning_rate:.6g}); the weights are {kept} — try a smaller learning rate")
        self.step, self.loss, self.learning_rate = step, loss, learning_rate


@dataclass(frozen=True)
class Progress:
    """What fit reports after each step.

    `loss` and `metrics` are this epoch's running means so far, weighted by batch size (at an epoch's
    last step: Keras's history values); `batch_loss` is this step's own loss before its update.
    `val_loss`/`val_metrics` are given at the last step of an epoch when there is validation data.
    `stopped` holds the divergence message when training stopped at this step. `elapsed` is the wall
    time since fit started; `examples_per_second` counts the training steps' own time only (not
    validation, not the caller's work between steps).
    """

    step: int
    epoch: int
    batch: int
    steps_per_epoch: int
    batch_loss: float
    loss: float
    metrics: dict[str, float]
    elapsed: float
    examples_per_second: float
    learning_rate: float
    val_loss: float | None = None
    val_metrics: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None


class Trainer:
    """Trainer(pipeline, loss="mean_squared_error", optimizer="rmsprop", metrics=("accuracy",), seed=0).

    loss and optimizer take Keras names or Keras configs ({"class_name": "Adam", "config": {...}}).
    The seed decides the shuffling and Dropout's masks: the same pipeline, settings and seed give the
    same run, weight for weight.
    """

    def __init__(self, pipeline: Pipeline, loss="mean_squared_error", optimizer="rmsprop", metrics=(), seed=0):
        if not isinstance(pipeline, Pipeline):
            raise ConfigError(f"Trainer: not a pipeline: {pipeline!r}", param="pipeline")
        if not pipeline.layers:
            raise ConfigError("Trainer: the pipeline has no layers to train", param="pipeline")
        missing = [layer.label for layer in pipeline.layers if type(layer)._backward is Layer._backward]
        if missing:
            raise ConfigError(f"Trainer: {', '.join(missing)} cannot be trained through: no backward pass",
                              param="pipeline")
        self.pipeline = pipeline
        self.loss = get_loss(loss)
        self.optimizer = get_optimizer(optimizer)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ConfigError(f"Trainer: unknown metrics {unknown} (known: {', '.join(METRICS)})", param="metrics")
        self.metrics = tuple(metrics)
        self.steps = 0
        self._last_finite: list[np.ndarray] | None = None  # the weights the last step started from
        pipeline.build()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Start the shuffling and every Dropout's masks again from `seed`."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ConfigError(f"Trainer: seed must be an integer, got {seed!r}", param="seed")
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)
        for i, layer in enumerate(self.pipeline.layers):
            if hasattr(layer, "restart_masks"):
                layer.restart_masks((self.seed, i) if layer.seed is None else (self.seed, i, layer.seed))

    def use_pipeline(self, pipeline: Pipeline) -> None:
        """Go on training `pipeline` (an edited copy of this one) with the optimizer's state as it is: its
        moments and step count belong to the trained weight arrays by position, so those must keep their
        number and shapes. Layers whose configs are unchanged take the new weights in place (a Dropout
        keeps its mask stream); otherwise the new layers are used, their masks restarted from the seed.
        Refused (ConfigError naming the first difference) with nothing changed."""
        if not isinstance(pipeline, Pipeline):
            raise ConfigError(f"Trainer: not a pipeline: {pipeline!r}", param="pipeline")
        pipeline.build()
        old = self.pipeline
        if pipeline.input_shape != old.input_shape:
            raise ConfigError(f"Trainer: the input is now {pipeline.input_shape}, the data is {old.input_shape}",
                              param="pipeline")
        if len(pipeline.layers) != len(old.layers):
            raise ConfigError(f"Trainer: the pipeline now has {len(pipeline.layers)} layers, the run trains "
                              f"{len(old.layers)}", param="pipeline")
        before, after = (_trained_shapes(p) for p in (old, pipeline))
        if before != after:
            k = next(k for k in range(max(len(before), len(after))) if before[k:k + 1] != after[k:k + 1])
            said = [w[k] if k < len(w) else "nothing" for w in (before, after)]
            raise ConfigError(f"Trainer: the trained weights would change shape ({said[0]} becomes {said[1]}): "
                              "the optimizer's state no longer fits them", param="pipeline")
        self._last_finite = None  # the edited weights are the ones to keep from here
        if all(type(a) is type(b) and a.get_config() == b.get_config() for a, b in zip(old.layers, pipeline.layers)):
            for a, b in zip(old.layers, pipeline.layers):
                a.set_weights(b.get_weights())
                a.trainable = b.trainable
            return
        self.pipeline = pipeline
        for i, layer in enumerate(pipeline.layers):
            if hasattr(layer, "restart_masks"):
                layer.restart_masks((self.seed, i) if layer.seed is None else (self.seed, i, layer.seed))

    # ---- the parts of one step ------------------------------------------------------------------------
    def _check(self, x, y=None) -> tuple[np.ndarray, np.ndarray | None]:
        x = np.asarray(x)
        shape = self.pipeline.input_shape
        if x.ndim != len(shape) + 1 or x.shape[1:] != shape or len(x) == 0:
            raise ConfigError(f"Trainer: inputs must be a batch of shape (N, {', '.join(map(str, shape))}), "
                              f"got {x.shape}", param="x")
        if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
            raise ConfigError("Trainer: inputs must be finite numbers", param="x")
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ConfigError(f"Trainer: {len(x)} inputs but {len(y)} targets", param="y")
        return x.astype(np.float32, copy=False), y

    def _logits_head(self):
        """The last layer when its output is a softmax or sigmoid and the loss a crossentropy, else None."""
        last = self.pipeline.layers[-1]
        head = getattr(last, "logits_activation", lambda: None)()
        return last if head and self.loss.CROSSENTROPY and not self.loss.from_logits else None

    def _forward(self, x, training: bool):
        """(inputs of every layer, output, logits or None)."""
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run shows as a non-finite loss
            return self._forward_layers(x, training)

    def _forward_layers(self, x, training: bool):
        inputs, current = [], x
        head = self._logits_head()
        layers = self.pipeline.layers
        for layer in layers[:-1] if head else layers:
            inputs.append(current)
            current = layer.forward(current, training)
        if head is None:
            return inputs, current, None
        inputs.append(current)
        logits = head.forward_logits(current, training)
        return inputs, head.activate_logits(logits), logits

    def _loss(self, y, output, logits):
        value, grad = self.loss.value_and_grad(y, output, logits)
        metrics = {name: METRICS[name](y, output) for name in self.metrics}
        return value, grad, metrics

    def _variables(self) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
        return _variables_of(self.pipeline)

    def _backward(self, inputs, grad, logits, training: bool, lowest: int) -> dict[int, list[np.ndarray]]:
        """Weight gradients per layer, from the last layer down to `lowest` (no layer below it trains)."""
        layers = self.pipeline.layers
        grads: dict[int, list[np.ndarray]] = {}
        dy = grad.astype(np.float32)
        top = len(layers) - 1
        if logits is not None:  # the loss gave ∂L/∂logits: the head's own activation is already inside it
            dy, grads[top] = layers[top].backward_logits(inputs[top], dy, training)
            top -= 1
        for i in range(top, lowest, -1):
            dy, grads[i] = layers[i].backward(inputs[i], dy, training)
        if lowest <= top:
            grads[lowest] = layers[lowest].weight_gradients(inputs[lowest], dy, training)
        return grads

    def _step(self, x, y) -> tuple[float, dict[str, float]]:
        step = self.steps + 1
        arrays, places = self._variables()
        # A diverging run overflows (huge weights, then inf): the checks below catch it, numpy need not warn.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            inputs, output, logits = self._forward(x, training=True)
            value, grad, metrics = self._loss(y, output, logits)
            if not math.isfinite(value):
                self._restore_last_finite(arrays)
                raise TrainingDiverged(step, value, self.optimizer.lr, f"the loss is {value}",
                                       "the last weights whose loss was finite (before the step before)"
                                       if self._last_finite is not None else "those before this step")
            if arrays:
                grads = self._backward(inputs, grad, logits, True, min(i for i, _ in places))
                self._last_finite = [a.copy() for a in arrays]  # this step's loss was finite with these
                if not self.optimizer.apply(arrays, [grads[i][k] for i, k in places]):
                    self._last_finite = None
                    raise TrainingDiverged(step, value, self.optimizer.lr, "a weight would become NaN or infinite",
                                           "those before this step, the last whose loss was finite")
        self.steps = step
        return value, metrics

    def _restore_last_finite(self, arrays):
        """Back to the weights of the last step whose loss was finite: the ones after it already overflow."""
        if self._last_finite is not None and len(self._last_finite) == len(arrays):
            for a, good in zip(arrays, self._last_finite):
                if a.shape == good.shape:
                    a[...] = good
        self._last_finite = None

    def optimizer_state(self) -> dict:
        """The optimizer's state (Optimizer.get_state) with the place of each weight array it holds slots
        for: "places" [(layer number from 1, index in get_weights())], in the order of "slots"."""
        _, places = self._variables()
        return {**self.optimizer.get_state(), "places": [(i + 1, k) for i, k in places]}

    # ---- Keras's API ---------------------------------------------------------------------------------------
    def train_on_batch(self, x, y, return_metrics: bool = False):
        """One step on this batch; returns its loss before the update (and the metrics, when asked)."""
        x, y = self._check(x, y)
        value, metrics = self._step(x, y)
        return (value, metrics) if return_metrics else value

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, seed: int | None = None) -> Iterator[Progress]:
        """Yield a Progress after every step; stop iterating to stop training (the weights stay as they are).

        As Keras: validation_split takes the last fraction of the samples, before any shuffling; shuffle
        draws a new order each epoch (from the trainer's seed, or from `seed` when given: see reseed); the
        last batch may be smaller.
        """
        x, y = self._check(x, y)
        if seed is not None:
            self.reseed(seed)
        if not (isinstance(epochs, int) and epochs >= 1):
            raise ConfigError(f"Trainer: epochs must be a positive integer, got {epochs!r}", param="epochs")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ConfigError(f"Trainer: batch_size must be a positive integer, got {batch_size!r}", param="batch_size")
        if not 0 <= validation_split < 1:
            raise ConfigError(f"Trainer: validation_split must be in [0, 1), got {validation_split!r}",
                              param="validation_split")
        if validation_data is None and validation_split > 0:
            cut = int(len(x) * (1 - validation_split))
            if cut < 1:
                raise ConfigError(f"Trainer: validation_split {validation_split} leaves no training samples "
                                  f"of {len(x)}", param="validation_split")
            validation_data, x, y = (x[cut:], y[cut:]), x[:cut], y[:cut]
        if validation_data is not None:
            validation_data = self._check(*validation_data)
        steps = math.ceil(len(x) / batch_size)
        start, seen, busy = time.perf_counter(), 0, 0.0  # busy: seconds spent in training steps
        for epoch in range(1, epochs + 1):
            order = self._rng.permutation(len(x)) if shuffle else np.arange(len(x))
            totals, count = {"loss": 0.0, **{m: 0.0 for m in self.metrics}}, 0
            for batch in range(1, steps + 1):
                part = order[(batch - 1) * batch_size : batch * batch_size]
                learning_rate = self.optimizer.lr
                t0 = time.perf_counter()
                try:
                    value, metrics = self._step(x[part], y[part])
                except TrainingDiverged as stop:
                    yield self._progress(epoch, batch, steps, stop.loss, totals, count, start, (seen, busy),
                                         learning_rate, stopped=str(stop))
                    return
                busy += time.perf_counter() - t0
                seen += len(part)
                count += len(part)
                for name, v in (("loss", value), *metrics.items()):
                    totals[name] += v * len(part)
                val = self.evaluate(*validation_data, batch_size=batch_size) if (
                    validation_data is not None and batch == steps) else None
                yield self._progress(epoch, batch, steps, value, totals, count, start, (seen, busy), learning_rate, val)

    def _progress(self, epoch, batch, steps, value, totals, count, start, throughput, learning_rate, val=None,
                  stopped=None) -> Progress:
        elapsed = time.perf_counter() - start
        seen, busy = throughput
        means = {k: v / count for k, v in totals.items()} if count else {k: math.nan for k in totals}
        return Progress(
            step=self.steps + (1 if stopped else 0), epoch=epoch, batch=batch, steps_per_epoch=steps,
            batch_loss=value, loss=means.pop("loss"), metrics=means, elapsed=elapsed,
            examples_per_second=seen / busy if busy > 0 else 0.0, learning_rate=learning_rate,
            val_loss=None if val is None else val["loss"],
            val_metrics={} if val is None else {k: v for k, v in val.items() if k != "loss"}, stopped=stopped)

    def evaluate(self, x, y, batch_size: int = 32) -> dict[str, float]:
        """{"loss": ..., metric: ...} in inference mode, batch-size-weighted means over the batches (Keras)."""
        x, y = self._check(x, y)
        totals = {"loss": 0.0, **{m: 0.0 for m in self.metrics}}
        for lo in range(0, len(x), batch_size):
            _, output, logits = self._forward(x[lo : lo + batch_size], training=False)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # an overflow shows as inf
                value, _, metrics = self._loss(y[lo : lo + batch_size], output, logits)
            for name, v in (("loss", value), *metrics.items()):
                totals[name] += v * len(output)
        return {k: v / len(x) for k, v in totals.items()}

    def predict(self, x, batch_size: int = 32) -> np.ndarray:
        """The pipeline's outputs for a batch of inputs, in inference mode."""
        x, _ = self._check(x)
        return np.concatenate([self._forward(x[lo : lo + batch_size], training=False)[1]
                               for lo in range(0, len(x), batch_size)])


def _variables_of(pipeline: Pipeline) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """The weight arrays training changes, and where each sits (layer, index in get_weights())."""
    arrays, places = [], []
    for i, layer in enumerate(pipeline.layers):
        for k, (attr, trainable) in enumerate(zip(layer.weight_attributes(), layer.trainable_weights())):
            if trainable and layer.trainable:
                arrays.append(getattr(layer, attr))
                places.append((i, k))
    return arrays, places


def _trained_shapes(pipeline: Pipeline) -> list[str]:
    """"Conv2D #1 kernel 3×3×1×4" for every array training changes, in the optimizer's order."""
    return [f"{pipeline.layers[i].label} {pipeline.layers[i].weight_attributes()[k]} {'×'.join(map(str, a.shape))}"
            for a, (i, k) in zip(*_variables_of(pipeline))]
