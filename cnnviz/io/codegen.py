"""Write a session as a readable, runnable Python module for Keras or PyTorch.

The module exposes `INPUT` (the session's input, an (H, W, C) float32 numpy array), `WEIGHTS` (each
layer's arrays in Keras layout) and `build_model()`; running the model on INPUT gives the numbers cnnviz
shows. For PyTorch, Keras's semantics are emulated exactly where torch differs (SEMANTICS.md): TF `same`
padding split (odd cell at the bottom/right) by explicit padding, Keras's transposed-convolution crop by
an explicit slice, `same` average pooling that ignores padded cells, half-pixel bilinear, NHWC <-> NCHW.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

import cnnviz
from cnnviz.core.arithmetic import (
    conv_padding,
    transpose_crop,
    transpose_full_size,
    transpose_output_size,
)
from cnnviz.io.errors import SessionError

FRAMEWORKS = ("keras", "pytorch")


def generate_code(session, framework: str = "keras") -> str:
    """Python source building `session.pipeline` with its weights in `framework` ("keras" or "pytorch")."""
    if framework not in FRAMEWORKS:
        raise SessionError(f"unknown framework {framework!r} (expected keras or pytorch)")
    pipeline = session.pipeline
    shapes = [tuple(pipeline.input_shape)] + [tuple(s) for s in pipeline.output_shapes()]
    pipeline.build()
    writer = _keras_module if framework == "keras" else _torch_module
    return writer(session, shapes)


# ------------------------------------------------------------------------------------------- common

def _array(a: np.ndarray, indent: int) -> str:
    """A numpy literal whose numbers read back to exactly the same float32 values."""
    a = np.asarray(a, dtype=np.float32)
    text = _nested(a, indent + 4)
    if len(text) + indent <= 70 and "\n" not in text:
        return f"np.array({text}, dtype=np.float32)"
    return f"np.array(\n{' ' * (indent + 4)}{text},\n{' ' * (indent + 4)}dtype=np.float32,\n{' ' * indent})"


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)  # np.float32's str is its shortest repr


def _nested(a: np.ndarray, indent: int) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(_num(v) for v in a) + "]"
    parts = [_nested(sub, indent + 1) for sub in a]
    flat = "[" + ", ".join(parts) + "]"
    if len(flat) + indent <= 100 and "\n" not in flat:
        return flat
    return "[" + (",\n" + " " * (indent + 1)).join(parts) + "]"


def _dims(shape) -> str:
    return "×".join(str(v) for v in shape)


def _header(session, framework: str, shapes) -> list[str]:
    p = session.pipeline
    steps = " -> ".join(_dims(s) for s in shapes)
    lines = [
        f'"""{framework} model exported from cnnviz {cnnviz.__version__}: {steps}.',
        "",
        "Layers:",
        *[f"  {layer.label}: {_describe(layer)} -> {_dims(shapes[i + 1])}" for i, layer in enumerate(p.layers)],
        "",
        "INPUT is the session's input (rows, cols, channels); WEIGHTS holds each layer's arrays in Keras",
        "layout: Conv2D kernel (rows, cols, in, out), Conv2DTranspose kernel (rows, cols, out, in), bias (out,).",
        "Run this file to print every layer's output on INPUT, the numbers cnnviz shows.",
        "",
        *_usage(framework),
    ]
    if session.view.get("training") and any(type(layer).__name__ == "Dropout" for layer in p.layers):
        lines += ["", "cnnviz was in training mode (Dropout masks applied); this model runs at inference, where",
                  "Dropout is the identity, as in Keras. Masks are random per framework and not reproduced."]
    return lines + ['"""', ""]


def _usage(framework: str) -> list[str]:
    """The call a reader tries first, spelled out (torch wants channels first and a batch axis)."""
    if framework == "Keras":
        return ["The last layer's output for INPUT (a batch of one image, channels last as in cnnviz):",
                "    y = build_model()(INPUT[None])"]
    return ["The last layer's output for INPUT: torch wants (batch, channels, rows, cols), so add a batch",
            "axis and move the channels first (run() does this for every layer and converts back):",
            "    y = build_model()(torch.from_numpy(INPUT).permute(2, 0, 1)[None])"]


