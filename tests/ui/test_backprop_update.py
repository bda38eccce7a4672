"""The backward step-through's update line: the optimizer's real next step for the picked weight, from the
state a run left (step t, m, v, bias corrections, RMSprop's average and momentum, SGD's velocity), every
number equal to what the core's optimizer does with the same gradient on its next step."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cnnviz.core import Pipeline
from cnnviz.core.backprop import backward_pass
from cnnviz.core.layers import Conv2D
from cnnviz.core.presets import LECTURE
from cnnviz.core.training import Trainer, teacher_dataset
from cnnviz.io.training_sets import TrainingSettings, teacher_pipeline
from cnnviz.ui.backprop_view import BackpropView
from cnnviz.ui.document import Document
from cnnviz.ui.optimizer_text import fmt, par

CELL = (0, 2, 0, 0)  # kernel weight [a=0, b=2], channel 0, filter 0


def setup(qtbot, settings, steps):
    """A student Conv2D trained `steps` steps in this process, its Document, and a BackpropView on it with
    the run's optimizer state (None without steps)."""
    doc = Document(Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    teacher = teacher_pipeline(doc.pipeline)
    trainer = Trainer(doc.pipeline.copy(), loss="mean_squared_error", optimizer=settings.optimizer_config())
    x, y = teacher_dataset(teacher, 16, seed=1)
    for k in range(steps):
        trainer.train_on_batch(x[4 * (k % 4): 4 * (k % 4) + 4], y[4 * (k % 4): 4 * (k % 4) + 4])
    state = trainer.optimizer_state() if steps else None
    doc.show_trained_weights([layer.get_weights() for layer in trainer.pipeline.layers])
    doc.flush()
    view = BackpropView(doc, lambda: settings, lambda v: teacher.run(v)[-1], lambda: state)
    qtbot.addWidget(view)
    view.lazy = False
    doc.select_layer(1)
    view.pick_weight(*CELL[:2])
    return doc, view, trainer, teacher


def next_step(doc, trainer, teacher):
    """What the trainer's optimizer does to the picked weight with this input's gradient: (w, g, new w,
    the optimizer after it)."""
    _, levels = backward_pass(doc.pipeline, doc.input, teacher.run(doc.input)[-1])
    grads = [np.asarray(a, np.float64) for a in levels[0].grads]
    weights = [w.copy() for w in doc.layer(1).get_weights()]
    optimizer = copy.deepcopy(trainer.optimizer)
    w0, g = float(weights[0][CELL]), float(grads[0][CELL])
    assert optimizer.apply(weights, grads)
    return w0, g, float(weights[0][CELL]), optimizer


CASES = {
    "adam": TrainingSettings(data="teacher", optimizer="Adam", learning_rate=0.01),
    "rmsprop-momentum": TrainingSettings(data="teacher", optimizer="RMSprop", learning_rate=0.005, momentum=0.5),
    "rmsprop": TrainingSettings(data="teacher", optimizer="RMSprop", learning_rate=0.005, momentum=0.0),
    "sgd-momentum": TrainingSettings(data="teacher", optimizer="SGD", learning_rate=0.05, momentum=0.9),
    "sgd": TrainingSettings(data="teacher", optimizer="SGD", learning_rate=0.05, momentum=0.0),
}


@pytest.mark.parametrize("steps", [0, 3])
@pytest.mark.parametrize("case", CASES)
def test_the_update_line_is_the_optimizers_next_step(qtbot, case, steps):
    settings = CASES[case]
    doc, view, trainer, teacher = setup(qtbot, settings, steps)
    text = view.weight_text.text()
    w0, g, w1, after = next_step(doc, trainer, teacher)
    assert f"step t = {steps + 1}" in text
    assert f"<b>{fmt(w1)}</b>" in text  # the new weight, as the optimizer makes it
    assert f"{fmt(w0)} " in text and fmt(g) in text
    slots = {k: float(v[CELL]) for k, v in after.get_state()["slots"][0].items()}
    if case == "adam":
        for name in ("m", "v"):
            assert f"= {fmt(slots[name])}<br>" in text
        t = steps + 1
        assert f"1 − β₁<sup>{t}</sup> = {fmt(float(np.float32(1) - np.float32(0.9) ** np.float32(t)))}" in text
        assert f"1 − β₂<sup>{t}</sup> = {fmt(float(np.float32(1) - np.float32(0.999) ** np.float32(t)))}" in text
        if steps:  # a later step starts from the run's m, not from 0
            old = trainer.optimizer.get_state()["slots"][0]["m"][CELL]
            assert old != 0 and f"m ← m + (g − m)(1 − β₁) = {fmt(old)} + " in text
    elif case.startswith("rmsprop"):
        assert f"running average v ← ρ·v + (1 − ρ)·g² = 0.9·{fmt(trainer.optimizer.get_state()['slots'][0]['velocity'][CELL]) if steps else '0'}" in text
        assert f"= {fmt(slots['velocity'])}<br>" in text
        if case == "rmsprop-momentum":
            assert "momentum M ← μ·M + η·g/√(v + ε) = 0.5·" in text and f"= {fmt(slots['momentum'])}<br>" in text
        else:
            assert "momentum M" not in text
    elif case == "sgd-momentum":
        assert "velocity m ← μ·m − η·g = 0.9·" in text and f"= {fmt(slots['momentum'])}<br>" in text
        assert f"w ← w + m = {fmt(w0)} + {par(slots['momentum'])} = <b>{fmt(w1)}</b>" in text
    else:
        assert f"w ← w − η·g = {fmt(w0)} − {fmt(float(np.float32(0.05)))}·{par(g)} = <b>{fmt(w1)}</b>" in text
    if steps:
        assert "state after 3 steps" in text
    else:
        assert "slots start at 0" in text


def test_a_frozen_layer_says_it_has_no_update(qtbot):
    settings = CASES["adam"]
    _, view, _, _ = setup(qtbot, settings, 0)
    state = {"iterations": 5, "slots": [], "places": []}  # the last run trained no array of layer 1
    view.optimizer_state = lambda: state
    view.refresh()
    assert "frozen in the last run" in view.weight_text.text()


def test_after_a_run_in_the_dock_the_update_starts_from_the_runs_state(qtbot, tmp_path):
    from test_training_dock import idle
    from ui_support import make_window

    doc = Document(Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    assert dock.choose_data()  # the teacher task
    dock.optimizer.setCurrentText("Adam")
    dock.epochs.setValue(1)
    view = window.backprop_view
    view.lazy = False
    doc.select_layer(1)
    view.pick_weight(1, 1)
    assert "step t = 1:" in view.weight_text.text()
    assert dock.train()
    idle(qtbot, dock)
    steps = dock.run.step_offset
    state = dock.optimizer_state()
    assert steps > 1 and state["iterations"] == steps and state["places"] == [(1, 0), (1, 1)]
    view.refresh()
    text = view.weight_text.text()
    assert f"step t = {steps + 1}, from the optimizer's state after {steps} steps" in text
    m = state["slots"][0]["m"][1, 1, 0, 0]
    assert m != 0 and f"m ← m + (g − m)(1 − β₁) = {fmt(m)} + " in text
    dock.reset()  # back to the weights before training: the run's state goes with it
    view.refresh()
    assert "step t = 1:" in view.weight_text.text()


def test_on_a_pause_the_update_starts_from_the_paused_optimizers_state(qtbot, tmp_path):
    """Pause after N steps of Adam: the update line is step t = N + 1 from the m and v the core Trainer has
    after the same N steps (same data, settings and seed), not from zeros."""
    from test_training_dock import WAIT_MS
    from ui_support import make_window

    doc = Document(Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    assert dock.choose_data()  # the teacher task
    dock.optimizer.setCurrentText("Adam")
    dock.epochs.setValue(dock.epochs.maximum())
    view = window.backprop_view
    view.lazy = False
    doc.select_layer(1)
    view.pick_weight(*CELL[:2])
    start = doc.pipeline.copy()
    assert dock.train()
    try:
        qtbot.waitUntil(lambda: len(dock.run.history) > 3, timeout=WAIT_MS)
        dock.pause_button.click()
        qtbot.waitUntil(lambda: dock.run.state == "paused", timeout=WAIT_MS)
        n = dock.run.worker.paused_step
        s = dock.settings()
        trainer = Trainer(start, s.loss, s.optimizer_config(), seed=s.seed)
        for progress in trainer.fit(dock.data.x, dock.data.y, epochs=s.epochs, batch_size=s.batch_size,
                                    validation_split=s.validation_split):
            if progress.step == n:
                break
        core, paused = trainer.optimizer_state(), dock.optimizer_state()
        assert paused["iterations"] == core["iterations"] == n and paused["places"] == core["places"]
        for got, expected in zip(paused["slots"], core["slots"]):
            for name in ("m", "v"):
                np.testing.assert_array_equal(got[name], expected[name])
        for got, expected in zip(doc.layer(1).get_weights(), trainer.pipeline.layers[0].get_weights()):
            np.testing.assert_array_equal(got, expected)
        text = view.weight_text.text()
        w0, g, w1, after = next_step(doc, trainer, teacher_pipeline(doc.pipeline))
        old, new = core["slots"][0], after.get_state()["slots"][0]
        assert f"step t = {n + 1}, from the optimizer's state after {n} steps" in text
        assert old["m"][CELL] != 0 and f"m ← m + (g − m)(1 − β₁) = {fmt(old['m'][CELL])} + " in text
        assert f"v ← v + (g² − v)(1 − β₂) = {fmt(old['v'][CELL])} + " in text
        for name in ("m", "v"):
            assert f"= {fmt(float(new[name][CELL]))}<br>" in text
        assert f"<b>{fmt(w1)}</b>" in text
    finally:
        dock.run.stop()
