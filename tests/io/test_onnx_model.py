"""ONNX models open as sessions: the fixtures (tests/fixtures/models/make_onnx_models.py) were run by
onnxruntime, and cnnviz's output on the stored input equals the stored output to 1e-5."""

import builtins
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.io import SessionError
from cnnviz.io.model_import import import_model

onnx = pytest.importorskip("onnx")

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


@pytest.mark.parametrize("name, layers", [
    ("features", ["Conv2D", "ReLU", "Conv2D", "LeakyReLU", "ZeroPadding2D", "Conv2D", "ZeroPadding2D",
                  "AveragePooling2D", "UpSampling2D", "Conv2DTranspose", "Cropping2D", "Activation", "ZeroPadding2D",
                  "DepthwiseConv2D", "Activation", "Conv2DTranspose", "MaxPooling2D", "UpSampling2D"]),
    ("onnx_classifier", ["Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dense", "ReLU", "Dense", "Softmax"]),
    ("onnx_global_average", ["Conv2D", "GlobalAveragePooling2D", "Dense", "Activation", "BatchNormalization"]),
])
def test_cnnviz_computes_onnxruntimes_numbers(name, layers):
    model = import_model(MODELS / f"{name}.onnx")
    assert [layer.label.split()[0] for layer in model.pipeline.layers] == layers
    assert not model.left_out
    stored = np.load(MODELS / f"{name}.onnx.npz")
    y = model.pipeline.run(stored["input"][0].transpose(1, 2, 0))[-1]
    np.testing.assert_allclose(y.transpose(2, 0, 1) if y.ndim == 3 else y, stored["output"][0], atol=1e-5, rtol=0)


def test_padding_the_keras_way_becomes_same():
    layers = import_model(MODELS / "features.onnx").pipeline.layers
    assert layers[0].padding == "same" and layers[2].padding == "same"  # pads [1,1,1,1]; SAME_UPPER
    assert layers[4].get_config()["padding"] == ((2, 1), (0, 1)) and layers[5].padding == "valid"


def test_the_first_unsupported_node_ends_the_pipeline():
    model = import_model(MODELS / "onnx_lrn.onnx")
    assert [layer.label.split()[0] for layer in model.pipeline.layers] == ["Conv2D", "ReLU"]
    assert model.left_out == ["LRN 'lrn_2'", "Flatten 'flatten_3'"]
    assert "LRN 'lrn_2' is not an operator cnnviz computes" in model.summary()


def refused(path, capsys):
    assert main(["import-model", str(path), "-o", str(path.parent / "out.cnnviz.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_a_graph_with_branches_is_refused(capsys, tmp_path):
    err = refused(MODELS / "onnx_branches.onnx", capsys)
    assert "onnx_branches.onnx: graph.node[1] Relu 'relu_1': its input 't0' feeds 2 nodes: the graph branches" in err


def test_not_an_onnx_file(tmp_path, capsys):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\xff\xff\xff not protobuf")
    assert "model.onnx: not a readable ONNX model" in refused(bad, capsys)


def test_an_input_without_fixed_sizes(tmp_path, capsys):
    model = onnx.load(MODELS / "onnx_lrn.onnx")
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    bad = tmp_path / "model.onnx"
    onnx.save(model, bad)
    assert "model.onnx: graph.input 'image': shape ?×1×?×5; cnnviz needs N×C×H×W with fixed C, H and W" \
        in refused(bad, capsys)


def test_too_large_to_compute(tmp_path, capsys):
    model = onnx.load(MODELS / "onnx_lrn.onnx")
    for axis in (2, 3):
        model.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = 4000
    bad = tmp_path / "model.onnx"
    onnx.save(model, bad)
    assert "too large to compute interactively" in refused(bad, capsys)


def test_without_the_onnx_package_the_message_says_how_to_install_it(monkeypatch):
    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(SessionError, match=r"pip install 'cnnviz\[onnx\]'"):
        import_model(MODELS / "onnx_lrn.onnx")
