"""Trained Keras models open as sessions: the fixtures in tests/fixtures/models/ were made by real Keras
(make_models.py there); cnnviz's outputs on their stored input equal the outputs Keras stored."""

import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.io import load_session
from cnnviz.io.model_import import import_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
KEPT = {"every_layer": 14, "classifier": 6, "global_average": 3, "layer_norm": 3, "lambda": 1}  # Keras layers


def keras_outputs(name):
    stored = np.load(MODELS / f"{name}.npz")
    return stored["input"], list(stored["names"]), [stored[f"out_{i}"] for i in range(len(stored["names"]))]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(KEPT))
def test_every_layer_equals_keras(name, suffix):
    x, names, expected = keras_outputs(name)
    model = import_model(MODELS / f"{name}{suffix}")
    outputs = model.pipeline.run(x)
    # a Keras conv with an activation is two cnnviz layers: the Keras layer's output is the second one's
    starts = [i for i, layer in enumerate(model.pipeline.layers) if layer.name in names]
    ends = [i - 1 for i in starts[1:]] + [len(outputs) - 1]
    assert [model.pipeline.layers[i].name for i in starts] == names[:KEPT[name]]
    for end, y in zip(ends, expected):
        np.testing.assert_allclose(outputs[end], y, atol=1e-5, rtol=0)
    assert model.pipeline.input_shape == x.shape


def test_the_first_unsupported_layer_ends_the_pipeline_and_is_named():
    model = import_model(MODELS / "layer_norm.keras")
    assert [layer.label.split()[0] for layer in model.pipeline.layers] == ["Conv2D", "ReLU", "BatchNormalization"]
    assert model.left_out == ['LayerNormalization "layer_normalization"', 'Flatten "flatten"', 'Dense "dense_1"']
    assert "cnnviz does not compute LayerNormalization" in model.summary()


def test_a_lambda_is_refused_without_being_deserialised(monkeypatch):
    import marshal

    def never(*args):
        raise AssertionError("the Lambda's code was deserialised")

    monkeypatch.setattr(marshal, "loads", never)
    model = import_model(MODELS / "lambda.keras")
    assert model.left_out == ['Lambda "lambda"']
    assert "holds Python code, which cnnviz never runs" in model.summary()


def test_import_model_writes_a_session_with_the_weights(tmp_path, capsys):
    out = tmp_path / "classifier.cnnviz.json"
    assert main(["import-model", str(MODELS / "classifier.keras"), "-o", str(out)]) == 0
    assert "classifier.keras: 6 layers imported with their weights" in capsys.readouterr().out
    session = load_session(out)
    x, _, expected = keras_outputs("classifier")
    np.testing.assert_allclose(session.pipeline.run(x)[-1], expected[-1], atol=1e-5)
    assert session.input.shape == (7, 7, 1) and not session.input.any()


def test_the_picture_is_resized_into_the_models_input(tmp_path, capsys):
    from PIL import Image

    picture = tmp_path / "bright.png"
    Image.fromarray(np.full((20, 30), 255, np.uint8)).save(picture)
    out = tmp_path / "s.cnnviz.json"
    assert main(["import-model", str(MODELS / "classifier.h5"), "-o", str(out), "--image", str(picture)]) == 0
    assert "input: bright.png resized to 7×7, grey" in capsys.readouterr().out
    np.testing.assert_array_equal(load_session(out).input, np.ones((7, 7, 1), np.float32))


# ---- bad files: one message naming the file and the part ----------------------------------------------


def refused(path, capsys):
    assert main(["import-model", str(path), "-o", str(path.parent / "out.cnnviz.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (path.parent / "out.cnnviz.json").exists()
    return err


def rezip(src, dst, replace):
    """A copy of the .keras archive src with members replaced (None drops one)."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for info in z.infolist():
            data = replace.get(info.filename, z.read(info.filename))
            if data is not None:
                out.writestr(info.filename, data)


def test_not_a_zip(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"this is text, not a model")
    assert "model.keras: not a Keras 3 model (a .keras file is a zip archive" in refused(bad, capsys)


def test_zip_without_config(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    rezip(MODELS / "classifier.keras", bad, {"config.json": None})
    assert "model.keras: config.json: missing from the archive" in refused(bad, capsys)


def test_config_that_is_not_json(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    rezip(MODELS / "classifier.keras", bad, {"config.json": b"{not json"})
    assert "model.keras: config.json: not valid JSON" in refused(bad, capsys)


def test_weights_of_the_wrong_shape(tmp_path, capsys):
    bad = tmp_path / "model.h5"
    shutil.copy(MODELS / "classifier.h5", bad)
    with h5py.File(bad, "r+") as f:
        group = f["model_weights/features"]
        first = group.attrs["weight_names"][0]
        name = first.decode() if isinstance(first, bytes) else first
        del group[name]
        group[name] = np.zeros((3, 3, 2, 4), np.float32)
    err = refused(bad, capsys)
    assert "model.h5: model_weights/features/0: shape 3×3×2×4, but the kernel of Conv2D" in err
    assert "needs 3×3×1×4" in err


def test_weights_missing_for_a_layer(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(MODELS / "classifier.keras") as z:
        weights = tmp_path / "w.h5"
        weights.write_bytes(z.read("model.weights.h5"))
    with h5py.File(weights, "r+") as f:
        del f["layers/dense_1"]
    rezip(MODELS / "classifier.keras", bad, {"model.weights.h5": weights.read_bytes()})
    assert "model.keras: model.weights.h5: layers/dense_1/vars: missing" in refused(bad, capsys)


def test_truncated_h5(tmp_path, capsys):
    bad = tmp_path / "model.h5"
    bad.write_bytes((MODELS / "classifier.h5").read_bytes()[:3000])
    assert "model.h5: not a readable HDF5 file, perhaps truncated" in refused(bad, capsys)


def test_truncated_weights_inside_a_keras_archive(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(MODELS / "classifier.keras") as z:
        cut = z.read("model.weights.h5")[:2000]
    rezip(MODELS / "classifier.keras", bad, {"model.weights.h5": cut})
    assert "model.keras: model.weights.h5: not a readable HDF5 file, perhaps truncated" in refused(bad, capsys)


def test_a_model_too_large_to_compute(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(MODELS / "global_average.keras") as z:
        config = json.loads(z.read("config.json"))
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 4000, 4000, 3]
    rezip(MODELS / "global_average.keras", bad, {"config.json": json.dumps(config).encode()})
    err = refused(bad, capsys)
    assert "model.keras: " in err and "too large to compute interactively" in err


def test_a_model_with_only_unsupported_layers(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(MODELS / "lambda.keras") as z:
        config = json.loads(z.read("config.json"))
    del config["config"]["layers"][1]
    rezip(MODELS / "lambda.keras", bad, {"config.json": json.dumps(config).encode()})
    assert "model.keras: config.layers: nothing to import: Lambda \"lambda\" holds Python code" in refused(bad, capsys)


def test_an_unknown_suffix(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"x")
    assert "model.pt: not a model file cnnviz opens" in refused(bad, capsys)
