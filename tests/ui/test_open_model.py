"""File ▸ Open model… and File ▸ Export ONNX model… in the window: the model's layers and weights replace
the pipeline (undoable), the user's grid is resized into the model's input, a message says what came in."""

from pathlib import Path

import numpy as np
import pytest
from test_file_actions import FakeDialogs, window  # noqa: F401  (the window fixture)

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


class Dialogs(FakeDialogs):
    def __init__(self):
        super().__init__()
        self.infos = []

    def info(self, title, message):
        self.infos.append(message)


def test_open_model_brings_the_layers_weights_and_resizes_the_grid(window):  # noqa: F811
    window.file_actions.dialogs = dialogs = Dialogs()
    doc = window.document
    before = doc.pipeline.get_config()
    dialogs.paths = [str(MODELS / "layer_norm.keras")]
    assert window.file_actions.open_model()
    doc.flush()
    assert [layer.label.split()[0] for layer in doc.pipeline.layers] == ["Conv2D", "ReLU", "BatchNormalization"]
    assert doc.input.shape == (6, 6, 1)
    stored = np.load(MODELS / "layer_norm.npz")
    np.testing.assert_allclose(doc.pipeline.run(stored["input"])[-1], stored["out_2"], atol=1e-5)
    (message,) = dialogs.infos
    assert "3 layers imported with their weights" in message and "LayerNormalization" in message
    assert "Input: your 6×6×1 grid resized to the model's 6×6×1." in message
    doc.undo_stack.undo()
    doc.flush()
    assert doc.pipeline.get_config() == before


def test_a_bad_model_is_an_error_and_changes_nothing(window, tmp_path):  # noqa: F811
    window.file_actions.dialogs = dialogs = Dialogs()
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"nope")
    before = window.document.pipeline.get_config()
    dialogs.paths = [str(bad)]
    assert not window.file_actions.open_model()
    assert dialogs.errors == ["broken.keras: not a Keras 3 model (a .keras file is a zip archive; this is not one)"]
    assert window.document.pipeline.get_config() == before


def test_export_onnx_writes_what_the_reference_evaluator_runs(window, tmp_path):  # noqa: F811
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    window.file_actions.dialogs = dialogs = Dialogs()
    out = tmp_path / "lecture.onnx"
    dialogs.paths = [str(out)]
    assert window.file_actions.export_onnx()
    doc = window.document
    doc.flush()
    got = ReferenceEvaluator(onnx.load(out)).run(None, {"input": doc.input.transpose(2, 0, 1)[None]})[0]
    expected = doc.outputs[-1]
    np.testing.assert_allclose(got, expected.transpose(2, 0, 1)[None] if expected.ndim == 3 else expected[None],
                               atol=1e-5)


def test_the_file_menu_offers_both(window):  # noqa: F811
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Open &model…" in texts and "Export &ONNX model…" in texts


def test_a_sessions_training_settings_survive_open_and_save(window, tmp_path):  # noqa: F811
    from cnnviz.io import load_session, save_session

    window.file_actions.dialogs = dialogs = Dialogs()
    source, again = tmp_path / "with_training.cnnviz.json", tmp_path / "again.cnnviz.json"
    current = window.file_actions.current_session()
    current.training = {"loss": {"class_name": "MeanSquaredError", "config": {"reduction": "sum_over_batch_size"}},
                        "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1}},
                        "batch_size": 8, "epochs": 2, "seed": 3, "validation_split": 0.0,
                        "data": {"source": "patterns", "count": 20}}
    save_session(current, source)
    assert window.file_actions.open(str(source))
    dialogs.paths = [str(again)]
    assert window.file_actions.save_as()
    assert load_session(again).training == load_session(source).training
