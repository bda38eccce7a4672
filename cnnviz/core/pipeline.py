"""A chain of layers on one input shape: shape inference, build, run (from the first changed layer)."""

from __future__ import annotations

import copy
import math

import numpy as np

from cnnviz.core.errors import ConfigError
from cnnviz.core.layers import Layer, _is_int, layer_from_config, layer_to_config
from cnnviz.core.limits import MAX_CHANNELS, MAX_LAYERS, MAX_LEVEL_VALUES, MAX_SAVED_VALUES, MAX_SIDE, MAX_VALUES


def _check_pipeline_input_shape(input_shape) -> tuple[int, int, int]:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = ()
    if len(shape) != 3 or not all(_is_int(v) for v in shape) or min(shape) < 1:
        raise ConfigError(f"Input: shape must be three positive integers (H, W, C), got {input_shape!r}",
                          param="input_shape", layer="Input")
    h, w, c = (int(v) for v in shape)
    if h > MAX_SIDE or w > MAX_SIDE or c > MAX_CHANNELS or h * w * c > MAX_VALUES:
        raise ConfigError(
            f"Input: {h}×{w}×{c} is too large to compute interactively "
            f"(at most {MAX_SIDE}×{MAX_SIDE} cells, {MAX_CHANNELS} channels and 2^26 values)",
            param="input_shape", layer="Input",
        )
    return h, w, c


def _check_input_array(x, shape) -> np.ndarray:
    """The input as float32, or ConfigError labelled "Input" for a wrong shape, type or value."""
    x = np.asarray(x)
    if x.shape != shape:
        raise ConfigError(f"Input: array has shape {x.shape}, the pipeline expects {shape}", param="input",
                          layer="Input")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ConfigError(f"Input: the array must hold real numbers, got {x.dtype}", param="input", layer="Input")
    with np.errstate(over="ignore"):  # values beyond float32 become inf and are refused below
        x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ConfigError("Input: the array holds NaN or infinite values (or values too large for float32)",
                          param="input", layer="Input")
    return x


class Pipeline:
    """Layers applied in order to an (H, W, C) input; layer i (1-based) produces level i."""

    def __init__(self, input_shape, layers, seed: int = 0):
        self.input_shape = _check_pipeline_input_shape(input_shape)
        if not _is_int(seed):
            raise ConfigError(f"Pipeline: seed must be an integer, got {seed!r}", param="seed")
        self.seed = int(seed)
        self.layers = layers

    @property
    def layers(self) -> list[Layer]:
        return self._layers

    @layers.setter
    def layers(self, layers) -> None:
        layers = list(layers)
        if len(layers) > MAX_LAYERS:
            raise ConfigError(f"Pipeline: {len(layers):,} layers, more than {MAX_LAYERS}: too many to show and "
                              "compute interactively", param="layers")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise ConfigError(f"Pipeline: not a layer: {layer!r}", param="layers")
        self._layers = layers
        _number_and_name(layers)

    def __len__(self) -> int:
        return len(self._layers)

    def output_shapes(self) -> list[tuple[int, ...]]:
        """Every layer's output shape; the first impossible layer raises ConfigError naming it."""
        shapes, shape = [], self.input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        _check_totals(self.input_shape, self._layers, shapes)
        return shapes

    def _rng(self, i: int) -> np.random.Generator:
        # One stream per position: inserting a layer does not change the initial weights of the others.
        return np.random.default_rng((self.seed, i))

    def build(self) -> list[tuple[int, int, int]]:
        """Build every layer on its input shape (existing weights stay when the channel count fits);
        returns the output shapes."""
        self.output_shapes()  # refuses an impossible or too large pipeline before any weight is made
        shapes, shape = [], self.input_shape
        for i, layer in enumerate(self._layers):
            if not layer.built or layer.input_shape != shape:
                layer.build(shape, self._rng(i))
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        return shapes

    def run(self, x, training: bool = False, start: int = 0, previous=None) -> list[np.ndarray]:
        """Every layer's output in order.

        `start` is the 0-based position of the first layer to compute (= the 1-based index of the
        last unchanged layer); outputs before it are taken from `previous`, an earlier run's result,
        when they still have the shapes this pipeline gives (otherwise everything is computed).
        """
        x = _check_input_array(x, self.input_shape)
        if not _is_int(start) or not 0 <= start <= len(self._layers):
            raise ConfigError(f"Pipeline: start must be in 0..{len(self._layers)}, got {start!r}", param="start")
        shapes = self.build()
        if start and (previous is None or len(previous) < start
                      or any(np.shape(previous[i]) != shapes[i] for i in range(start))):
            start = 0  # nothing (valid) to reuse
        outputs = [np.asarray(previous[i]) for i in range(start)]
        current = outputs[-1] if outputs else x
        for layer in self._layers[start:]:
            current = layer(current, training=training)
            outputs.append(current)
        return outputs

    def rerun_rows(self, x, previous, rows: tuple[int, int]) -> tuple[list[np.ndarray], dict]:
        """The inference outputs after an edit of input rows [r0, r1) only, from `previous` (the outputs
        before it): each layer recomputes just the output rows those rows reach (Layer.rows_reached and
        call_rows), the same numbers as `run` bit for bit, and only the rows among them that came out
        different go on to the next layer. A layer that cannot computes its whole output, and the rows in
        which it differs from before go on. Returns (outputs, changed): changed[i] is
        (o0, o1), the rows of level i that may differ from before ((o, o): none), or None for any of it
        (a vector, or no usable `previous`: then this is `run`).
        """
        x = _check_input_array(x, self.input_shape)
        shapes = self.build()
        if previous is None or [np.shape(p) for p in previous] != shapes:
            return self.run(x), dict.fromkeys(range(len(shapes) + 1))
        span = (max(0, int(rows[0])), min(self.input_shape[0], int(rows[1])))
        outputs, changed, current = [], {0: span}, x
        for i, layer in enumerate(self._layers):
            if span is not None and span[0] >= span[1]:  # nothing changed from here on
                outputs.extend(previous[i:])
                changed.update({j: (0, 0) for j in range(i + 1, len(shapes) + 1)})
                break
            current, span = _rerun_layer(layer, current, np.asarray(previous[i]), span)
            outputs.append(current)
            changed[i + 1] = span
        return outputs, changed

    @staticmethod
    def levels(x, outputs) -> list[np.ndarray]:
        """[x] + outputs: level 0 is the input, level i the output of layer i."""
        return [x, *outputs]

    # ---- config and weights ----------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"input_shape": list(self.input_shape), "layers": [layer_to_config(layer) for layer in self._layers]}

    @classmethod
    def from_config(cls, config: dict, seed: int = 0) -> Pipeline:
        if not isinstance(config, dict) or not {"input_shape", "layers"} <= set(config):
            raise ConfigError("Pipeline: config must be a dict with input_shape and layers", param="config")
        if not isinstance(config["layers"], (list, tuple)):
            raise ConfigError("Pipeline: layers must be a list", param="layers")
        return cls(config["input_shape"], [layer_from_config(c) for c in config["layers"]],
                   seed=config.get("seed", seed))

    def get_weights(self) -> list[list[np.ndarray]]:
        self.build()
        return [layer.get_weights() for layer in self._layers]

    def set_weights(self, weights) -> None:
        """One list per layer (empty for layers without weights), in Keras layouts."""
        weights = list(weights)
        if len(weights) != len(self._layers):
            raise ConfigError(f"Pipeline: expected {len(self._layers)} weight lists, got {len(weights)}",
                              param="weights")
        self.build()
        for layer, arrays in zip(self._layers, weights):
            layer.set_weights(arrays)

    def copy(self) -> Pipeline:
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        chain = " → ".join(["×".join(map(str, self.input_shape))] + [layer.label for layer in self._layers])
        return f"Pipeline({chain})"


