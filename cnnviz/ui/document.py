"""The Document: the only owner of cnnviz's state (input, pipeline, outputs, selection, probe).

Widgets never own state: they render the Document and send edits back through its intent methods
(`set_layer_param`, `add_layer`, `remove_layer`, `move_layer`, `paint_weights`, `set_bias`, ...), each of
which validates once (ConfigError, nothing changed) and pushes one QUndoCommand on the one QUndoStack.
Value edits (painting) recompute lazily through a zero-timer, so many edits within one event-loop turn cost
one recompute, starting at the first changed layer; layer edits recompute at once so `pipeline` and
`outputs` always agree when their signal is emitted.

The signals say what changed, so each view updates only what it shows:
    inputChanged()          input values (a new input shape also emits structureChanged)
    structureChanged()      layers added, removed or moved, a new input shape, a whole new session
    layerChanged(i)         layer i's config (same number of layers): levels i.. may have new shapes
    weightsChanged(i)       layer i's weights or dropout mask: its shapes and config are unchanged
    trainingChanged(bool)   training / inference mode
    outputsChanged(i)       levels i.. recomputed (follows every edit above)
    pipelineChanged()       structureChanged or layerChanged: for views that show every layer's config
    selectionChanged(i), probeChanged(Probe | None), errorChanged(str)
Queries (probes, shapes) never build layers or change anything.

Levels: level 0 is the input, level i the output of layer i (1-based, as `Layer.index`).
"""

from __future__ import annotations

import itertools
import logging
import weakref
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.core import ConfigError, filter_preset
from cnnviz.core.layers import layer_from_config, layer_to_config
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.provenance import product_mask, receptive_field_axes, weight_footprint_mask, weights_reaching_mask
from cnnviz.ui.commands import (
    CallCommand,
    EditStack,
    PaintCellsCommand,
    PaintWeightsCommand,
    SetWeightsCommand,
    Snapshot,
    SnapshotCommand,
    TrainedWeightsCommand,
)
from cnnviz.ui.new_layers import (
    copy_layer,
    filter_axis,
    keep_kernel,
    new_layer,
    reordered_filters,
    spread_kernel,
    without_filter,
)

log = logging.getLogger(__name__)

_stroke_ids = itertools.count(1)


def new_stroke_id() -> int:
    """A fresh id for one mouse stroke: every edit sent with it merges into one undo step."""
    return next(_stroke_ids)


@dataclass
class Probe:
    """What to light up: boolean masks of cells per level and of kernel weights per layer."""

    level: int
    cell: tuple | None  # the probed output cell, or None for a weight probe
    fields: dict = field(default_factory=dict)  # level -> bool array of the level's shape (H, W, C)
    weights: dict = field(default_factory=dict)  # layer index -> bool array of the kernel's shape
    pinned: bool = False
    weight: tuple | None = None  # the probed kernel index of a weight probe