def _describe(layer) -> str:
    config = layer.get_config()
    args = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "name")
    return f"{type(layer).__name__}({args})"


def _data(session, names) -> list[str]:
    lines = [f"INPUT = {_array(session.input, 0)}", "", "WEIGHTS = {"]
    for layer, name in zip(session.pipeline.layers, names):
        weights = layer.get_weights()
        if weights:
            lines.append(f"    {name!r}: [")
            lines += [f"        {_array(w, 8)}," for w in weights]
            lines.append("    ],")
    lines += ["}", "", ""]
    return lines


def _keras_names(layers) -> list[str]:
    """Keras refuses a '/' in a layer name (a session may hold one): it becomes '_', kept unique."""
    return _unique([layer.name.replace("/", "_") for layer in layers], layers)


def _torch_names(layers) -> list[str]:
    """nn.Module refuses a child name with a '.' (`block1.conv`, a Keras-style name) or one it uses itself
    (`eval`, `training`): a name other than cnnviz's own (conv2d, conv2d_1, ...) gets its position in front,
    as `layer2_block1_conv`, which no torch attribute can be."""
    names = []
    for layer in layers:
        default = type(layer).DEFAULT_NAME
        if re.fullmatch(rf"{re.escape(default)}(_\d+)?", layer.name):
            names.append(layer.name)
        else:
            names.append(f"layer{layer.index}_{re.sub(r'[^0-9A-Za-z_]', '_', layer.name)}")
    return _unique(names, layers)


def _unique(names: list[str], layers) -> list[str]:
    """`names` with a suffix on a changed name that meets another; unchanged names (unique already, as the
    pipeline keeps them) are never the ones renamed."""
    taken = {name for name, layer in zip(names, layers) if name == layer.name}
    out = []
    for name, layer in zip(names, layers):
        candidate, k = name, 1
        while name != layer.name and candidate in taken:
            candidate, k = f"{name}_{k}", k + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def _config(layer) -> dict:
    c = dict(layer.get_config())
    for key in ("kernel_size", "strides", "dilation_rate", "pool_size", "size", "output_padding"):
        if isinstance(c.get(key), (list, tuple)):
            c[key] = tuple(int(v) for v in c[key])
    return c


# -------------------------------------------------------------------------------------------- keras

def _keras_module(session, shapes) -> str:
    p = session.pipeline
    lines = _header(session, "Keras", shapes) + ["import numpy as np", "import keras", "from keras import layers", ""]
    names = _keras_names(p.layers)
    lines += _data(session, names)
    lines += ["def build_model():", '    """The pipeline as a keras.Sequential with the session\'s weights."""',
              "    model = keras.Sequential(", "        [",
              f"            keras.Input(shape={tuple(int(v) for v in p.input_shape)}),"]
    for layer, in_shape, name in zip(p.layers, shapes, names):
        lines += [f"            {note}" for note in _keras_notes(layer, in_shape)]
        if name != layer.name:
            lines.append(f"            # cnnviz layer {layer.name!r} ('/' is not allowed in a Keras name)")
        lines.append(f"            {_keras_layer(layer, name)},")
    lines += ["        ]", "    )", "    for name, arrays in WEIGHTS.items():",
              "        model.get_layer(name).set_weights(arrays)", "    return model", "", "",
              "def run(x=INPUT):",
              '    """Every layer\'s output for one (H, W, C) image, as (H, W, C) numpy arrays."""',
              "    model = build_model()",
              "    outputs, y = [], x[None]  # Keras works on a batch: add a batch axis of one image",
              "    for layer in model.layers:",
              "        y = layer(y, training=False)",
              "        outputs.append(keras.ops.convert_to_numpy(y)[0])",
              "    return outputs", ""]
    lines += _main()
    return "\n".join(lines) + "\n"


def _keras_layer(layer, name: str) -> str:
    c = _config(layer)
    kind = type(layer).__name__
    c.pop("name")
    name = f"name={name!r}"
    if kind in ("Conv2D", "Conv2DTranspose"):
        args = [str(c.pop("filters")), repr(c.pop("kernel_size"))]
        args += [f"{k}={v!r}" for k, v in c.items()]
    elif kind == "ReLU":
        args = []
    else:
        args = [f"{k}={v!r}" for k, v in c.items()]
    return f"layers.{kind}({', '.join(args + [name])})"


