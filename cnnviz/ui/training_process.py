"""The training run's own process: Trainer.fit step by step, driven by the window's messages.

No Qt here, so a spawned process starts with numpy and the core only. The window (ui/training_run.py)
sends, on one pipe:
    ("go", steps)        run on (steps None) or run that many steps, then pause; weights may follow
    ("pause", None)      pause after the current step (answered by "paused", also when already paused)
    ("drawn", None)      the window has shown the last weights: the next ones may be sent
    ("pipeline", p)      the layers as the window holds them after an edit made during a pause: their
                         weights (and configs) are taken, the optimizer's state (moments, step count) stays
    ("cancel", None)     end the run now
and the process answers on the other pipe:
    ("progress", [Progress, ...])     every step, batched at most SNAPSHOTS_PER_S times a second
    ("weights", {layer: arrays})      the weights that training changes, at the first step after the window
                                      said "drawn", at most SNAPSHOTS_PER_S times a second
    ("paused", (step, {layer: arrays}, optimizer state))   the state Trainer.optimizer_state() gives
    ("refused", message)              a "pipeline" the run cannot go on with (it stays paused)
    ("end", (reason, message, confusion, {layer: arrays}, optimizer state))
Layers are 0-based indices of the pipeline here; each array goes as float32, pickled once by the pipe.
"""

from __future__ import annotations

import os
import time

import numpy as np

from cnnviz.core import ConfigError
from cnnviz.core.allocator import keep_freed_memory
from cnnviz.core.training import Trainer

SNAPSHOTS_PER_S = 20  # the maps, the filters and the prediction follow at this rate, or as fast as they draw


def changing_weights(pipeline) -> dict[int, list[np.ndarray]]:
    """Copies of the weights of every layer whose weights training can change (trainable ones, and
    BatchNormalization's moving statistics), by 0-based layer index."""
    out = {}
    for i, layer in enumerate(pipeline.layers):
        if layer.built and layer.weight_specs() and (layer.trainable or not all(
                w.trainable for w in layer.weight_specs())):
            out[i] = [np.asarray(a, np.float32) for a in layer.get_weights()]
    return out


def train_in_process(commands, reply, pipeline, data, settings, metrics):
    """The run (its own GIL: the window's painting never waits for a step, nor a step for a repaint)."""
    _own_scheduling_group()
    keep_freed_memory()  # every step makes its batch's arrays anew
    reason, message, confusion = "done", "", None
    trainer = None
    try:
        trainer = Trainer(pipeline, loss=settings.loss, optimizer=settings.optimizer_config(), metrics=metrics,
                          seed=settings.seed)
        steps = trainer.fit(data.x, data.y, epochs=settings.epochs, batch_size=settings.batch_size,
                            validation_split=settings.validation_split)
        running, budget, wanted = True, None, True
        pending, last, sent = [], time.perf_counter(), float("-inf")  # last progress and weights sent

        def flush_progress():
            nonlocal pending
            if pending:
                reply.send(("progress", pending))
                pending = []

        def pause():
            nonlocal running
            running = False
            flush_progress()
            reply.send(("paused", (trainer.steps, changing_weights(trainer.pipeline), optimizer_state(trainer))))

        cancelled = False
        while not cancelled:
            while not cancelled and (not running or commands.poll()):  # blocks while paused
                kind, arg = commands.recv()
                if kind == "go":  # a snapshot held back by the pause was never drawn: send the next anyway
                    running, budget, wanted = True, arg, True
                elif kind == "pause":
                    pause()
                elif kind == "drawn":
                    wanted = True
                elif kind == "pipeline":
                    try:
                        trainer.use_pipeline(_frozen_as_before(arg, trainer.pipeline))
                    except ConfigError as e:
                        reply.send(("refused", str(e)))
                elif kind == "cancel":
                    cancelled = True
            if cancelled:
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
            now = time.perf_counter()
            if now - last >= 1 / SNAPSHOTS_PER_S or progress.val_loss is not None:
                flush_progress()
                last = now
            if wanted and now - sent >= 1 / SNAPSHOTS_PER_S:  # at the first step after "drawn", within the rate
                flush_progress()
                reply.send(("weights", changing_weights(trainer.pipeline)))
                wanted, sent = False, now
            if budget is not None:
                budget -= 1
                if budget <= 0:
                    pause()
        steps.close()
        flush_progress()
        if reason == "done" and data.classification and settings.validation_split > 0:
            confusion = confusion_matrix(trainer, data, settings.validation_split)
    except ConfigError as e:
        reason, message = "error", str(e)
    pipeline = trainer.pipeline if trainer is not None else pipeline
    reply.send(("end", (reason, message, confusion, changing_weights(pipeline), optimizer_state(trainer))))
    reply.close()


def _own_scheduling_group():
    """A session of its own: where Linux groups the CPU by session (autogroup), the window's drawing then
    takes nothing from the run's share of a busy machine, nor the run from the window's."""
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:  # already a session leader
            pass


def optimizer_state(trainer) -> dict:
    """Where the optimizer stands: Trainer.optimizer_state() (its step count, slots and their places) where
    the core has it, else the step count alone."""
    if trainer is None:
        return {"iterations": 0}
    state = getattr(trainer, "optimizer_state", None)
    return state() if callable(state) else {"iterations": trainer.optimizer.iterations}


def _frozen_as_before(pipeline, before):
    for new, old in zip(pipeline.layers, before.layers):
        new.trainable = old.trainable
    return pipeline


def confusion_matrix(trainer, data, validation_split) -> np.ndarray:
    """Counts [true class, predicted class] over the validation samples (Keras's split: the last ones)."""
    cut = int(len(data.x) * (1 - validation_split))
    predicted = trainer.predict(data.x[cut:]).argmax(axis=-1)
    classes = len(data.class_names)
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(data.y[cut:], np.int64), predicted), 1)
    return matrix