class Document(QObject):
    inputChanged = Signal()
    structureChanged = Signal()
    layerChanged = Signal(int)
    weightsChanged = Signal(int)
    trainingChanged = Signal(bool)
    pipelineChanged = Signal()
    outputsChanged = Signal(int)
    selectionChanged = Signal(int)
    probeChanged = Signal(object)
    errorChanged = Signal(str)

    def __init__(self, pipeline=None, input=None, parent=None):
        super().__init__(parent)
        if pipeline is None:
            from cnnviz.core.presets import seed_input, seed_pipeline

            pipeline = seed_pipeline()
            input = seed_input() if input is None else input
        if input is None:
            input = np.zeros(pipeline.input_shape, np.float32)
        self.undo_stack = EditStack(self)
        weakref.finalize(self, EditStack.release, self.undo_stack)
        self._input = _as_input(input)
        self._pipeline = pipeline
        self._pipeline.build()
        self._training = False
        self._class_names: tuple = ()
        self._selected = 1 if pipeline.layers else 0
        self._probe: Probe | None = None
        self._error: str | None = None
        self._dirty: int | None = None
        self._dirty_rows: tuple[int, int] | None = None  # the input rows a pending input edit changed
        self._outputs: list[np.ndarray] = []
        self._computed_from: np.ndarray | None = None  # the input `outputs` were computed from (None: stale)
        self._change: dict = {}  # level -> (its array before the last recompute, the rows that changed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._recompute)
        self._recompute_now(0)

    # ----------------------------------------------------------------- state
    @property
    def input(self) -> np.ndarray:
        return self._input

    @property
    def pipeline(self):
        return self._pipeline

    @property
    def outputs(self) -> list[np.ndarray]:
        return self._outputs

    @property
    def levels(self) -> list[np.ndarray]:
        return [self._input] + list(self._outputs)

    @property
    def training(self) -> bool:
        return self._training

    @property
    def class_names(self) -> tuple:
        """The classes a classifier's last level stands for, in label order (the data's); () unknown."""
        return self._class_names

    def set_class_names(self, names):
        """Name the classes (the training data's): the labels of the probability bars. No undo step: they
        describe the data, they are not an edit of the model."""
        names = tuple(str(n) for n in names)
        if names != self._class_names:
            self._class_names = names
            self.outputsChanged.emit(len(self._pipeline.layers))  # the last level redraws with its labels

    @property
    def selected_layer(self) -> int:
        return self._selected

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def probe(self) -> Probe | None:
        return self._probe

    def layer(self, index: int):
        """Layer by 1-based index."""
        return self._pipeline.layers[index - 1]

    def level_label(self, level: int) -> str:
        return "Input" if level == 0 else self.layer(level).label

    def level_shape(self, level: int) -> tuple:
        arrays = self.levels
        return tuple(arrays[level].shape) if level < len(arrays) else ()

    # ----------------------------------------------------------------- value edits
    def paint_cells(self, cells, value: float, stroke_id=None, text="Paint input"):
        h, w, c = self._input.shape
        value = float(np.float32(value))  # what a cell holds: 0.1 over a painted 0.1 is no edit
        changes = {}
        for cell in cells:
            r, col, ch = (int(v) for v in cell)
            if 0 <= r < h and 0 <= col < w and 0 <= ch < c:
                old = float(self._input[r, col, ch])
                if old != value:
                    changes[(r, col, ch)] = (old, value)
        if changes:
            self.undo_stack.push(PaintCellsCommand(self, changes, stroke_id, text))

    def set_input(self, array, text="Set input", spread: bool = True):
        """Replace the whole input (fill, random, examples, resize); validated before anything changes.

        A new channel count gives the first kernel layer's filters one slice per channel: `spread` copies the
        old slices scaled by old/new channels, else they stay as they are and new slices are 0."""
        array = _as_input(array)
        if array.shape != self._input.shape:
            self._validate(array.shape, self._pipeline.layers)
        before = self._snapshot()
        weights = (None,) * len(before.layers)  # as the layers hold them when it lands (a run pauses first)
        if array.shape != self._input.shape:
            # Layers keep their weights where the channel count still fits; the first redo records them.
            weights = _spread_channels(before.layers, before.weights, self._input.shape[2], array.shape[2], spread)
        after = Snapshot(array, before.layers, weights, self._training, before.seed)
        self.undo_stack.push(SnapshotCommand(self, before, after, 0, text))

    def set_weights(self, layer_index: int, weights, stroke_id=None, text="Set weights"):
        layer = self.layer(layer_index)
        old = layer.get_weights()
        new = [np.array(w, np.float32) for w in weights]
        _check_weights(layer, new)
        self.undo_stack.push(SetWeightsCommand(self, layer_index, old, new, stroke_id, text))

    def paint_weights(self, layer_index: int, weight_indices, value: float, stroke_id=None, text="Paint weight"):
        """`value` into the kernel at each index: one command, as paint_cells (a drag's line of cells)."""
        kernel = self.layer(layer_index).get_weights()[0]
        value = float(np.float32(value))  # what the kernel holds, as paint_cells
        changes = {}
        for weight_index in weight_indices:
            widx = tuple(int(i) for i in weight_index)
            old = float(kernel[widx])
            if old != value:
                changes[widx] = (old, value)
        if changes:
            self.undo_stack.push(PaintWeightsCommand(self, layer_index, changes, stroke_id, text))

    def set_bias(self, layer_index: int, o: int, value: float):
        weights = self.layer(layer_index).get_weights()
        weights[1][o] = value
        self.set_weights(layer_index, weights, text=f"Bias of filter {o + 1} = {value:g}")

    def apply_filter_preset(self, layer_index: int, o: int, name: str):
        """Put preset `name` (at the layer's kernel size) into every channel slice of filter `o`."""
        layer = self.layer(layer_index)
        weights = layer.get_weights()
        index = [slice(None)] * 4
        index[filter_axis(layer)] = o
        weights[0][tuple(index)] = filter_preset(name, layer.kernel_size)[:, :, None]
        self.set_weights(layer_index, weights, text=f"Filter {o + 1} = {name}")

    def move_filter(self, layer_index: int, o: int, p: int):
        """Swap filters o and p (and their maps)."""
        layer = self.layer(layer_index)
        order = list(range(layer.filters))
        order[o], order[p] = order[p], order[o]
        self.set_weights(layer_index, reordered_filters(layer, order), text=f"{layer.label}: move filter {o + 1}")

    # ----------------------------------------------------------------- layer edits (intents)
    def set_layer_param(self, layer_index: int, name: str, value, text=None) -> bool:
        """Set one parameter of layer `layer_index`; False when it already has that value.

        Refused (ConfigError naming the layer, the parameter and the arithmetic) before anything changes.
        """
        layer = self.layer(layer_index)
        if layer.get_config().get(name) == value:
            return False
        new = layer.replace(**{name: value})
        self.replace_layer(layer_index, new, text or f"{layer.label}: {name} = {value}")
        return True

    def add_layer(self, kind: str, position: int | None = None) -> int:
        """A new layer of class name `kind` after level `position` (default: after the selected layer);
        returns its index and selects it."""
        pos = self._selected if position is None else max(0, min(int(position), len(self._pipeline.layers)))
        self.insert_layer(pos, new_layer(kind, self.level_shape(pos)))
        self.select_layer(pos + 1)
        return pos + 1

    def duplicate_layer(self, layer_index: int) -> int:
        """A copy of layer `layer_index` (config and weights) right after it; selected."""
        layer = self.layer(layer_index)
        copy = copy_layer(layer, self.level_shape(layer_index)[2])  # it sits after the original
        self.insert_layer(layer_index, copy, f"Duplicate {layer.label}")
        self.select_layer(layer_index + 1)
        return layer_index + 1

    def add_filter(self, layer_index: int):
        layer = self.layer(layer_index)
        self.set_layer_param(layer_index, "filters", layer.filters + 1, f"{layer.label}: add a filter")

    def remove_filter(self, layer_index: int, o: int):
        layer = self.layer(layer_index)
        self.replace_layer(layer_index, without_filter(layer, o), f"{layer.label}: remove filter {o + 1}")

    # ----------------------------------------------------------------- structural edits
    def replace_layer(self, layer_index: int, layer, text=None):
        layers = list(self._pipeline.layers)
        layers[layer_index - 1] = layer
        self._push_layers(layers, layer_index, text or f"Change {self.layer(layer_index).label}")

    def insert_layer(self, pos: int, layer, text=None):
        """Insert before 0-based position `pos` (the layer becomes layer pos+1)."""
        layers = list(self._pipeline.layers)
        pos = max(0, min(pos, len(layers)))
        layers.insert(pos, layer)
        self._push_layers(layers, pos + 1, text or f"Add {type(layer).__name__}")

    def remove_layer(self, layer_index: int, text=None):
        layers = list(self._pipeline.layers)
        removed = layers.pop(layer_index - 1)
        self._push_layers(layers, layer_index, text or f"Remove {removed.label}")

    def move_layer(self, i: int, j: int, text=None):
        """Move layer i (1-based) so that it becomes layer j."""
        if i == j:
            return
        layers = list(self._pipeline.layers)
        layer = layers.pop(i - 1)
        layers.insert(j - 1, layer)
        self._push_layers(layers, min(i, j), text or f"Move {layer.label}")

    def set_pipeline(self, pipeline, input, text="Open session"):
        """Replace the whole session (File > Open, New); validated first."""
        array = _as_input(input)
        layers = list(pipeline.layers)
        self._validate(array.shape, layers)
        weights = tuple(l.get_weights() if l.built else None for l in layers)
        before = self._snapshot()
        after = Snapshot(array, tuple(layers), weights, self._training, getattr(pipeline, "seed", 0))
        self.undo_stack.push(SnapshotCommand(self, before, after, 0, text))
        self.set_class_names(())  # a new model: its data (and so its classes) is named again, if at all
        self.select_layer(1 if layers else 0)

    def set_training(self, training: bool):
        training = bool(training)
        if training != self._training:
            self.undo_stack.push(
                CallCommand(
                    self,
                    lambda doc: doc._apply_training(training),
                    lambda doc: doc._apply_training(not training),
                    "Training mode" if training else "Inference mode",
                )
            )

    def new_dropout_mask(self, layer_index: int):
        layer = self.layer(layer_index)
        old = None if getattr(layer, "mask", None) is None else layer.mask.copy()
        layer.new_mask()
        new = None if layer.mask is None else layer.mask.copy()
        self._set_mask(layer_index, old)
        self.undo_stack.push(
            CallCommand(
                self,
                lambda doc: doc._set_mask(layer_index, new),
                lambda doc: doc._set_mask(layer_index, old),
                f"New mask for {layer.label}",
            )
        )

    def select_layer(self, index: int):
        index = max(0, min(int(index), len(self._pipeline.layers)))
        if index != self._selected:
            self._selected = index
            self.selectionChanged.emit(index)

    # ----------------------------------------------------------------- recompute
    def flush(self):
        """Run a pending recompute now (tests and benchmarks call this instead of waiting)."""
        if self._dirty is not None:
            self._timer.stop()
            self._recompute()

    def _schedule(self, level: int, rows: tuple[int, int] | None = None):
        """Recompute from `level` at the next event-loop turn; `rows`: an input edit changed only those rows
        (edits before the turn add theirs; any other edit makes it a recompute of everything from `level`)."""
        if self._dirty is None:
            self._dirty_rows = rows
        elif level == self._dirty == 0 and rows is not None and self._dirty_rows is not None:
            self._dirty_rows = (min(rows[0], self._dirty_rows[0]), max(rows[1], self._dirty_rows[1]))
        else:
            self._dirty_rows = None
        self._dirty = level if self._dirty is None else min(self._dirty, level)
        self._timer.start()

    def _recompute(self):
        if self._dirty is None:
            return
        level, self._dirty = self._dirty, None
        rows, self._dirty_rows = self._dirty_rows, None
        if self._recompute_now(level, rows):
            self.outputsChanged.emit(level)

    def changed_rows(self, level: int, shown) -> tuple[int, int] | None:
        """The rows (r0, r1) of `level` in which it can differ from `shown` (that level's array as a view
        drew it) after the last recompute, or None: any row may (another array, or a whole recompute)."""
        before, rows = self._change.get(level, (None, None))
        return rows if before is shown and shown is not None else None

    def _recompute_now(self, level: int, rows: tuple[int, int] | None = None) -> bool:
        """`rows`: only these input rows changed since the outputs were computed (Pipeline.rerun_rows)."""
        start = max(level - 1, 0)
        previous = self._outputs if start > 0 and len(self._outputs) >= start else None
        if previous is None:
            start = 0
        before = [self._computed_from, *self._outputs]
        self._change = {}
        try:
            if rows is not None and level == 0 and self._computed_from is not None and not self._training:
                self._outputs, changed = self._pipeline.rerun_rows(self._input, self._outputs, rows)
                self._change = {i: (before[i], span) for i, span in changed.items()}
            else:
                self._outputs = self._pipeline.run(self._input, training=self._training, start=start,
                                                   previous=previous)
        except Exception as exc:  # a ConfigError, or a bug in the core: show it, keep the last good outputs
            if not isinstance(exc, ConfigError):
                log.exception("recompute failed")
            self._set_error(str(exc))
            self._computed_from = None  # the outputs are not this input's: the next edit recomputes them all
            if [o.shape for o in self._outputs] != self._output_shapes():  # last good outputs no longer fit
                self._outputs = self._zero_outputs()
            return True
        self._computed_from = self._input
        self._set_error(None)
        return True

    def _output_shapes(self) -> list[tuple]:
        try:
            return self._pipeline.output_shapes()
        except ConfigError:
            return [(1, 1, 1)] * len(self._pipeline.layers)

    def _zero_outputs(self):
        return [np.zeros(shape, np.float32) for shape in self._output_shapes()]

    def _set_error(self, message: str | None):
        if message != self._error:
            self._error = message
            self.errorChanged.emit(message or "")

    # ----------------------------------------------------------------- command primitives
    def _write_cells(self, values: dict):
        new = self._input.copy()
        for cell, v in values.items():
            new[cell] = v
        self._input = new
        self.inputChanged.emit()
        rows = [cell[0] for cell in values]
        self._schedule(0, (min(rows), max(rows) + 1) if rows else None)

    def _write_kernel(self, layer_index: int, values: dict):
        layer = self.layer(layer_index)
        weights = layer.get_weights()
        for w, v in values.items():
            weights[0][w] = v
        layer.set_weights(weights)
        self._weights_written(layer_index)

    def _write_weights(self, layer_index: int, weights: list):
        self.layer(layer_index).set_weights([w.copy() for w in weights])
        self._weights_written(layer_index)

    def all_weights(self) -> list:
        """Every layer's weights (copies), in layer order; [] for a layer without weights."""
        return [layer.get_weights() if layer.built else [] for layer in self._pipeline.layers]

    def show_trained_weights(self, weights):
        """Weights a training run has reached ({layer index: arrays} of the layers it changed, or a list of
        every layer's), shown at once and pushed on no undo stack: the run becomes one undo step when it
        ends (commit_training). Only those layers' weightsChanged and one recompute from the first follow."""
        self._write_all_weights(weights)

    def commit_training(self, before: list, text: str):
        """The run that started from `before` as one undo step, ending at the weights the layers hold now."""
        self.undo_stack.push(TrainedWeightsCommand(self, before, self.all_weights(), text))

    def _write_all_weights(self, weights):
        first = None
        items = weights.items() if isinstance(weights, dict) else enumerate(weights, start=1)
        for i, w in items:
            if w:
                self.layer(i).set_weights([np.array(a, np.float32) for a in w])
                self.weightsChanged.emit(i)
                first = i if first is None else min(first, i)
        if first is not None:
            self._schedule(first)

    def _weights_written(self, layer_index: int):
        self.weightsChanged.emit(layer_index)
        self._schedule(layer_index)

    def _apply_training(self, training: bool):
        self._training = training
        self.trainingChanged.emit(training)
        self._schedule(1)

    def _set_mask(self, layer_index: int, mask):
        layer = self.layer(layer_index)
        if mask is None:
            layer.mask = None
        else:
            layer.set_mask(mask.copy())
        self.weightsChanged.emit(layer_index)
        self._schedule(layer_index)

    def _snapshot(self) -> Snapshot:
        layers = tuple(self._pipeline.layers)
        weights = tuple(l.get_weights() if l.built else None for l in layers)
        return Snapshot(self._input, layers, weights, self._training, self._pipeline.seed)

    def _validate(self, input_shape, layers):
        """Raise ConfigError if the layers cannot run on input_shape; touches none of them."""
        copies = [layer_from_config(layer_to_config(l)) for l in layers]
        Pipeline(tuple(input_shape), copies, seed=self._pipeline.seed).output_shapes()

    def _push_layers(self, layers, first_level: int, text: str):
        self._validate(self._input.shape, layers)
        before = self._snapshot()
        after = Snapshot(self._input, tuple(layers), (None,) * len(layers), self._training, self._pipeline.seed)
        self.undo_stack.push(SnapshotCommand(self, before, after, first_level, text))

    def _restore(self, snap: Snapshot, first_level: int) -> Snapshot:
        """Make `snap` current, recompute at once, and return it with the weights as built."""
        input_changed = snap.input is not self._input
        old_layers, old_shape = tuple(self._pipeline.layers), self._input.shape
        pipeline = Pipeline(tuple(snap.input.shape), list(snap.layers), seed=snap.seed)
        pipeline.build()
        for layer, weights in zip(snap.layers, snap.weights):
            if weights is not None:
                layer.set_weights([w.copy() for w in weights])
        self._pipeline = pipeline
        self._input = snap.input
        self._training = snap.training
        self._dirty = None
        self._timer.stop()
        if input_changed:
            first_level = 0
        self._recompute_now(first_level)
        if self._selected > len(pipeline.layers):
            self.select_layer(len(pipeline.layers))
        self._refresh_probe()
        if input_changed:
            self.inputChanged.emit()
        changed = [i for i, (a, b) in enumerate(zip(old_layers, snap.layers), start=1) if a is not b]
        if len(old_layers) != len(snap.layers) or snap.input.shape != old_shape or len(changed) > 1:
            self.structureChanged.emit()
            self.pipelineChanged.emit()
        elif changed:
            self.layerChanged.emit(changed[0])
            self.pipelineChanged.emit()
        self.outputsChanged.emit(first_level)
        return self._snapshot()

    # ----------------------------------------------------------------- probes
    def set_probe(self, level: int, cell, pinned: bool = False):
        """Light `cell` of `level` and everything it comes from; a click pins it (click again: unpin)."""
        cell = tuple(int(v) for v in cell)
        current = self._probe
        if current is not None and current.pinned and not pinned:
            return
        if pinned and current is not None and current.pinned and (current.level, current.cell) == (level, cell):
            self._emit_probe(None)
            return
        if not pinned and current is not None and (current.level, current.cell, current.pinned) == (level, cell, False):
            return
        self._emit_probe(self._cell_probe(level, cell, pinned))

    def set_weight_probe(self, layer_index: int, weight, pinned: bool = False):
        """Light every input cell that kernel weight `weight` of layer `layer_index` multiplies."""
        weight = tuple(int(v) for v in weight)
        current = self._probe
        if current is not None and current.pinned and not pinned:
            return
        same = current is not None and (current.weight, current.level) == (weight, layer_index)
        if pinned and same and current.pinned:
            self._emit_probe(None)
            return
        if same and not pinned and not current.pinned:
            return  # the mouse moved within the same weight: nothing new to light
        self._emit_probe(self._weight_probe(layer_index, weight, pinned))

    def clear_probe(self, pinned: bool = False):
        """Clear a hover probe; a pinned probe is cleared only with pinned=True."""
        if self._probe is not None and (pinned or not self._probe.pinned):
            self._emit_probe(None)

    def _emit_probe(self, probe):
        self._probe = probe
        self.probeChanged.emit(probe)

    def _cell_probe(self, level: int, cell: tuple, pinned: bool) -> Probe:
        shapes = [lv.shape for lv in self.levels]
        fields: dict = {}
        weights: dict = {}
        try:
            axes = receptive_field_axes(self._pipeline, shapes, level, cell)
            fields = {lvl: product_mask(shapes[lvl], a) for lvl, a in axes.items()}
            # the weights of every kernel layer on the way down that multiplied a cell of the field
            for lvl in range(1, level + 1):
                reached = weights_reaching_mask(self.layer(lvl), axes[lvl], shapes[lvl - 1])
                if reached is not None and reached.any():
                    weights[lvl] = reached
        except (ConfigError, IndexError, ValueError):
            log.debug("no provenance for level %s cell %s", level, cell, exc_info=True)
            fields = {}
        if level not in fields and level < len(shapes):
            fields[level] = np.zeros(shapes[level], bool)
            fields[level][cell] = True
        return Probe(level, cell, fields, weights, pinned)

    def _weight_probe(self, layer_index: int, weight: tuple, pinned: bool) -> Probe:
        fields: dict = {}
        weights: dict = {}
        try:
            layer = self.layer(layer_index)
            fields[layer_index - 1] = weight_footprint_mask(layer, self.level_shape(layer_index - 1), weight)
            if layer.built:
                weights[layer_index] = np.zeros(layer.get_weights()[0].shape, bool)
                weights[layer_index][weight] = True
        except (ConfigError, IndexError, ValueError):
            log.debug("no footprint for layer %s weight %s", layer_index, weight, exc_info=True)
        return Probe(layer_index, None, fields, weights, pinned, weight)

    def _refresh_probe(self):
        p = self._probe
        if p is None:
            return
        try:
            if p.cell is None:
                self._probe = self._weight_probe(p.level, p.weight, p.pinned)
            elif p.level < len(self.levels) and all(0 <= v < s for v, s in zip(p.cell, self.level_shape(p.level))):
                self._probe = self._cell_probe(p.level, p.cell, p.pinned)
            else:
                self._probe = None
        except Exception:  # the probed layer may be gone
            self._probe = None
        self.probeChanged.emit(self._probe)