def _keras_notes(layer, in_shape) -> list[str]:
    """Comments where a Keras backend is known to compute other numbers than Keras on TensorFlow."""
    if type(layer).__name__ != "AveragePooling2D" or layer.padding != "same":
        return []
    pads = [conv_padding(n, k, s, "same") for n, k, s in zip(in_shape[:2], layer.pool_size, layer.strides)]
    if all(before == after for before, after in pads):
        return []
    (top, bottom), (left, right) = pads
    return [f"# 'same' pads this pooling unevenly (top {top}, bottom {bottom}, left {left}, right {right}): the",
            "# TensorFlow backend ignores the padded cells, as cnnviz does; the torch backend (Keras 3.15)",
            "# repeats edge cells into them and gives other numbers here (keras-team/keras#18452)."]


def _main() -> list[str]:
    return ["", 'if __name__ == "__main__":', "    np.set_printoptions(precision=4, suppress=True)",
            "    for layer_number, y in enumerate(run(), start=1):",
            '        print(f"layer {layer_number}: output {y.shape}")',
            "        for channel in range(y.shape[-1]):  # numbered from 1, as cnnviz labels them",
            '            print(f"  channel {channel + 1} (y[:, :, {channel}]):")',
            "            print(y[:, :, channel])"]


# ------------------------------------------------------------------------------------------ pytorch

_TORCH_HELPERS = {
    "pad": '''
class KerasSamePad(nn.Module):
    """Zero (or -inf) padding split as TensorFlow/Keras `same` does: the odd extra cell goes to the
    bottom/right. torch's padding= is symmetric, and padding="same" refuses strides > 1, so pad here and
    let the next layer use padding=0."""

    def __init__(self, top, bottom, left, right, value=0.0):
        super().__init__()
        self.pads = (left, right, top, bottom)  # F.pad order: last axis (cols) first
        self.value = value

    def forward(self, x):
        return F.pad(x, self.pads, value=self.value)
''',
    "avg": '''
class KerasAveragePoolSame(nn.Module):
    """Keras AveragePooling2D(padding="same"): the mean over the real cells of each window only (padded
    cells are neither added nor counted), with the TF padding split (odd extra cell bottom/right)."""

    def __init__(self, pool_size, strides, top, bottom, left, right):
        super().__init__()
        self.pool_size, self.strides = pool_size, strides
        self.pads = (left, right, top, bottom)

    def forward(self, x):
        total = F.avg_pool2d(F.pad(x, self.pads), self.pool_size, self.strides)
        count = F.avg_pool2d(F.pad(torch.ones_like(x[:, :1]), self.pads), self.pool_size, self.strides)
        return total / count  # (sum / k) / (real cells / k) = sum / real cells
''',
    "transpose": '''
class KerasConvTranspose2d(nn.Module):
    """Keras Conv2DTranspose: scatter-add onto the full canvas ((n-1)*s + d*(k-1) + 1 per axis), then keep
    rows top..top+out (zero rows past the canvas), then add the bias. torch's padding/output_padding pair
    cannot express every Keras crop (e.g. n=3, k=3, s=2, "same" crops 0 rows on top and 1 at the bottom),
    so the canvas is made with padding=0, output_padding=0 and cropped explicitly."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, dilation, crop, out_size, bias):
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=stride, padding=0,
                                       output_padding=0, dilation=dilation, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.crop, self.out_size = crop, out_size

    def forward(self, x):
        full = self.conv(x)
        (top, left), (rows, cols) = self.crop, self.out_size
        y = full[:, :, top:top + rows, left:left + cols]
        y = F.pad(y, (0, cols - y.shape[3], 0, rows - y.shape[2]))  # zeros where the canvas ends
        return y if self.bias is None else y + self.bias[None, :, None, None]
''',
}


