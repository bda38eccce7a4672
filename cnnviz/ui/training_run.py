"""A training run off the GUI thread and out of its process.

The core's Trainer.fit runs in a process of its own (train_in_process) on a copy of the pipeline, so the
window never waits for a step, never shares Python's GIL with one, and a step never sees a half-made edit.
`TrainingWorker`, in a QThread, starts it and turns its messages into signals: the progress of every step
and a copy of the weights at most SNAPSHOTS_PER_S times a second (and whenever it pauses or ends); the GUI
shows them through Document.show_trained_weights, which pushes no undo step. When the run ends the
Document gets one undo step for all of it (Document.commit_training).

`TrainingRun` is the GUI side: start, pause, step one batch, resume, cancel. Painting the input goes on
while it trains; any other edit (the pipeline, the weights, the input's shape) first stops the run, keeps
what it learned as its undo step, and says so (`interrupted`). Undo and Redo wait while a run is open.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnnviz.core import ConfigError
from cnnviz.core.training import Trainer
from cnnviz.ui.commands import PaintCellsCommand

SNAPSHOTS_PER_S = 15  # the maps, the filters and the prediction follow at this rate, or as fast as they draw


def train_in_process(conn, pipeline, data, settings, metrics, go, cancel, budget, drawn):
    """The run, in its own process (its own GIL: the window's painting never waits for a step): Trainer.fit
    step by step, sending ("progress", [Progress, ...]), ("weights", [...]) at most SNAPSHOTS_PER_S times a
    second and only once the window has drawn the last ones (`drawn`), ("paused", None), and at the end
    ("end", (reason, message, confusion, weights))."""
    def snapshot():
        return [layer.get_weights() if layer.built else [] for layer in pipeline.layers]

    def send(pending, force=False):
        if pending:
            conn.send(("progress", pending))
        if force or drawn.is_set():
            drawn.clear()
            conn.send(("weights", snapshot()))

    reason, message, confusion = "done", "", None
    try:
        trainer = Trainer(pipeline, loss=settings.loss, optimizer=settings.optimizer_config(), metrics=metrics,
                          seed=settings.seed)
        steps = trainer.fit(data.x, data.y, epochs=settings.epochs, batch_size=settings.batch_size,
                            validation_split=settings.validation_split)
        pending, last = [], time.perf_counter()
        while True:
            if not go.is_set():
                send(pending, force=True)
                pending = []
                conn.send(("paused", None))
                go.wait()
            if cancel.is_set():
                reason = "cancelled"
                break
            try:
                progress = next(steps)
            except StopIteration:
                break
            pending.append(progress)
            if progress.stopped:
                reason, message = "diverged", progress.stopped
                break
            with budget.get_lock():
                if budget.value > 0:
                    budget.value -= 1
                    if budget.value == 0:
                        go.clear()
            now = time.perf_counter()
            if now - last >= 1 / SNAPSHOTS_PER_S or progress.val_loss is not None:
                send(pending)
                pending, last = [], now
        steps.close()
        send(pending)
        if reason == "done" and data.classification and settings.validation_split > 0:
            confusion = confusion_matrix(trainer, data, settings.validation_split)
    except ConfigError as e:
        reason, message = "error", str(e)
    conn.send(("end", (reason, message, confusion, snapshot())))
    conn.close()


def confusion_matrix(trainer, data, validation_split) -> np.ndarray:
    """Counts [true class, predicted class] over the validation samples (Keras's split: the last ones)."""
    cut = int(len(data.x) * (1 - validation_split))
    predicted = trainer.predict(data.x[cut:]).argmax(axis=-1)
    classes = len(data.class_names)
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(data.y[cut:], np.int64), predicted), 1)
    return matrix


class TrainingWorker(QObject):
    """Lives in a QThread that starts the training process and turns its messages into signals."""

    progressed = Signal(object)  # list of Progress since the last emission
    weights = Signal(object)  # every layer's weights (copies)
    paused = Signal()
    finished = Signal(str, str)  # reason ("done", "cancelled", "diverged", "error"), message

    def __init__(self, pipeline, data, settings, metrics):
        super().__init__()
        self.pipeline, self.data, self.settings, self.metrics = pipeline, data, settings, metrics
        self.steps = 0
        self.confusion = None  # validation confusion matrix (classes × classes) after a classifier's run
        self.last_weights = [layer.get_weights() if layer.built else [] for layer in pipeline.layers]
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs Qt's threads
        self._context = context
        self._go, self._cancel, self.drawn = context.Event(), context.Event(), context.Event()
        self._go.set()
        self.drawn.set()
        self._budget = context.Value("i", 0)  # steps left before pausing (step mode); 0 = run on

    # called from the GUI thread
    def pause(self):
        self._go.clear()

    def resume(self):
        with self._budget.get_lock():
            self._budget.value = 0
        self._go.set()

    def step(self):
        with self._budget.get_lock():
            self._budget.value = 1
        self._go.set()

    def cancel(self):
        self._cancel.set()
        self._go.set()

    @Slot()
    def run(self):
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=train_in_process, daemon=True, args=(
            send, self.pipeline, self.data, self.settings, self.metrics, self._go, self._cancel, self._budget,
            self.drawn))
        process.start()
        send.close()
        reason, message = "error", "the training process ended without a word"
        while True:
            try:
                kind, payload = receive.recv()
            except EOFError:
                break
            if kind == "progress":
                self.steps = payload[-1].step
                self.progressed.emit(payload)
            elif kind == "weights":
                self.last_weights = payload
                self.weights.emit(payload)
            elif kind == "paused":
                self.paused.emit()
            else:
                reason, message, self.confusion, self.last_weights = payload
                break
        receive.close()
        process.join(10)
        self.finished.emit(reason, message)
        self.thread().quit()  # the GUI thread may be waiting for this thread (stop): no queued quit


