"""The undoable edits of a Document: one QUndoCommand per user action.

A drag stroke pushes one command per mouse move; consecutive commands with the same stroke id merge
(QUndoCommand.mergeWith) so the whole stroke is one undo step. Structural edits (layers, input size,
a whole session) swap complete snapshots, because a layer moved to another input width is rebuilt and
would otherwise lose its weights on undo.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack
from shiboken6 import Shiboken

PAINT_CELLS_ID = 1001
PAINT_WEIGHTS_ID = 1002
SET_WEIGHTS_ID = 1003


@dataclass(frozen=True)
class Snapshot:
    """Everything a structural edit may change: the input, the layers and their weights."""

    input: np.ndarray
    layers: tuple
    weights: tuple  # per layer: list of arrays, or None when the layer is not built
    training: bool
    seed: int


class DocumentCommand(QUndoCommand):
    """An edit of a Document, which it holds weakly. The Document owns its undo stack and the stack its commands:
    a strong reference back was a cycle that only the garbage collector freed, and freeing it there let the
    stack's destructor delete commands whose Python objects the collector was tearing down (a segfault in
    QUndoStack::clear, now and then, between tests). Held weakly, a Document goes when its last user lets go."""

    def __init__(self, doc, text: str):
        super().__init__(text)
        self._doc_ref = weakref.ref(doc)

    @property
    def _doc(self):
        return self._doc_ref()


class PaintCellsCommand(DocumentCommand):
    """Set input cells to values; merges with the next paint of the same stroke."""

    def __init__(self, doc, changes: dict, stroke_id=None, text="Paint input"):
        super().__init__(doc, text)
        self._changes = changes  # cell -> (old, new)
        self._stroke_id = stroke_id

    def id(self) -> int:
        return PAINT_CELLS_ID if self._stroke_id is not None else -1

    def mergeWith(self, other) -> bool:
        if not isinstance(other, PaintCellsCommand) or other._stroke_id != self._stroke_id:
            return False
        for cell, (old, new) in other._changes.items():
            first_old = self._changes[cell][0] if cell in self._changes else old
            self._changes[cell] = (first_old, new)
        self.setObsolete(all(old == new for old, new in self._changes.values()))  # painted back: no step
        return True

    def redo(self):
        self._doc._write_cells({c: new for c, (_, new) in self._changes.items()})

    def undo(self):
        self._doc._write_cells({c: old for c, (old, _) in self._changes.items()})


class PaintWeightsCommand(DocumentCommand):
    """Set single kernel weights of one layer; merges within a stroke."""

    def __init__(self, doc, layer_index: int, changes: dict, stroke_id=None, text="Paint weight"):
        super().__init__(doc, text)
        self._layer_index = layer_index
        self._changes = changes  # weight index -> (old, new)
        self._stroke_id = stroke_id

    def id(self) -> int:
        return PAINT_WEIGHTS_ID if self._stroke_id is not None else -1

    def mergeWith(self, other) -> bool:
        if (
            not isinstance(other, PaintWeightsCommand)
            or other._stroke_id != self._stroke_id
            or other._layer_index != self._layer_index
        ):
            return False
        for w, (old, new) in other._changes.items():
            first_old = self._changes[w][0] if w in self._changes else old
            self._changes[w] = (first_old, new)
        self.setObsolete(all(old == new for old, new in self._changes.values()))
        return True

    def redo(self):
        self._doc._write_kernel(self._layer_index, {w: new for w, (_, new) in self._changes.items()})

    def undo(self):
        self._doc._write_kernel(self._layer_index, {w: old for w, (old, _) in self._changes.items()})


class SetWeightsCommand(DocumentCommand):
    """Replace all weights of one layer (bias edits, presets, filter reorder); merges within a stroke."""

    def __init__(self, doc, layer_index: int, old: list, new: list, stroke_id=None, text="Set weights"):
        super().__init__(doc, text)
        self._layer_index = layer_index
        self._old = old
        self._new = new
        self._stroke_id = stroke_id

    def id(self) -> int:
        return SET_WEIGHTS_ID if self._stroke_id is not None else -1

    def mergeWith(self, other) -> bool:
        if (
            not isinstance(other, SetWeightsCommand)
            or other._stroke_id != self._stroke_id
            or other._layer_index != self._layer_index
        ):
            return False
        self._new = other._new
        return True

    def redo(self):
        self._doc._write_weights(self._layer_index, self._new)

    def undo(self):
        self._doc._write_weights(self._layer_index, self._old)


class SnapshotCommand(DocumentCommand):
    """Swap between two complete snapshots (layer insert/remove/move/replace, resize, open)."""

    def __init__(self, doc, before: Snapshot, after: Snapshot, first_level: int, text: str):
        super().__init__(doc, text)
        self._before = before
        self._after = after
        self._first_level = first_level

    def redo(self):
        # The first redo builds new layers; keep their weights so a later redo gives the same numbers.
        self._after = self._doc._restore(self._after, self._first_level)

    def undo(self):
        self._doc._restore(self._before, self._first_level)


class CallCommand(DocumentCommand):
    """A small edit given as two functions of the Document (training toggle, dropout mask)."""

    def __init__(self, doc, do, undo, text: str):
        super().__init__(doc, text)
        self._do = do
        self._undo = undo

    def redo(self):
        self._do(self._doc)

    def undo(self):
        self._undo(self._doc)


class TrainedWeightsCommand(DocumentCommand):
    """A whole training run as one undo step: every layer's weights before the run and after it.

    The weights are already in the layers when it is pushed (the run showed them as it went), so the
    first redo writes nothing."""

    def __init__(self, doc, before: list, after: list, text: str):
        super().__init__(doc, text)
        self._before, self._after = before, after
        self._applied = True

    def redo(self):
        if not self._applied:
            self._doc._write_all_weights(self._after)
        self._applied = False

    def undo(self):
        self._doc._write_all_weights(self._before)


class EditStack(QUndoStack):
    """The Document's undo stack. `guard`, when set, sees every command before it is pushed: a training run
    uses it to pause before an edit of the pipeline lands (ui/training_run.py)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.guard = None

    @staticmethod
    def release(stack: "EditStack") -> None:
        """Delete the commands now, while every object they reach is whole (the Document's finaliser)."""
        if Shiboken.isValid(stack):
            stack.clear()

    def push(self, command):
        if self.guard is not None:
            self.guard(command)
        super().push(command)