def _as_input(array) -> np.ndarray:
    a = np.array(array, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or min(a.shape) < 1:
        raise ConfigError(f"Input: expected an (H, W, C) array, got shape {a.shape}", param="input")
    if not np.all(np.isfinite(a)):
        raise ConfigError("Input: every value must be a finite number", param="input")
    return np.ascontiguousarray(a)


def _spread_channels(layers, weights, old_channels: int, new_channels: int, spread: bool = True) -> tuple:
    """Weights for an input with a new channel count: None (keep as built) for every layer but the first
    kernel layer, whose filters get one slice per new channel: taken cyclically from the old slices and
    scaled by old/new so that a grey picture copied into every channel gives the same outputs (`spread`),
    or the old slices unchanged and 0 for new channels."""
    out = [None] * len(layers)
    if new_channels == old_channels:
        return tuple(out)
    for i, (layer, w) in enumerate(zip(layers, weights)):
        if getattr(layer, "TRAINABLE", False):
            if w:
                kernel = spread_kernel(layer, w[0], new_channels) if spread else keep_kernel(layer, w[0], new_channels)
                out[i] = [kernel] + list(w[1:])
            break  # later layers see the first kernel layer's output: their channel counts do not change
    return tuple(out)


def _check_weights(layer, weights):
    expected = [w.shape for w in layer.get_weights()]
    got = [w.shape for w in weights]
    if expected != got:
        raise ConfigError(f"{layer.label}: expected weights of shapes {expected}, got {got}", param="weights")
    if not all(np.all(np.isfinite(w)) for w in weights):
        raise ConfigError(f"{layer.label}: every weight must be a finite number", param="weights")
