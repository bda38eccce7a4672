"""Write a session as a readable, runnable Python module for Keras or PyTorch.

The module exposes `INPUT` (the session's input, an (H, W, C) float32 numpy array), `WEIGHTS` (each
layer's arrays in Keras layout) and `build_model()`; running the model on INPUT gives the numbers cnnviz
shows. For PyTorch, Keras's semantics are emulated exactly where torch differs (docs/layers.md): TF `same`
padding split (odd cell at the bottom/right) by explicit padding, Keras's transposed-convolution crop by
an explicit slice, `same` average pooling that ignores padded cells, half-pixel bilinear, NHWC <-> NCHW.

Each layer writes its own code from its description (docs/architecture.md): Keras's from its parameters
(required ones positional, as Keras's signature has them), PyTorch's from `Layer.torch_code`, which names
the helper classes below that it needs. This module holds the templates and assembles the file.
"""

from __future__ import annotations


import numpy as np

import cnnviz
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
        "layout:",
        *_layouts(p.layers),
        "Run this file to print every layer's output on INPUT, the numbers cnnviz shows.",
        "",
        *_usage(framework),
    ]
    if session.view.get("training") and any(hasattr(layer, "mask") for layer in p.layers):
        lines += ["", "cnnviz was in training mode (Dropout masks applied); this model runs at inference, where",
                  "Dropout is the identity, as in Keras. Masks are random per framework and not reproduced."]
    return lines + ['"""', ""]


def _layouts(layers) -> list[str]:
    """One line per weight layout the model uses: "  Conv2D kernel rows, cols, in channels, filters"."""
    lines = []
    for layer in layers:
        for weight in layer.weight_specs():
            line = f"  {type(layer).__name__} {weight.layout}"
            if line not in lines:
                lines.append(line)
    return lines or ["  (no layer has weights)"]


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


def _data(session) -> list[str]:
    lines = [f"INPUT = {_array(session.input, 0)}", "", "WEIGHTS = {"]
    for layer in session.pipeline.layers:
        weights = layer.get_weights()
        if weights:
            lines.append(f"    {layer.name!r}: [")
            lines += [f"        {_array(w, 8)}," for w in weights]
            lines.append("    ],")
    lines += ["}", "", ""]
    return lines


def _config(layer) -> dict:
    """The layer's config with every sequence a tuple of Python numbers, as a reader would write it."""
    def plain(v):
        return tuple(plain(a) for a in v) if isinstance(v, (list, tuple)) else v

    return {k: plain(v) for k, v in layer.get_config().items()}


# -------------------------------------------------------------------------------------------- keras

def _keras_module(session, shapes) -> str:
    p = session.pipeline
    lines = _header(session, "Keras", shapes) + ["import numpy as np", "import keras", "from keras import layers", ""]
    lines += _data(session)
    lines += ["def build_model():", '    """The pipeline as a keras.Sequential with the session\'s weights."""',
              "    model = keras.Sequential(", "        [",
              f"            keras.Input(shape={tuple(int(v) for v in p.input_shape)}),"]
    for layer, in_shape in zip(p.layers, shapes):
        lines += [f"            {note}" for note in layer.keras_notes(in_shape)]
        lines.append(f"            {_keras_layer(layer)},")
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


def _keras_layer(layer) -> str:
    """`layers.Conv2D(2, (3, 3), strides=(1, 1), ..., name='conv2d')`: the arguments Keras's signature has
    without a default come first, positionally, the others by keyword."""
    c = _config(layer)
    name = f"name={c.pop('name')!r}"
    required = [p.name for p in layer.PARAMS if p.required]
    args = [repr(c.pop(key)) for key in required] + [f"{k}={v!r}" for k, v in c.items()]
    return f"layers.{type(layer).__name__}({', '.join(args + [name])})"


def _main() -> list[str]:
    return ["", 'if __name__ == "__main__":', "    np.set_printoptions(precision=4, suppress=True)",
            "    for layer_number, y in enumerate(run(), start=1):",
            '        print(f"layer {layer_number}: output {y.shape}")',
            "        if y.ndim == 1:  # a vector (after Flatten, Dense or global pooling)",
            "            print(y)",
            "            continue",
            "        for channel in range(y.shape[-1]):  # numbered from 1, as cnnviz labels them",
            '            print(f"  channel {channel + 1} (y[:, :, {channel}]):")',
            "            print(y[:, :, channel])"]


# ------------------------------------------------------------------------------------------ pytorch

_TORCH_HELPERS = {
    "channels_last": '''
class ChannelsLast(nn.Module):
    """NCHW -> NHWC, so that a flatten after it lists the numbers in Keras's (row, col, channel) order."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1)
''',
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
    absorbed = None  # a zero padding the next child takes over as its own padding=
    for i, layer in enumerate(p.layers):
        following = p.layers[i + 1] if i + 1 < len(p.layers) else None
        if layer.torch_padding() is not None and following is not None and following.absorbs_torch_padding():
            absorbed = (layer, layer.torch_padding())
            continue
        code = layer.torch_code(shapes[i], shapes[i + 1], absorbed_padding=absorbed[1] if absorbed else None)
        if absorbed:
            code.comments.insert(0, f"# {absorbed[0].name!r} ({absorbed[0].label}) is this layer's padding:")
        absorbed = None
        ref, weights = f"model[{len(children)}]", f"WEIGHTS[{layer.name!r}]"
        children.append((layer.name, code))
        helpers += [h for h in code.helpers if h not in helpers]
        loads += [line.format(ref=ref, weights=weights) for line in code.loads]
    lines = _header(session, "PyTorch", shapes)
    lines += ["from collections import OrderedDict", "", "import numpy as np", "import torch",
              "import torch.nn.functional as F", "from torch import nn", ""]
    lines += _data(session)
    for key in _TORCH_HELPERS:
        if key in helpers:
            lines += [_TORCH_HELPERS[key].strip("\n"), "", ""]
    lines += [
        "def keras_kernel_to_torch(kernel):",
        '    """Keras (rows, cols, a, b) -> torch (b, a, rows, cols). The same permutation serves Conv2D',
        "    (in, out) -> (out, in, ...) and Conv2DTranspose (out, in) -> (in, out, ...): no flip either way.\"\"\"",
        "    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))",
        "", "",
        "def build_model():",
        '    """The pipeline as an nn.Sequential (one child per cnnviz layer, named as in cnnviz) taking',
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
              '    """Every child\'s output for one (H, W, C) image, as (H, W, C) numpy arrays (vectors as they are)."""',
              "    model = build_model()",
              "    # torch works on (batch, channels, rows, cols): HWC -> NCHW on the way in, back on the way out.",
              "    y = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None]",
              "    outputs = []", "    with torch.no_grad():", "        for layer in model:",
              "            y = layer(y)",
              "            outputs.append((y[0].permute(1, 2, 0) if y.dim() == 4 else y[0]).numpy())",
              "    return outputs", ""]
    lines += _main()
    return "\n".join(lines) + "\n"
