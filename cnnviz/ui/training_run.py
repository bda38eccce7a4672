"""A training run off the GUI thread and out of its process.

The core's Trainer.fit runs in a process of its own (ui/training_process.py) on a copy of the pipeline, so
the window never waits for a step, never shares Python's GIL with one, and a step never sees a half-made
edit. `TrainingWorker`, in a QThread, starts it and turns its messages into signals: the progress of every
step, and the weights training changes at most SNAPSHOTS_PER_S times a second, each only once the window
has shown the last (SnapshotPacer decides when: within a share of the GUI's time, early in a pause of the
window's own work).
Document.show_trained_weights shows them, pushing no undo step and recomputing from the first trained
layer only. When the run ends the Document gets one undo step for it
(Document.commit_training).

`TrainingRun` is the GUI side: start, pause, step one batch, resume, cancel. Painting the input goes on
while it trains. Any other edit (the pipeline, the weights, the input) first pauses the run, takes the
weights it has reached, keeps what it learned so far as its own undo step, and says so (`interrupted`):
Resume or Step go on from the edited weights with the optimizer's state (Adam's moments and step count,
momentum) kept. An edit the run cannot go on with (a trained weight changes shape) ends it instead, with
the reason. Undo and Redo wait while a run is open.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

from PySide6.QtCore import QAbstractEventDispatcher, QEvent, QObject, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from cnnviz.core import ConfigError
from cnnviz.core.training import Trainer
from cnnviz.ui.commands import PaintCellsCommand
from cnnviz.ui.training_process import SNAPSHOTS_PER_S, changing_weights, train_in_process

PAUSE_WAIT_S = 30.0  # an edit waits this long at most for the step under way (a big network's step: ~0.4 s)
SHARE = 1 / 3  # of the GUI thread's time at most for showing snapshots: the rest is the user's
QUIET_S = 0.003  # a snapshot starts once the window has slept this long with nothing to do after the hand's last
# event (that event's frame is drawn)...
GAP_S = 0.004  # ...and no later in that pause than this, or it waits for the pause after the hand's next event: a
# hand moving 60 times a second leaves some 10 ms between two frames, which a later start runs into
RESTED_S = 0.05  # a pause this long: the hand has stopped, any moment will do
MIN_PER_S = 10  # a window never pausing (or only briefly) still shows this many a second (while one costs < SHARE/10 s)
INPUT = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove, QEvent.Type.Wheel,
         QEvent.Type.KeyPress, QEvent.Type.KeyRelease}


def _by_level(weights: dict) -> dict:
    """The process's 0-based layer indices as the Document's 1-based ones."""
    return {i + 1: arrays for i, arrays in weights.items()}


class TrainingWorker(QObject):
    """Lives in a QThread that starts the training process and turns its messages into signals. The GUI
    thread sends the commands (ui/training_process.py lists them); this thread only receives."""

    progressed = Signal(object)  # list of Progress since the last emission
    weights = Signal(object, int)  # {layer: arrays} training changed, the number of pauses before them
    paused = Signal(int)  # the number of pauses so far (this one included)
    refused = Signal(str)  # the process could not take an edited pipeline
    finished = Signal(str, str)  # reason ("done", "cancelled", "diverged", "error"), message

    def __init__(self, pipeline, data, settings, metrics):
        super().__init__()
        self.pipeline, self.data, self.settings, self.metrics = pipeline, data, settings, metrics
        self.steps = 0  # the trainer's steps (they go on across pauses)
        self.optimizer_state = {"iterations": 0}  # where the optimizer stood at the last pause or the end
        self.confusion = None  # validation confusion matrix (classes × classes) after a classifier's run
        self.last_weights = _by_level(changing_weights(pipeline))
        self.pauses = 0
        self.paused_step = 0
        self._paused = threading.Event()  # set by this thread on "paused" (and at the end)
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs Qt's threads
        self._context = context
        self._receive, self._reply = context.Pipe(duplex=False)
        self._commands_out, self._commands = context.Pipe(duplex=False)
        self._ended = False

    # called from the GUI thread
    def _send(self, kind, arg=None):
        try:
            self._commands.send((kind, arg))
        except (BrokenPipeError, OSError):  # the process has ended: its "end" is on its way
            pass

    def pause(self):
        self._send("pause")

    def go(self, steps=None):
        self._paused.clear()
        self._send("go", steps)

    def drawn(self):
        self._send("drawn")

    def use_pipeline(self, pipeline):
        self._send("pipeline", pipeline)

    def cancel(self):
        self._send("cancel")

    def pause_now(self) -> bool:
        """Pause and wait until the process has (its weights are then `last_weights`); False when it ended."""
        if not self._paused.is_set():
            self.pause()
            self._paused.wait(PAUSE_WAIT_S)
        return self._paused.is_set() and not self._ended

    @Slot()
    def run(self):
        process = self._context.Process(target=train_in_process, daemon=True, args=(
            self._commands_out, self._reply, self.pipeline, self.data, self.settings, self.metrics))
        process.start()
        self._reply.close()
        self._commands_out.close()
        reason, message = "error", "the training process ended without a word"
        while True:
            try:
                kind, payload = self._receive.recv()
            except EOFError:
                break
            if kind == "progress":
                self.steps = payload[-1].step
                self.progressed.emit(payload)
            elif kind == "weights":
                self.last_weights = _by_level(payload)
                self.weights.emit(self.last_weights, self.pauses)
            elif kind == "paused":
                self.paused_step, weights, self.optimizer_state = payload
                self.last_weights = _by_level(weights)
                self.pauses += 1
                self._paused.set()
                self.paused.emit(self.pauses)
            elif kind == "refused":
                self.refused.emit(payload)
            else:
                reason, message, self.confusion, weights, self.optimizer_state = payload
                self.last_weights = _by_level(weights)
                break
        self._ended = True
        self._paused.set()  # an edit waiting for a pause waits no more
        self._receive.close()
        process.join(10)
        # Back to the GUI thread, which deletes this object (`TrainingRun._finish`): an object left in an
        # ended thread had two ways to be deleted, Qt's deferred delete and Python's reference count, on
        # two threads, and a garbage collection on the GUI thread now and then crashed in between.
        self.moveToThread(QApplication.instance().thread())
        self.finished.emit(reason, message)
        QThread.currentThread().quit()  # the GUI thread may be waiting for this thread (stop): no queued quit


class SnapshotPacer(QObject):
    """When the window shows the run's snapshots: as they come, as long as showing them takes at most SHARE of
    the GUI thread's time, and in the pause after the hand's events. Each one's cost is measured (applying it,
    the recompute it schedules, the repaints that follow: until the event loop comes back twice to a zero
    timer); the next is shown no sooner than cost / SHARE after the last one began, and asked for as soon as
    that one is shown, so that it is here when the budget allows it.

    It then waits for the first pause after the hand's last event (a press, a drag, a hover, a key): once the
    event loop has gone to sleep and stayed asleep QUIET_S, that event is drawn, and the snapshot goes into the
    time before the next. Allowed by the budget only later in that pause (past GAP_S), it waits for the pause
    after the hand's next event, unless the hand rests RESTED_S; and a window that never pauses still shows
    MIN_PER_S a second. Shown with a stroke instead (before its press, sharing its recompute), it made half the
    presses made while training in the digits window wait for a whole snapshot (bench_training_ui.py)."""

    def __init__(self, show, ask, parent=None):
        super().__init__(parent)
        self._show, self._ask = show, ask  # show(snapshot) applies it; ask() requests the next one
        self._pending, self._showing, self._since = None, False, 0.0  # _since: when the pending one came
        self._next, self._began = 0.0, float("-inf")  # when the budget allows the next; when the last began
        now = time.monotonic()
        self._busy = self._asleep = now  # the last event handled (but this pacer's timer's); the loop's last sleep
        self._input, self._paused = float("-inf"), now  # the hand's last event; the last pause seen here
        self.shown, self.costs = 0, []  # snapshots shown and what each cost the GUI thread (s), for benchmarks
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._try)
        QApplication.instance().installEventFilter(self)
        self._dispatcher = QAbstractEventDispatcher.instance()
        self._dispatcher.aboutToBlock.connect(self._going_to_sleep)

    def eventFilter(self, obj, event):  # every event of the application: kept to a few comparisons
        if obj is not self._timer:
            self._busy = time.monotonic()
            if event.type() in INPUT:
                self._input = self._busy
        return False

    def _going_to_sleep(self):  # every time the event loop has nothing left to do
        self._asleep = time.monotonic()

    def offer(self, snapshot):
        if self._pending is None:
            self._since = time.monotonic()
        self._pending = snapshot
        self._try()

    def drop(self):
        self._pending = None
        self._timer.stop()

    def close(self):
        self.drop()
        QApplication.instance().removeEventFilter(self)
        self._dispatcher.aboutToBlock.disconnect(self._going_to_sleep)

    def _try(self):
        if self._pending is None or self._showing:
            return
        now = time.monotonic()
        # MIN_PER_S a second, whatever the window does; one that came late (a slow step) waits RESTED_S at most
        latest = max(self._next, self._began + 1 / MIN_PER_S, self._since + RESTED_S)
        asleep = self._asleep >= self._busy  # no event since the loop last went to sleep
        paused = now - self._asleep if asleep else 0.0
        after_hand = False  # early in the first pause since the hand's last event
        if paused >= QUIET_S:
            after_hand = self._input > self._paused and paused <= QUIET_S + GAP_S
            self._paused = self._asleep
        if now >= latest or (now >= self._next and (after_hand or now - self._input >= RESTED_S)):
            self._show_pending()
            return
        if now < self._next:
            due = self._next
        elif paused < QUIET_S:
            due = (self._asleep if asleep else now) + QUIET_S
        else:  # a pause that is not the hand's: look again for the pause after the hand's next event
            due = now + QUIET_S
        self._timer.start(max(0, round(1000 * (min(due, latest) - now))))

    def _show_pending(self):
        self._timer.stop()
        snapshot, self._pending = self._pending, None
        self._showing, self._began = True, time.monotonic()
        self._show(snapshot)
        self._ask()  # the next one comes while this one draws and the budget runs: one in flight at most
        start = self._began
        QTimer.singleShot(0, lambda: QTimer.singleShot(0, lambda: self._painted(start)))

    def _painted(self, start):
        cost = time.monotonic() - start
        self.shown += 1
        self.costs.append(cost)
        self._showing, self._next = False, start + max(1 / SNAPSHOTS_PER_S, cost / SHARE)
        self._try()


class TrainingRun(QObject):
    """Start, pause, step, resume and cancel one run at a time for a Document."""

    progressed = Signal(object)  # one Progress (every step, in order)
    stateChanged = Signal(str)  # "running", "paused", "idle"
    ended = Signal(str, str)  # reason, message (also for an edit the run cannot go on with)
    interrupted = Signal(str)  # an edit paused the run: what happened and how to go on

    def __init__(self, document, blocked_actions=(), parent=None):
        super().__init__(parent)
        self.document = document
        self.blocked_actions = list(blocked_actions)  # Undo and Redo: they wait while a run is open
        self.state = "idle"
        self.worker: TrainingWorker | None = None
        self.thread: QThread | None = None
        self.before: list | None = None  # the weights this part of the run started from (its undo step)
        self.history: list = []  # every Progress of every run since the data was chosen
        self.step_offset = 0  # steps of the earlier runs, so the plot goes on where they stopped
        self.confusion = None
        self.optimizer_state: dict | None = None  # where the optimizer stood: at the open run's last pause
        # (None before it pauses: the window does not know the state of a running optimizer), or at the end
        self._committing = False
        self._check: Trainer | None = None  # the run's network in the GUI: may an edit go on training?
        self._edited = False  # the Document holds edits the process has not been sent
        self._edit: str | None = None  # the edit the guard let through, until it has landed
        self._part_start = 0  # the trainer's step where this part of the run (its undo step) began
        self._synced = 0  # pauses whose weights the Document holds (older snapshots are stale)
        document.undo_stack.guard = self._guard
        document.undo_stack.indexChanged.connect(self._after_edit)  # push() has run the edit's redo()

    @property
    def active(self) -> bool:
        return self.worker is not None

    def start(self, data, settings, metrics=("accuracy",)):
        if self.active:
            return
        settings.check()
        doc = self.document
        doc.flush()
        pipeline = self._run_copy(doc.pipeline, settings.frozen)
        metrics = metrics if data.classification else ()
        self._check = Trainer(pipeline.copy(), loss=settings.loss, optimizer=settings.optimizer_config(),
                              metrics=metrics)  # refusals now, in the GUI thread
        self.before = doc.all_weights()
        self.confusion, self.optimizer_state = None, None
        self._edited, self._part_start, self._synced = False, 0, 0
        self.worker = TrainingWorker(pipeline, data, settings, metrics)
        self.thread = QThread()
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self._on_progress)
        self.worker.weights.connect(self._on_weights)
        self._pacer = SnapshotPacer(self._show_snapshot, self._ask_snapshot, self)
        self.worker.paused.connect(self._on_paused)
        self.worker.refused.connect(lambda message: self.stop("interrupted", message))
        self.worker.finished.connect(self._on_finished)
        for action in self.blocked_actions:
            action.blockSignals(True)
            action.setEnabled(False)
        self._set_state("running")
        self.thread.start()

    @staticmethod
    def _run_copy(pipeline, frozen):
        copy = pipeline.copy()
        for i, layer in enumerate(copy.layers, start=1):
            layer.trainable = i not in frozen
        return copy

    def pause(self):
        if self.worker is not None:
            self.worker.pause()

    def resume(self):
        self._go(None)

    def step(self):
        self._go(1)

    def _go(self, steps):
        if self.worker is None:
            return
        if self._edited:  # the process takes the edited layers, keeping its optimizer's state
            self.worker.use_pipeline(self._run_copy(self.document.pipeline, self.worker.settings.frozen))
            self._edited = False
        if self.before is None:  # a new part of the run after an edit: its own undo step
            self.before = self.document.all_weights()
        self.worker.go(steps)
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
    def _mine(self) -> bool:
        return self.worker is not None and self.sender() is self.worker  # not a late signal of a run gone

    def _on_progress(self, batch):
        if not self._mine():
            return
        for progress in batch:
            self.history.append((self.step_offset, progress))
            self.progressed.emit(progress)

    def _on_weights(self, weights, pauses):
        if self._mine():
            self._pacer.offer((weights, pauses))

    def _show_snapshot(self, snapshot):
        weights, pauses = snapshot
        if self.worker is not None and pauses >= self._synced:  # else sent before a pause the Document took
            self.document.show_trained_weights(weights)  # its recompute joins any edit's pending one

    def _ask_snapshot(self):
        if self.worker is not None:
            self.worker.drawn()

    def _on_paused(self, pauses):
        if not self._mine():
            return
        if pauses > self._synced:
            self._take_pause()
        self._set_state("paused")

    def _take_pause(self):
        worker = self.worker
        self._pacer.drop()  # a snapshot from before the pause: the pause's own weights are newer
        self.optimizer_state = worker.optimizer_state  # before the weights: the update line redraws with them
        self.document.show_trained_weights(worker.last_weights)
        self.document.flush()
        self._synced = worker.pauses

    def _on_finished(self, reason, message):
        if self._mine():
            self.thread.wait()
            self._finish(self.worker, reason, message)

    def _finish(self, worker, reason, message):
        self.worker = None
        self._pacer.close()
        self._pacer.deleteLater()
        thread, self.thread = self.thread, None
        thread.deleteLater()
        worker.deleteLater()
        if not self._edited:  # else the Document holds edits the process never saw
            self.document.show_trained_weights(worker.last_weights)
        self.confusion, self.optimizer_state = worker.confusion, worker.optimizer_state
        self.step_offset += worker.steps
        for action in self.blocked_actions:
            action.blockSignals(False)
        stack = self.document.undo_stack
        if self.blocked_actions:
            self.blocked_actions[0].setEnabled(stack.canUndo())
            if len(self.blocked_actions) > 1:
                self.blocked_actions[1].setEnabled(stack.canRedo())
        self._commit_part(worker)
        self._check = None
        self._set_state("idle")
        self.ended.emit(reason, message)

    def _commit_part(self, worker):
        """The steps since this part of the run began as one undo step."""
        steps = worker.steps - self._part_start
        if steps and self.before is not None:
            self._committing = True
            try:
                self.document.commit_training(self.before, f"Train {steps} steps ({worker.data.kind})")
            finally:
                self._committing = False
        self.before, self._part_start = None, worker.steps

    # ------------------------------------------------------------------ an edit during the run
    def _guard(self, command):
        """Before an edit lands: pause the run, take the weights it reached and keep them as one undo step."""
        if self.worker is None or self._committing or isinstance(command, PaintCellsCommand):
            return
        worker = self.worker
        if not worker.pause_now():  # it ended meanwhile: the run is over before the edit lands
            self.stop("done", "")
            return
        if worker.pauses > self._synced:
            self._take_pause()
        self._commit_part(worker)
        self._edited, self._edit = True, command.text()
        self._set_state("paused")

    def _after_edit(self, _index=None):
        """Once the edit has landed: go on from it, or say why the run cannot."""
        text, self._edit = self._edit, None
        if self.worker is None or text is None:
            return
        step = self.step_offset + self.worker.steps
        try:
            self._check.use_pipeline(self._run_copy(self.document.pipeline, self.worker.settings.frozen))
        except ConfigError as e:
            self.stop("interrupted", f"Training stopped at step {step}: after “{text}” it cannot go on ({e}). "
                                     "What it learned is one undo step; Train starts a new run from these "
                                     "weights, Reset goes back to the weights before training.")
            return
        self.interrupted.emit(f"Training paused at step {step} for “{text}”. Resume or Step goes on from it "
                              "with the optimizer's state kept; the steps before are one undo step.")

    def _set_state(self, state):
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)