def _torch_module(session, shapes) -> str:
    p = session.pipeline
    children, helpers, loads = [], [], []
    for i, (layer, name) in enumerate(zip(p.layers, _torch_names(p.layers))):
        child = _torch_layer(layer, shapes[i], shapes[i + 1])
        if name != layer.name:
            child.comments.insert(0, f"# cnnviz layer {layer.name!r}")
        children.append((name, child))
        helpers += [h for h in child.helpers if h not in helpers]
        loads += child.loads
    lines = _header(session, "PyTorch", shapes)
    lines += ["from collections import OrderedDict", "", "import numpy as np", "import torch",
              "import torch.nn.functional as F", "from torch import nn", ""]
    lines += _data(session, [layer.name for layer in p.layers])
    for key in ("pad", "avg", "transpose"):
        if key in helpers:
            lines += [_TORCH_HELPERS[key].strip("\n"), "", ""]
    lines += [
        "def keras_kernel_to_torch(kernel):",
        '    """Keras (rows, cols, a, b) -> torch (b, a, rows, cols). The same permutation serves Conv2D',
        "    (in, out) -> (out, in, ...) and Conv2DTranspose (out, in) -> (in, out, ...): no flip either way.\"\"\"",
        "    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))",
        "", "",
        "def build_model():",
        '    """The pipeline as an nn.Sequential (one child per cnnviz layer, named as in cnnviz where torch allows) taking',
        '    NCHW tensors, with the session\'s weights, in eval mode (Dropout is then the identity)."""',
        "    model = nn.Sequential(", "        OrderedDict(", "            [",
    ]
    for name, child in children:
        lines += [f"                {line}" for line in child.comments]
        body = child.expr.replace("\n", "\n" + " " * 16)
        lines.append(f"                ({name!r}, {body}),")
    lines += ["            ]", "        )", "    )"]
    if loads:
        lines += ["    with torch.no_grad():", *[f"        {w}" for w in loads]]
    lines += ["    return model.eval()", "", "",
              "def run(x=INPUT):",
              '    """Every layer\'s output for one (H, W, C) image, as (H, W, C) numpy arrays."""',
              "    model = build_model()",
              "    # torch works on (batch, channels, rows, cols): HWC -> NCHW on the way in, back on the way out.",
              "    y = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None]",
              "    outputs = []", "    with torch.no_grad():", "        for layer in model:",
              "            y = layer(y)", "            outputs.append(y[0].permute(1, 2, 0).numpy())",
              "    return outputs", ""]
    lines += _main()
    return "\n".join(lines) + "\n"


@dataclass
class _Child:
    """One cnnviz layer as a torch module expression, the comments above it, helper classes it needs and
    the lines copying its weights in."""

    expr: str
    comments: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)


def _weight_loads(layer, target: str, bias_target: str | None = None) -> list[str]:
    key = f"WEIGHTS[{layer.name!r}]"
    loads = [f"{target}.weight.copy_(keras_kernel_to_torch({key}[0]))"]
    if layer.get_config()["use_bias"]:
        loads.append(f"{bias_target or target}.bias.copy_(torch.from_numpy({key}[1]))")
    return loads


