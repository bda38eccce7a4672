"""ONNX models (`.onnx`): a chain of nodes becomes cnnviz layers with Keras-layout weights.

Read with the onnx package (`pip install cnnviz[onnx]`, imported only when an ONNX file is opened); the
graph is data, nothing in it runs. Each node must take the previous node's output (its other inputs are
initializers); a graph that branches is refused. The first node cnnviz cannot express exactly ends the
imported pipeline, and ImportedModel names it, why, and the nodes left out.

Exact mappings, not approximations:
- pads equal to Keras `same` (the odd cell after) or auto_pad SAME_UPPER -> padding="same"; other zero
  pads -> a ZeroPadding2D before a `valid` layer (not for MaxPool, whose padding ONNX ignores);
- ConvTranspose -> the Conv2DTranspose whose Keras crop and output size equal ONNX's, else the `valid`
  canvas and a Cropping2D;
- Flatten or Reshape to (N, -1) of a map lists (c, h, w) where Keras lists (h, w, c): the next Gemm's rows
  are permuted to Keras's order;
- a BatchNormalization right after a Conv or Gemm is folded into its kernel and bias (it is inference's
  affine map per channel); anywhere else it becomes cnnviz's BatchNormalization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnviz.core import LAYER_TYPES
from cnnviz.core.arithmetic import (
    same_padding,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
)
from cnnviz.io.imported_model import ImportedModel
from cnnviz.io.onnx_export import onnx_module
from cnnviz.io.validation import _Reader, check_regular_file

MAX_ONNX_BYTES = 64 * 2**20


class _Stop(Exception):
    """The node cannot be expressed in cnnviz: it ends the imported pipeline (the message says why)."""


def read_onnx_model(path) -> ImportedModel:
    path = Path(path)
    r = _Reader(path.name)
    size = check_regular_file(path, "an ONNX model")
    if size > MAX_ONNX_BYTES:
        r.fail("", f"file is {size / 2**20:.0f} MB, more than a model cnnviz can compute interactively")
    onnx = onnx_module()
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except Exception as e:  # noqa: BLE001  protobuf's DecodeError (its module varies by protobuf build)
        r.fail("", f"not a readable ONNX model ({type(e).__name__}: {e})")
    return _Importer(r, onnx, model).run()


class _Importer:
    def __init__(self, r, onnx, model):
        self.r, self.onnx, self.graph = r, onnx, model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.consts = {t.name: onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
        self.layers, self.pending_order = [], None

    def run(self) -> ImportedModel:
        shape, x = self._input()
        nodes = [n for n in self.graph.node if not self._constant(n)]
        self._check_chain(nodes, x)
        self.shape = shape
        left_out, stopped_by = [], ""
        i = 0
        while i < len(nodes):
            node = nodes[i]
            try:
                i += self._node(node, nodes[i + 1] if i + 1 < len(nodes) else None)
            except _Stop as why:
                stopped_by = f"{_label(node)} {why}"
                left_out = [_label(n) for n in nodes[i:]]
                break
        if not self.layers:
            self.r.fail("graph.node[0]", f"nothing to import: {stopped_by or 'the graph has no nodes'}")
        from cnnviz.io.session import _assemble

        pipeline = _assemble(self.r, shape, [layer for layer, _ in self.layers], seed=0)
        for layer, weights in self.layers:
            if weights is not None:
                layer.set_weights([np.asarray(w, np.float32) for w in weights])
        return ImportedModel(pipeline, self.r.source, left_out, stopped_by)

    # ---- the graph's shape -------------------------------------------------------------------------

    def _input(self):
        inputs = [v for v in self.graph.input if v.name not in self.consts]
        if len(inputs) != 1:
            self.r.fail("graph.input", f"{len(inputs)} inputs; cnnviz imports a model with one image input")
        v = inputs[0]
        dims = v.type.tensor_type.shape.dim
        sizes = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if len(sizes) != 4 or any(s is None or s <= 0 for s in sizes[1:]):
            shown = "×".join("?" if s is None else str(s) for s in sizes)
            self.r.fail(f"graph.input {v.name!r}", f"shape {shown or 'unknown'}; cnnviz needs N×C×H×W with fixed "
                                                   "C, H and W")
        _, c, h, w = sizes
        return (h, w, c), v.name

    def _constant(self, node) -> bool:
        """A Constant node is an initializer by another name: its value joins the constants."""
        if node.op_type != "Constant":
            return False
        value = next((a for a in node.attribute if a.name == "value"), None)
        if value is None:
            self.r.fail(f"node {node.name or node.output[0]!r}", "Constant without a tensor value")
        self.consts[node.output[0]] = self.onnx.numpy_helper.to_array(value.t)
        return True

    def _check_chain(self, nodes, x):
        uses = {}
        for node in nodes:
            for name in node.input:
                if name and name not in self.consts:
                    uses[name] = uses.get(name, 0) + 1
        previous = x
        for i, node in enumerate(nodes):
            data = [name for name in node.input if name and name not in self.consts]
            where = f"graph.node[{i}] {_label(node)}"
            chain = "the graph branches; cnnviz imports a chain of nodes, each feeding the next"
            if uses.get(previous, 0) > 1:
                self.r.fail(where, f"its input {previous!r} feeds {uses[previous]} nodes: {chain}")
            if data != [previous]:
                self.r.fail(where, f"takes {', '.join(map(repr, data)) or 'no tensor'} where a chain takes "
                                   f"{previous!r} alone: {chain}")
            previous = node.output[0]
        outputs = [o.name for o in self.graph.output]
        if nodes and outputs != [previous]:
            self.r.fail("graph.output", f"{', '.join(outputs)}; a chain's one output is {previous!r}")

    # ---- the nodes ---------------------------------------------------------------------------------

    def _add(self, kind, weights=None, **config):
        layer = LAYER_TYPES[kind](**config)
        self.layers.append((layer, weights))
        self.shape = layer.compute_output_shape(self.shape)
        return layer

    def _node(self, node, following) -> int:
        """Append the layers for `node`; returns how many nodes it consumed (a MatMul takes its Add)."""
        op, a = node.op_type, _attributes(self.onnx, node)
        if self.pending_order is not None and op not in ("Gemm", "MatMul", "Dropout", "Identity"):
            raise _Stop("follows a Flatten of a map, which only a Gemm or MatMul can follow (the order of "
                        "the flattened numbers differs between ONNX and Keras)")
        if op in ("Dropout", "Identity"):
            return 1
        if op == "Conv":
            self._conv(node, a)
        elif op == "ConvTranspose":
            self._conv_transpose(node, a)
        elif op in ("MaxPool", "AveragePool"):
            self._pool(op, a)
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            self._add(op.replace("Pool", "Pooling2D"))
            if following is not None and following.op_type in ("Flatten", "Reshape"):
                return 2  # (N, C, 1, 1) -> (N, C): what the cnnviz layer gives already
        elif op == "Resize":
            self._resize(node, a)
        elif op == "Relu":
            self._add("ReLU")
        elif op == "LeakyRelu":
            self._add("LeakyReLU", negative_slope=float(a.get("alpha", 0.01)))
        elif op in ("Sigmoid", "Tanh"):
            self._add("Activation", activation=op.lower())
        elif op == "Softmax":
            axis = a.get("axis", 1 if self.opset < 13 else -1)
            if len(self.shape) == 3 and (self.opset < 13 or axis not in (1, -3)):
                raise _Stop(f"softmax over axis {axis} of N×C×H×W: cnnviz's Softmax normalises the channels (axis 1)")
            if len(self.shape) == 1 and axis not in (1, -1):
                raise _Stop(f"softmax over axis {axis} of a vector")
            self._add("Softmax")
        elif op in ("Flatten", "Reshape"):
            self._flatten(node, a)
        elif op in ("Gemm", "MatMul"):
            return self._dense(node, a, following)
        elif op == "BatchNormalization":
            self._fold_batch_norm(node, a)
        elif op == "Pad":
            self._pad(node, a)
        else:
            raise _Stop("is not an operator cnnviz computes")
        return 1

    def _const(self, node, index, what):
        if len(node.input) <= index or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.consts:
            raise _Stop(f"takes its {what} from a computed tensor, not a stored one")
        return np.asarray(self.consts[name])

    def _padding(self, a, kernel, strides, dilations, where):
        """'valid', 'same', or (pads for a ZeroPadding2D before a valid layer)."""
        auto = a.get("auto_pad", "NOTSET")
        if auto == "VALID":
            return "valid", None
        h, w = self.shape[:2]
        same = [same_padding(n, k, s, d) for n, k, s, d in zip((h, w), kernel, strides, dilations)]
        if auto == "SAME_UPPER":
            return "same", None
        if auto == "SAME_LOWER":
            if all(before == after for before, after in same):
                return "same", None
            raise _Stop(f"{where}: auto_pad SAME_LOWER puts the odd padding cell before; Keras's `same` puts "
                        "it after, and no cnnviz layer pads that way")
        pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])]
        (top, left, bottom, right) = pads
        if not any(pads):
            return "valid", None
        if min(pads) < 0:
            raise _Stop(f"{where}: negative pads {pads}")
        if [(top, bottom), (left, right)] == same:
            return "same", None
        return "valid", ((top, bottom), (left, right))

    def _conv(self, node, a):
        weight = self._const(node, 1, "weights")
        bias = self._const(node, 2, "bias")
        if weight is None or weight.ndim != 4:
            raise _Stop("is not a 2-D convolution with stored weights")
        out, per_group, kh, kw = weight.shape
        group = int(a.get("group", 1))
        strides = tuple(a.get("strides", [1, 1]))
        dilations = tuple(a.get("dilations", [1, 1]))
        padding, zero_pad = self._padding(a, (kh, kw), strides, dilations, "pads")
        if zero_pad is not None:
            self._add("ZeroPadding2D", padding=zero_pad)
        channels = self.shape[-1]
        common = {"kernel_size": (kh, kw), "strides": strides, "padding": padding, "dilation_rate": dilations,
                  "use_bias": bias is not None}
        if group == 1:
            kernel = weight.transpose(2, 3, 1, 0)
            self._add("Conv2D", [kernel] + ([bias] if bias is not None else []), filters=out, **common)
        elif group == channels and per_group == 1 and out % channels == 0:
            m = out // channels  # ONNX output channel c·M + m, as DepthwiseConv2D orders them
            kernel = weight[:, 0].transpose(1, 2, 0).reshape(kh, kw, channels, m)
            self._add("DepthwiseConv2D", [kernel] + ([bias] if bias is not None else []), depth_multiplier=m,
                      **common)
        else:
            raise _Stop(f"has group={group} on {channels} channels: cnnviz computes groups of 1 or one per channel")

    def _conv_transpose(self, node, a):
        weight = self._const(node, 1, "weights")
        bias = self._const(node, 2, "bias")
        if weight is None or weight.ndim != 4:
            raise _Stop("is not a 2-D transposed convolution with stored weights")
        if int(a.get("group", 1)) != 1 or a.get("output_shape") or a.get("auto_pad", "NOTSET") != "NOTSET":
            raise _Stop("uses group, output_shape or auto_pad, which this import does not map (explicit pads only)")
        _, out_channels, kh, kw = weight.shape
        strides = tuple(a.get("strides", [1, 1]))
        dilations = tuple(a.get("dilations", [1, 1]))
        pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])]
        extra = [int(p) for p in a.get("output_padding", [0, 0])]
        if min(pads) < 0:
            raise _Stop(f"has negative pads {pads}")
        wanted = []  # (crop before, output size) per axis, as ONNX computes them
        for axis, (n, k, s, d) in enumerate(zip(self.shape[:2], (kh, kw), strides, dilations)):
            full = transpose_full_size(n, k, s, d)
            wanted.append((pads[axis], full + extra[axis] - pads[axis] - pads[axis + 2]))
        kernel = weight.transpose(2, 3, 1, 0)  # ONNX (in, out, kh, kw) -> Keras (kh, kw, out, in)
        weights = [kernel] + ([bias] if bias is not None else [])
        common = {"filters": out_channels, "kernel_size": (kh, kw), "strides": strides, "dilation_rate": dilations,
                  "use_bias": bias is not None}
        for padding in ("valid", "same"):
            for op in [None, *[(i, j) for i in range(max(strides)) for j in range(max(strides))]]:
                if op is not None and any(v >= max(s, d) for v, s, d in zip(op, strides, dilations)):
                    continue
                got = [(transpose_crop(n, k, s, padding, None if op is None else op[i], d),
                        transpose_output_size(n, k, s, padding, None if op is None else op[i], d))
                       for i, (n, k, s, d) in enumerate(zip(self.shape[:2], (kh, kw), strides, dilations))]
                if got == wanted:
                    self._add("Conv2DTranspose", weights, padding=padding, output_padding=op, **common)
                    return
        if any(v >= s for v, s in zip(extra, strides)):
            raise _Stop(f"output_padding {extra} is not smaller than the strides {list(strides)}")
        # the canvas with ONNX's extra rows (zeros and the bias, in both), then ONNX's crop
        self._add("Conv2DTranspose", weights, padding="valid", output_padding=tuple(extra), **common)
        self._add("Cropping2D", cropping=((pads[0], pads[2]), (pads[1], pads[3])))

    def _pool(self, op, a):
        kernel = tuple(a["kernel_shape"])
        strides = tuple(a.get("strides", [1, 1]))
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
            raise _Stop("uses ceil_mode or dilations, which Keras pooling has not")
        padding, zero_pad = self._padding(a, kernel, strides, (1, 1), "pads")
        counts_pads = op == "AveragePool" and a.get("count_include_pad", 0)
        if padding == "same" and counts_pads and any(
                sum(same_padding(n, k, s)) for n, k, s in zip(self.shape[:2], kernel, strides)):
            zero_pad = tuple(same_padding(n, k, s) for n, k, s in zip(self.shape[:2], kernel, strides))
            padding = "valid"  # counting the padded zeros is a zero padding and a valid average
        if zero_pad is not None:
            if op == "MaxPool" or not counts_pads:
                raise _Stop(f"pads {a.get('pads')}: ONNX ignores these padded cells, and only Keras's `same` "
                            "split (odd cell after) ignores them in cnnviz")
            self._add("ZeroPadding2D", padding=zero_pad)
        self._add("MaxPooling2D" if op == "MaxPool" else "AveragePooling2D", pool_size=kernel, strides=strides,
                  padding=padding)

    def _resize(self, node, a):
        scales = self._const(node, 2, "scales")
        sizes = self._const(node, 3, "sizes")
        h, w, c = self.shape
        if scales is not None and scales.size == 4:
            factors = scales
        elif sizes is not None and sizes.size == 4:
            factors = np.asarray(sizes, np.float64) / [1, c, h, w]
        else:
            raise _Stop("has no stored scales or sizes")
        if list(factors[:2]) != [1, 1] or any(f != int(f) or f < 1 for f in factors[2:]):
            raise _Stop(f"scales {list(map(float, factors))}: cnnviz's UpSampling2D enlarges rows and columns by "
                        "whole factors")
        mode = a.get("mode", "nearest")
        transform = a.get("coordinate_transformation_mode", "half_pixel")
        if mode == "nearest" and transform == "asymmetric" and a.get("nearest_mode", "round_prefer_floor") == "floor":
            interpolation = "nearest"
        elif mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel"):
            interpolation = "bilinear"
        else:
            raise _Stop(f"mode {mode} with {transform} coordinates: cnnviz's UpSampling2D repeats cells "
                        "(nearest, asymmetric, floor) or interpolates with half-pixel centres (linear)")
        self._add("UpSampling2D", size=(int(factors[2]), int(factors[3])), interpolation=interpolation)

    def _flatten(self, node, a):
        if len(self.shape) == 1:
            return
        if node.op_type == "Flatten" and a.get("axis", 1) != 1:
            raise _Stop(f"flattens from axis {a.get('axis')}, not 1")
        if node.op_type == "Reshape":
            target = self._const(node, 1, "shape")
            if target is None or target.size != 2 or int(target[1]) not in (-1, int(np.prod(self.shape))):
                raise _Stop(f"reshapes to {None if target is None else list(target)}: only a flatten to (N, -1) maps")
        h, w, c = self.shape
        # ONNX lists the map as (c, h, w); Keras's Flatten as (h, w, c): keras position -> onnx position
        self.pending_order = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
        self._add("Flatten")

    def _dense(self, node, a, following) -> int:
        b = self._const(node, 1, "weights")
        if b is None or b.ndim != 2:
            raise _Stop("is not a product with a stored matrix")
        consumed, bias = 1, None
        if node.op_type == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise _Stop("uses transA, alpha or beta, which Dense has not")
            kernel = b.T if a.get("transB", 0) else b
            bias = self._const(node, 2, "bias")
        else:
            kernel = b
            if following is not None and following.op_type == "Add":
                bias = next((self.consts[n] for n in following.input if n in self.consts), None)
                consumed = 2
        if len(self.shape) != 1:
            raise _Stop("multiplies a map; cnnviz imports a Gemm or MatMul after Flatten")
        if bias is not None:
            bias = np.broadcast_to(np.asarray(bias, np.float32).reshape(-1), (kernel.shape[1],))
        if self.pending_order is not None:
            kernel = kernel[self.pending_order]
            self.pending_order = None
        self._add("Dense", [kernel] + ([bias] if bias is not None else []), units=int(kernel.shape[1]),
                  use_bias=bias is not None)
        return consumed

    def _fold_batch_norm(self, node, a):
        if a.get("training_mode", 0):
            raise _Stop("normalises with the batch's statistics (training_mode=1); cnnviz imports inference")
        gamma, beta, mean, var = (self._const(node, i, what) for i, what in
                                  ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance")))
        epsilon = float(a.get("epsilon", 1e-5))
        if not self.layers or type(self.layers[-1][0]).__name__ not in ("Conv2D", "Dense", "DepthwiseConv2D"):
            self._add("BatchNormalization", [gamma, beta, mean, var], epsilon=epsilon)
            return
        scale = gamma / np.sqrt(var + epsilon)
        layer, weights = self.layers[-1]
        kernel = weights[0]
        bias = weights[1] if len(weights) > 1 else np.zeros(scale.shape, np.float32)
        if type(layer).__name__ == "DepthwiseConv2D":
            kh, kw, c, m = kernel.shape
            kernel = (kernel.reshape(kh, kw, c * m) * scale).reshape(kh, kw, c, m)
        else:
            kernel = kernel * scale  # the output axis is the last one
        config = {**layer.get_config(), "use_bias": True}
        folded = type(layer).from_config(config)
        self.layers[-1] = (folded, [kernel, (bias - mean) * scale + beta])

    def _pad(self, node, a):
        mode = a.get("mode", "constant")
        pads = self._const(node, 1, "pads") if self.opset >= 11 else np.asarray(a.get("pads", []))
        value = self._const(node, 2, "value")
        if mode != "constant" or (value is not None and float(value) != 0.0):
            raise _Stop(f"pads with mode {mode} and value {value}: cnnviz's ZeroPadding2D pads zeros")
        if pads is None or pads.size != 8 or any(pads[[0, 1, 4, 5]]):
            raise _Stop(f"pads {None if pads is None else list(pads)}: only rows and columns can be padded")
        top, left, bottom, right = (int(pads[i]) for i in (2, 3, 6, 7))
        if min(top, left, bottom, right) < 0:
            raise _Stop("has negative pads (a crop)")
        self._add("ZeroPadding2D", padding=((top, bottom), (left, right)))


def _attributes(onnx, node) -> dict:
    out = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        out[attr.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _label(node) -> str:
    return f"{node.op_type} {node.name!r}" if node.name else node.op_type
