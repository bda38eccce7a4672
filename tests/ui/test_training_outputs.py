"""What a run leaves behind holds the trained weights: the crash-recovery file, and the Keras and PyTorch
code File ▸ Export code writes (its WEIGHTS, and where torch or keras is installed, its outputs)."""

from __future__ import annotations

import ast
import importlib.util

import numpy as np
import pytest
from test_file_actions import FakeDialogs
from test_training_dock import digits_window, idle

from cnnviz.io import load_session


def trained_digits(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_RECOVERY_DIR", str(tmp_path / "recovery"))
    window, dock = digits_window(qtbot, tmp_path)
    window.file_actions.dialogs = FakeDialogs()
    dock.add_head.click()
    dock.epochs.setValue(1)
    before = window.document.all_weights()
    assert dock.train()
    idle(qtbot, dock)
    trained = window.document.all_weights()
    assert not np.array_equal(before[0][0], trained[0][0]) and not np.array_equal(before[4][0], trained[4][0])
    return window, trained


def assert_same_weights(got, trained):
    assert len(got) == len(trained)
    for g, t in zip(got, trained):
        assert len(g) == len(t)
        for a, b in zip(g, t):
            np.testing.assert_array_equal(a, b)


def exported_weights(source: str) -> dict:
    """The module's WEIGHTS, read without importing it (no torch or keras needed)."""
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "WEIGHTS")
    return eval(compile(ast.Expression(node.value), "WEIGHTS", "eval"), {"np": np})


def export(window, tmp_path, framework):
    path = tmp_path / f"model_{framework}.py"
    window.file_actions.dialogs.paths = [str(path)]
    assert window.file_actions.export_code(framework)
    return path


def test_the_recovery_file_and_the_exported_code_hold_the_trained_weights(qtbot, tmp_path, monkeypatch):
    window, trained = trained_digits(qtbot, tmp_path, monkeypatch)
    fa = window.file_actions
    fa.autosave()
    fa.wait_for_autosave()
    recovered = load_session(fa.recovery_path)
    assert_same_weights([layer.get_weights() if layer.built else [] for layer in recovered.pipeline.layers], trained)
    assert recovered.training["data"] == {"source": "digits"}
    layers = window.document.pipeline.layers
    for framework in ("pytorch", "keras"):
        weights = exported_weights(export(window, tmp_path, framework).read_text())
        assert list(weights) == [layer.name for layer in layers if layer.get_weights()]
        assert_same_weights([weights[layer.name] for layer in layers if layer.get_weights()],
                            [t for t in trained if t])
    fa.dialogs.changes = "discard"


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_the_exported_model_computes_what_the_trained_pipeline_does(qtbot, tmp_path, monkeypatch, framework):
    if framework == "pytorch":
        pytest.importorskip("torch")
    else:
        from keras_support import import_keras

        import_keras()
    window, _ = trained_digits(qtbot, tmp_path, monkeypatch)
    path = export(window, tmp_path, framework)
    spec = importlib.util.spec_from_file_location(f"trained_{framework}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = window.document
    np.testing.assert_array_equal(module.INPUT, doc.input)
    outputs = module.run()
    expected = doc.pipeline.run(doc.input)
    np.testing.assert_allclose(np.asarray(outputs[-1]).reshape(-1), expected[-1], atol=1e-5, rtol=1e-5)
    assert int(np.argmax(outputs[-1])) == int(np.argmax(doc.outputs[-1]))
    window.file_actions.dialogs.changes = "discard"
