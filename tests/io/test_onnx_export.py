"""ONNX export: onnx's reference evaluator (and onnxruntime where installed) computes cnnviz's numbers for
every layer type and every padding case, Conv2DTranspose's uneven crops and rows past the canvas included."""

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core import LAYER_TYPES, Pipeline
from cnnviz.io import Session, load_session, save_session

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator

from cnnviz.io.onnx_export import pipeline_to_onnx


def L(kind, *args, **kwargs):
    return LAYER_TYPES[kind](*args, **kwargs)


CASES = {
    # Keras `same` with an odd total pads one more cell bottom/right (not SAME_LOWER)
    "conv_same_stride2_even": ((6, 6, 2), [L("Conv2D", 3, 4, strides=2, padding="same")]),
    "conv_same_stride2_odd": ((7, 5, 1), [L("Conv2D", 2, 3, strides=2, padding="same")]),
    "conv_valid_dilated": ((8, 8, 1), [L("Conv2D", 2, 3, dilation_rate=2, use_bias=False)]),
    "conv_same_dilated_stride1": ((6, 7, 2), [L("Conv2D", 2, (2, 3), padding="same", dilation_rate=(2, 1))]),
    "depthwise_same": ((6, 6, 3), [L("DepthwiseConv2D", 3, depth_multiplier=2, padding="same", strides=2)]),
    "depthwise_valid": ((5, 5, 2), [L("DepthwiseConv2D", 2, use_bias=False)]),
    "transpose_valid": ((3, 3, 1), [L("Conv2DTranspose", 2, 3, strides=2)]),
    "transpose_same_k3_s2": ((3, 4, 1), [L("Conv2DTranspose", 2, 3, strides=2, padding="same")]),
    # kernel smaller than the stride: `same` gives rows past the canvas, `valid` Keras's default output padding
    "transpose_same_k1_s3": ((3, 3, 2), [L("Conv2DTranspose", 1, 1, strides=3, padding="same")]),
    "transpose_same_k2_s3": ((2, 3, 1), [L("Conv2DTranspose", 2, 2, strides=3, padding="same")]),
    "transpose_valid_k2_s3": ((2, 2, 1), [L("Conv2DTranspose", 1, 2, strides=3)]),
    "transpose_output_padding": ((3, 3, 1), [L("Conv2DTranspose", 1, 3, strides=2, padding="same", output_padding=1)]),
    "transpose_dilated": ((3, 3, 1), [L("Conv2DTranspose", 1, 2, dilation_rate=2)]),
    "max_same": ((5, 5, 2), [L("MaxPooling2D", 2, padding="same")]),
    "max_valid_strides": ((7, 7, 1), [L("MaxPooling2D", 3, strides=2)]),
    "average_same_uneven": ((5, 6, 2), [L("AveragePooling2D", 3, strides=2, padding="same")]),
    "average_valid": ((6, 6, 1), [L("AveragePooling2D", 2)]),
    "upsampling_nearest": ((3, 2, 2), [L("UpSampling2D", (2, 3))]),
    "upsampling_bilinear": ((3, 4, 1), [L("UpSampling2D", 2, interpolation="bilinear")]),
    "padding_and_cropping": ((4, 4, 1), [L("ZeroPadding2D", ((1, 2), (0, 3))), L("Cropping2D", ((2, 0), (1, 1)))]),
    "activations": ((4, 4, 2), [L("ReLU"), L("LeakyReLU", 0.2), L("Activation", "sigmoid"), L("Activation", "tanh"),
                                L("Activation", "linear"), L("Dropout", 0.5), L("Activation", "relu")]),
    "softmax_on_a_map": ((3, 3, 4), [L("Softmax")]),
    "activation_softmax_on_a_map": ((3, 3, 4), [L("Activation", "softmax")]),
    "dense_on_a_map": ((3, 3, 2), [L("Dense", 4, activation="relu")]),
    "classifier": ((6, 6, 1), [L("Conv2D", 3, 3), L("ReLU"), L("MaxPooling2D", 2), L("Flatten"),
                               L("Dense", 5, activation="tanh"), L("Dense", 3, use_bias=False), L("Softmax")]),
    "dense_softmax_head": ((5, 5, 2), [L("GlobalAveragePooling2D"), L("Dense", 3, activation="softmax")]),
    "batch_norm_on_a_map": ((4, 4, 3), [L("BatchNormalization", epsilon=0.01)]),
    "batch_norm_without_center_and_scale": ((3, 3, 2), [L("BatchNormalization", center=False, scale=False)]),
    "batch_norm_on_a_vector": ((4, 4, 1), [L("Flatten"), L("BatchNormalization")]),
    "global_max_head": ((5, 5, 3), [L("GlobalMaxPooling2D"), L("Dense", 2, activation="sigmoid")]),
}


def built(name):
    shape, layers = CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    pipeline = Pipeline(shape, [type(layer).from_config(layer.get_config()) for layer in layers], seed=1)
    pipeline.build()
    for layer in pipeline.layers:
        if layer.get_weights():
            values = [rng.uniform(-1, 1, w.shape).astype(np.float32) for w in layer.get_weights()]
            if type(layer).__name__ == "BatchNormalization":  # its last array, the moving variance, is positive
                values[-1] = np.abs(values[-1]) + 0.5
            layer.set_weights(values)
    return pipeline, rng.uniform(-2, 2, shape).astype(np.float32)


def nchw(y):
    return y.transpose(2, 0, 1)[None] if y.ndim == 3 else y[None]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_reference_evaluator_computes_cnnvizs_numbers(name):
    pipeline, x = built(name)
    model = pipeline_to_onnx(pipeline)
    got = ReferenceEvaluator(model).run(None, {"input": nchw(x)})[0]
    expected = nchw(pipeline.run(x)[-1])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnxruntime_computes_cnnvizs_numbers(name):
    ort = pytest.importorskip("onnxruntime")
    pipeline, x = built(name)
    session = ort.InferenceSession(pipeline_to_onnx(pipeline).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": nchw(x)})[0], nchw(pipeline.run(x)[-1]),
                               atol=1e-5, rtol=1e-5)


def test_same_padding_is_written_out_never_as_auto_pad():
    pipeline, _ = built("transpose_same_k2_s3")
    (node,) = [n for n in pipeline_to_onnx(pipeline).graph.node if n.op_type == "ConvTranspose"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert "auto_pad" not in attrs
    # n=2, k=2, s=3: canvas 5, Keras's output 6 = one row past the canvas on each axis
    assert attrs["pads"] == [0, 0, 0, 0] and attrs["output_padding"] == [1, 1]


def test_export_onnx_command(tmp_path):
    pipeline, x = built("classifier")
    session_path = tmp_path / "s.cnnviz.json"
    save_session(Session(x, pipeline), session_path)
    out = tmp_path / "model.onnx"
    assert main(["export-onnx", str(session_path), "-o", str(out)]) == 0
    session = load_session(session_path)
    got = ReferenceEvaluator(str(out)).run(None, {"input": nchw(session.input)})[0]
    np.testing.assert_allclose(got, nchw(session.pipeline.run(session.input)[-1]), atol=1e-5)


def test_export_onnx_refuses_its_own_input(tmp_path, capsys):
    pipeline, x = built("classifier")
    session_path = tmp_path / "s.cnnviz.json"
    save_session(Session(x, pipeline), session_path)
    assert main(["export-onnx", str(session_path), "-o", str(session_path)]) == 2
    assert "is the session being read" in capsys.readouterr().err
