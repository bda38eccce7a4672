"""The pipeline with its weights as an ONNX model (opset 17), computing cnnviz's numbers.

The model takes and gives ONNX's layout: images (N, C, H, W), vectors (N, units). Keras kernels are
permuted into ONNX's (out, in, kh, kw); a Flatten first moves the channels last, so its numbers come out
in Keras's (row, col, channel) order.

Padding is always written out: Keras's `same` puts the odd extra cell after (bottom/right) and is written
as explicit `pads`, never as auto_pad (SAME_UPPER agrees for Conv but runtimes disagree on a
ConvTranspose whose kernel is smaller than its stride). A Conv2DTranspose is its full scatter-add canvas
with the Keras crop as `pads` and any rows past the canvas as `output_padding`. AveragePooling2D's `same`
ignores the padded cells (count_include_pad=0), as Keras on TensorFlow does. The onnx package is imported
only here, when a model is written: `pip install cnnviz[onnx]`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cnnviz
from cnnviz.core.arithmetic import (
    conv_padding,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
)
from cnnviz.io.atomic import write_atomic
from cnnviz.io.errors import SessionError

OPSET = 17
_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def onnx_module():
    """The onnx package, or a SessionError that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise SessionError("ONNX files need the onnx package: pip install 'cnnviz[onnx]' (or pip install onnx)") \
            from None
    return onnx


def pipeline_to_onnx(pipeline, name: str = "cnnviz"):
    """An onnx.ModelProto of the built pipeline: input "input" (1, C, H, W), output "output"."""
    onnx = onnx_module()
    from onnx import TensorProto, helper

    graph = _Graph(onnx)
    shapes = [pipeline.input_shape, *pipeline.output_shapes()]
    y = "input"
    for layer, in_shape, out_shape in zip(pipeline.layers, shapes, shapes[1:]):
        y = _write_layer(graph, layer, y, tuple(in_shape), tuple(out_shape))
    graph.nodes.append(helper.make_node("Identity", [y], ["output"]))
    h, w, c = pipeline.input_shape
    out = shapes[-1]
    out_dims = [1, out[2], out[0], out[1]] if len(out) == 3 else [1, *out]
    model = helper.make_model(
        helper.make_graph(graph.nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, h, w])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_dims)], graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="cnnviz", producer_version=cnnviz.__version__)
    model.ir_version = 8  # what onnxruntime releases of the last years read
    onnx.checker.check_model(model)
    return model


def export_onnx(pipeline, path) -> None:
    model = pipeline_to_onnx(pipeline, Path(path).stem.split(".")[0] or "cnnviz")
    write_atomic(Path(path), model.SerializeToString())


class _Graph:
    def __init__(self, onnx):
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base: str, value, dtype=np.float32) -> str:
        name = self.name(base)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.name(base)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _kernel(layer) -> np.ndarray:
    """Keras (kh, kw, a, b) -> ONNX (b, a, kh, kw): Conv's (out, in) and ConvTranspose's (in, out) alike."""
    return np.asarray(layer.kernel, np.float32).transpose(3, 2, 0, 1)


def _same_pads(in_shape, kernel, strides, padding, dilation=(1, 1)) -> list[int]:
    (top, bottom), (left, right) = (conv_padding(n, k, s, padding, d)
                                    for n, k, s, d in zip(in_shape[:2], kernel, strides, dilation))
    return [top, left, bottom, right]