def _torch_layer(layer, in_shape, out_shape) -> _Child:
    kind = type(layer).__name__
    c = _config(layer)
    h, w, channels = in_shape
    ref = f"model[{layer.index - 1}]"
    if kind == "Conv2D":
        (kh, kw), (sh, sw), (dh, dw) = c["kernel_size"], c["strides"], c["dilation_rate"]
        top, bottom = conv_padding(h, kh, sh, c["padding"], dh)
        left, right = conv_padding(w, kw, sw, c["padding"], dw)
        conv = (f"nn.Conv2d({channels}, {c['filters']}, kernel_size={(kh, kw)}, stride={(sh, sw)}, "
                f"dilation={(dh, dw)}, padding={{}}, bias={c['use_bias']})")
        if (top, left) == (bottom, right):
            note = [f"# Keras padding {c['padding']!r}: {top} cell(s) on every side of rows, {left} of cols"] \
                if c["padding"] == "same" else []
            return _Child(conv.format((top, left)), note, [], _weight_loads(layer, ref))
        expr = (f"nn.Sequential(\n    KerasSamePad({top}, {bottom}, {left}, {right}),\n"
                f"    {conv.format(0)},\n)")
        note = [f"# Keras 'same' on a {h}×{w} input pads top {top}, bottom {bottom}, left {left}, right {right}:",
                "# not symmetric, so pad explicitly and convolve with padding=0"]
        return _Child(expr, note, ["pad"], _weight_loads(layer, f"{ref}[1]"))
    if kind == "Conv2DTranspose":
        (kh, kw), (sh, sw), (dh, dw) = c["kernel_size"], c["strides"], c["dilation_rate"]
        op = c.get("output_padding") or (None, None)
        axes = ((h, kh, sh, op[0], dh), (w, kw, sw, op[1], dw))
        crop = tuple(transpose_crop(n, k, s, c["padding"], o, d) for n, k, s, o, d in axes)
        size = tuple(transpose_output_size(n, k, s, c["padding"], o, d) for n, k, s, o, d in axes)
        full = tuple(transpose_full_size(n, k, s, d) for n, k, s, _, d in axes)
        if crop == (0, 0) and size == full:
            expr = (f"nn.ConvTranspose2d({channels}, {c['filters']}, kernel_size={(kh, kw)}, stride={(sh, sw)}, "
                    f"dilation={(dh, dw)}, padding=0, bias={c['use_bias']})")
            return _Child(expr, [], [], _weight_loads(layer, ref))
        expr = (f"KerasConvTranspose2d({channels}, {c['filters']}, kernel_size={(kh, kw)}, stride={(sh, sw)}, "
                f"dilation={(dh, dw)}, crop={crop}, out_size={size}, bias={c['use_bias']})")
        note = [f"# Keras keeps rows {crop[0]}..{crop[0] + size[0] - 1} and cols {crop[1]}..{crop[1] + size[1] - 1}"
                f" of the {full[0]}×{full[1]} canvas"
                + ("; rows/cols past its end are zeros (plus the bias)"
                   if any(c + n > f for c, n, f in zip(crop, size, full)) else "")]
        return _Child(expr, note, ["transpose"], _weight_loads(layer, f"{ref}.conv", ref))
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        (kh, kw) = c["pool_size"]
        (sh, sw) = c["strides"] or (kh, kw)
        top, bottom = conv_padding(h, kh, sh, c["padding"])
        left, right = conv_padding(w, kw, sw, c["padding"])
        padded = (top, bottom, left, right) != (0, 0, 0, 0)
        if kind == "AveragePooling2D":
            if padded:
                return _Child(f"KerasAveragePoolSame({(kh, kw)}, {(sh, sw)}, {top}, {bottom}, {left}, {right})",
                              [f"# Keras 'same' pads top {top}, bottom {bottom}, left {left}, right {right};"
                               " padded cells are not counted"], ["avg"])
            return _Child(f"nn.AvgPool2d(kernel_size={(kh, kw)}, stride={(sh, sw)})")
        pool = f"nn.MaxPool2d(kernel_size={(kh, kw)}, stride={(sh, sw)})"
        if not padded:
            return _Child(pool)
        return _Child(f"nn.Sequential(\n    KerasSamePad({top}, {bottom}, {left}, {right}, value=float(\"-inf\")),"
                      f"\n    {pool},\n)",
                      ["# Keras 'same' max pooling ignores padded cells: pad with -inf so they never win"], ["pad"])
    if kind == "UpSampling2D":
        fh, fw = c["size"]
        if c["interpolation"] == "bilinear":
            return _Child(f"nn.Upsample(scale_factor={(float(fh), float(fw))}, mode=\"bilinear\", "
                          "align_corners=False)",
                          ["# align_corners=False: half-pixel centres, as Keras (tf.image.resize)"])
        return _Child(f"nn.Upsample(scale_factor={(float(fh), float(fw))}, mode=\"nearest\")")
    if kind == "Dropout":
        return _Child(f"nn.Dropout(p={c['rate']})", ["# the identity in eval mode, as Keras at inference"])
    if kind == "ReLU":
        return _Child("nn.ReLU()")
    if kind == "Activation":
        return _Child({"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()",
                       "linear": "nn.Identity()"}[c["activation"]])
    raise SessionError(f"{layer.label}: no PyTorch translation for {kind}")