class TrainingRun(QObject):
    """Start, pause, step, resume and cancel one run at a time for a Document."""

    progressed = Signal(object)  # one Progress (every step, in order)
    stateChanged = Signal(str)  # "running", "paused", "idle"
    ended = Signal(str, str)  # reason, message (also for an interruption by an edit)

    def __init__(self, document, blocked_actions=(), parent=None):
        super().__init__(parent)
        self.document = document
        self.blocked_actions = list(blocked_actions)  # Undo and Redo: they wait while a run is open
        self.state = "idle"
        self.worker: TrainingWorker | None = None
        self.thread: QThread | None = None
        self.before: list | None = None  # the weights when the run started (its undo step goes back here)
        self.history: list = []  # every Progress of every run since the data was chosen
        self.step_offset = 0  # steps of the earlier runs, so the plot goes on where they stopped
        self.confusion = None
        self._committing = False
        document.undo_stack.guard = self._guard

    @property
    def active(self) -> bool:
        return self.worker is not None

    def start(self, data, settings, metrics=("accuracy",)):
        if self.active:
            return
        settings.check()
        doc = self.document
        doc.flush()
        pipeline = doc.pipeline.copy()
        for i, layer in enumerate(pipeline.layers, start=1):
            layer.trainable = i not in settings.frozen
        Trainer(pipeline.copy(), loss=settings.loss, optimizer=settings.optimizer_config(),
                metrics=metrics if data.classification else ())  # refusals now, in the GUI thread
        self.before = doc.all_weights()
        self.confusion = None
        self.worker = TrainingWorker(pipeline, data, settings, metrics if data.classification else ())
        self.thread = QThread()
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self._on_progress)
        self.worker.weights.connect(self._on_weights)
        self.worker.paused.connect(lambda: self._set_state("paused"))
        self.worker.finished.connect(self._on_finished)
        for action in self.blocked_actions:
            action.blockSignals(True)
            action.setEnabled(False)
        self._set_state("running")
        self.thread.start()

    def pause(self):
        if self.worker is not None:
            self.worker.pause()

    def resume(self):
        if self.worker is not None:
            self.worker.resume()
            self._set_state("running")

    def step(self):
        if self.worker is not None:
            self.worker.step()
            self._set_state("running")

    def cancel(self):
        if self.worker is not None:
            self.worker.cancel()

    def stop(self, reason: str = "cancelled", message: str = "") -> bool:
        """Stop the run now and wait for its thread (close, an edit, a new data set); True when one ran."""
        if self.worker is None:
            return False
        worker = self.worker
        worker.cancel()
        self.thread.wait()
        self._finish(worker, reason, message)
        return True

    def forget(self):
        """Start the plot and the step count again (new data)."""
        self.history, self.step_offset = [], 0

    # ------------------------------------------------------------------ worker signals (queued to this thread)
    def _on_progress(self, batch):
        if self.worker is None or self.sender() is not self.worker:
            return  # a late signal of a run already ended
        for progress in batch:
            self.history.append((self.step_offset, progress))
            self.progressed.emit(progress)

    def _on_weights(self, weights):
        if self.worker is not None and self.sender() is self.worker:
            self.document.show_trained_weights(weights)
            self.document.flush()
            self.worker.drawn.set()

    def _on_finished(self, reason, message):
        if self.worker is not None and self.sender() is self.worker:
            self.thread.wait()
            self._finish(self.worker, reason, message)

    def _finish(self, worker, reason, message):
        self.worker = None
        thread, self.thread = self.thread, None
        thread.deleteLater()
        worker.deleteLater()
        self.document.show_trained_weights(worker.last_weights)  # the last steps may not have been sent
        self.confusion = worker.confusion
        steps = worker.steps
        self.step_offset += steps
        for action in self.blocked_actions:
            action.blockSignals(False)
        stack = self.document.undo_stack
        if self.blocked_actions:
            self.blocked_actions[0].setEnabled(stack.canUndo())
            if len(self.blocked_actions) > 1:
                self.blocked_actions[1].setEnabled(stack.canRedo())
        if steps:
            self._committing = True
            try:
                self.document.commit_training(self.before, f"Train {steps} steps ({worker.data.kind})")
            finally:
                self._committing = False
        self._set_state("idle")
        self.ended.emit(reason, message)

    def _guard(self, command):
        if self.worker is None or self._committing or isinstance(command, PaintCellsCommand):
            return
        step = self.step_offset + self.worker.steps
        self.stop("interrupted", f"Training paused at step {step}: “{command.text()}” changes what it learns. "
                                 "What it learned so far is one undo step; Train goes on from these weights.")

    def _set_state(self, state):
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)