def _write_layer(g: _Graph, layer, x: str, in_shape, out_shape) -> str:
    kind = type(layer).__name__
    base = layer.name.replace("/", "_")
    if kind == "Conv2D":
        inputs = [x, g.const(f"{base}_kernel", _kernel(layer))] + ([g.const(f"{base}_bias", layer.bias)]
                                                                    if layer.use_bias else [])
        return g.node("Conv", inputs, base, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                      dilations=list(layer.dilation_rate),
                      pads=_same_pads(in_shape, layer.kernel_size, layer.strides, layer.padding, layer.dilation_rate))
    if kind == "DepthwiseConv2D":
        kh, kw, c, m = layer.kernel.shape  # output channel c·M + m, as ONNX's groups order them
        weight = np.asarray(layer.kernel, np.float32).reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None]
        inputs = [x, g.const(f"{base}_kernel", weight)] + ([g.const(f"{base}_bias", layer.bias)]
                                                            if layer.use_bias else [])
        return g.node("Conv", inputs, base, kernel_shape=[kh, kw], strides=list(layer.strides), group=c,
                      dilations=list(layer.dilation_rate),
                      pads=_same_pads(in_shape, layer.kernel_size, layer.strides, layer.padding, layer.dilation_rate))
    if kind == "Conv2DTranspose":
        return _conv_transpose(g, layer, x, in_shape, base)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        pads = _same_pads(in_shape, layer.pool_size, layer.strides, layer.padding)
        attrs = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides), "pads": pads}
        if kind == "AveragePooling2D":
            return g.node("AveragePool", [x], base, count_include_pad=0, **attrs)
        return g.node("MaxPool", [x], base, **attrs)
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        pooled = g.node(kind.replace("Pooling2D", "Pool"), [x], base)
        return g.node("Flatten", [pooled], f"{base}_keepdims_false", axis=1)
    if kind == "UpSampling2D":
        scales = g.const(f"{base}_scales", [1.0, 1.0, *layer.size])
        if layer.interpolation == "nearest":
            return g.node("Resize", [x, "", scales], base, mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        return g.node("Resize", [x, "", scales], base, mode="linear", coordinate_transformation_mode="half_pixel")
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = layer.padding
        pads = g.const(f"{base}_pads", [0, 0, top, left, 0, 0, bottom, right], np.int64)
        return g.node("Pad", [x, pads], base, mode="constant")
    if kind == "Cropping2D":
        (top, bottom), (left, right) = layer.cropping
        h, w = in_shape[:2]
        starts, ends = g.const(f"{base}_starts", [top, left], np.int64), g.const(f"{base}_ends", [h - bottom, w - right], np.int64)
        return g.node("Slice", [x, starts, ends, g.const(f"{base}_axes", [2, 3], np.int64)], base)
    if kind == "Flatten":
        if len(in_shape) == 1:
            return x
        channels_last = g.node("Transpose", [x], f"{base}_channels_last", perm=[0, 2, 3, 1])
        return g.node("Flatten", [channels_last], base, axis=1)
    if kind == "Dense":
        return _activation(g, _dense(g, layer, x, in_shape, base), layer.activation or "linear", base)
    if kind == "Dropout":
        return g.node("Identity", [x], base)  # inference: Dropout passes its input on
    if kind == "ReLU":
        return g.node("Relu", [x], base)
    if kind == "LeakyReLU":
        return g.node("LeakyRelu", [x], base, alpha=float(layer.negative_slope))
    if kind == "Softmax":
        return g.node("Softmax", [x], base, axis=1)  # the channels of (N, C, H, W) or the units of (N, units)
    if kind == "Activation":
        return _activation(g, x, layer.activation, base)
    if kind == "BatchNormalization":
        c = in_shape[-1]  # center/scale off: Keras keeps no beta/gamma, ONNX wants zeros/ones
        gamma = layer.gamma if layer.scale else np.ones(c, np.float32)
        beta = layer.beta if layer.center else np.zeros(c, np.float32)
        inputs = [x] + [g.const(f"{base}_{n}", v) for n, v in (("gamma", gamma), ("beta", beta),
                                                                 ("mean", layer.moving_mean),
                                                                 ("variance", layer.moving_variance))]
        # ONNX normalises axis 1 of (N, C, H, W) and of a vector's (N, C): the channels either way
        return g.node("BatchNormalization", inputs, base, epsilon=float(layer.epsilon))
    raise SessionError(f"{layer.label}: no ONNX export for {kind}")


def _activation(g, x, name, base):
    if name == "linear":
        return x
    if name == "softmax":
        return g.node("Softmax", [x], f"{base}_softmax", axis=1)
    return g.node(_ACTIVATIONS[name], [x], f"{base}_{name}")


def _dense(g, layer, x, in_shape, base):
    kernel = np.asarray(layer.kernel, np.float32)
    bias = [g.const(f"{base}_bias", layer.bias)] if layer.use_bias else []
    if len(in_shape) == 1:
        return g.node("Gemm", [x, g.const(f"{base}_kernel", kernel), *bias], base)
    # on a map Dense acts on each cell's channels: a 1×1 convolution
    return g.node("Conv", [x, g.const(f"{base}_kernel", kernel.T[:, :, None, None]), *bias], base, kernel_shape=[1, 1])


def _conv_transpose(g, layer, x, in_shape, base):
    """The scatter-add canvas F = (n−1)·s + k_e per axis, cropped as Keras crops it: `top` cells before
    (pads begin), the rest after (pads end); rows the output has past the canvas are output_padding."""
    begins, ends, extra = [], [], []
    for axis in range(2):
        n, k, s, d = (in_shape[axis], layer.kernel_size[axis], layer.strides[axis], layer.dilation_rate[axis])
        op = None if layer.output_padding is None else layer.output_padding[axis]
        full = transpose_full_size(n, k, s, d)
        out = transpose_output_size(n, k, s, layer.padding, op, d)
        top = transpose_crop(n, k, s, layer.padding, op, d)
        past = max(out - (full - top), 0)
        begins.append(top)
        ends.append(full + past - top - out)
        extra.append(past)
    inputs = [x, g.const(f"{base}_kernel", _kernel(layer))] + ([g.const(f"{base}_bias", layer.bias)]
                                                                if layer.use_bias else [])
    return g.node("ConvTranspose", inputs, base, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                  dilations=list(layer.dilation_rate), pads=begins + ends, output_padding=extra)