def _rerun_layer(layer: Layer, x: np.ndarray, before: np.ndarray, span) -> tuple[np.ndarray, tuple | None]:
    """One layer of rerun_rows: its output on x where input rows `span` (None: any) changed, and its
    output rows that changed."""
    reached = layer.rows_reached(x.shape, span) if span is not None and x.ndim == 3 else None
    if reached is not None:
        if reached[0] >= reached[1]:
            return before, reached
        with np.errstate(over="ignore", invalid="ignore"):
            band = layer.call_rows(x, reached)
        if np.isfinite(band).all():  # else the whole call below refuses the overflow by name
            first, last = reached
            differs = np.flatnonzero((band != before[first:last]).reshape(len(band), -1).any(axis=1))
            if not len(differs):  # a ReLU or a maximum that kept its numbers: nothing changes from here
                return before, (0, 0)
            y = before.copy()
            y[first:last] = band
            return y, (first + int(differs[0]), first + int(differs[-1]) + 1)  # the rows that differ go on
    y = layer(x)
    if y.ndim != 3:
        return y, (None if not np.array_equal(y, before) else (0, 0))
    differs = np.flatnonzero((y != before).any(axis=(1, 2)))
    return y, (int(differs[0]), int(differs[-1]) + 1) if len(differs) else (0, 0)


def _check_totals(input_shape, layers, shapes) -> None:
    """Each layer may be within its own limits and the pipeline still too large: the values of all levels
    (a 2×2 input through strides 4096 makes a 4099×4099 map) and the numbers a session file holds (one
    64×64 kernel on 64 channels and 64 filters is 16.8 million weights). The first layer to cross a total
    is named, with the sum."""
    inputs = math.prod(input_shape)
    values, saved = inputs, inputs
    for layer, in_shape, shape in zip(layers, [input_shape, *shapes], shapes):
        size, weights = math.prod(shape), sum(math.prod(w) for w in layer.weight_shapes(in_shape))
        values, saved = values + size, saved + weights
        if values > MAX_LEVEL_VALUES:
            raise layer._error(
                f"output {'×'.join(map(str, shape))} = {size:,} values brings the input and the outputs up to it "
                f"to {values:,} values, more than 2^23 = {MAX_LEVEL_VALUES:,}: too large to compute interactively",
                "input")
        if saved > MAX_SAVED_VALUES:
            raise layer._error(
                f"{weights:,} weights bring the input ({inputs:,} values) and the weights up to it to {saved:,} "
                f"numbers, more than 2^20 = {MAX_SAVED_VALUES:,}: too many to save and reload in about a second",
                "filters")


def _number_and_name(layers: list[Layer]) -> None:
    """Set 1-based indices and make names unique with Keras-like suffixes (conv2d, conv2d_1, ...).

    Layers that already sat in a pipeline (index set) keep their names; a newly added layer that
    collides is the one renamed, so inserting a Conv2D never renames the existing "conv2d".
    """
    taken = {layer.name for layer in layers}
    seen: set[str] = set()
    next_suffix: dict[str, int] = {}  # per base name, so n layers of one kind cost n steps, not n²
    for layer in sorted(layers, key=lambda layer: layer.index is None):  # stable: old layers first
        if layer.name in seen:
            base = layer.name
            k = next_suffix.get(base, 1)
            while f"{base}_{k}" in taken:
                k += 1
            next_suffix[base] = k + 1
            layer.name = f"{base}_{k}"
            taken.add(layer.name)
        seen.add(layer.name)
    for i, layer in enumerate(layers):
        layer.index = i + 1
