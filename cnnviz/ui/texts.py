"""Words the app shows: shapes, one-line layer summaries and the parameter explanations (tooltips)."""

from __future__ import annotations


def shape_text(shape) -> str:
    """(4, 4, 2) -> "4×4×2"."""
    return "×".join(str(int(v)) for v in shape)


def pair_text(pair) -> str:
    """A stride or factor: (2, 2) -> "2", (1, 2) -> "1×2"."""
    a, b = pair
    return str(a) if a == b else f"{a}×{b}"


def size_text(pair) -> str:
    """A window or kernel: always rows×cols, (3, 3) -> "3×3"."""
    return f"{pair[0]}×{pair[1]}"


def describe_layer(layer) -> str:
    """A one-line summary of a layer's settings, e.g. "2 filters 3×3, stride 1, valid"."""
    name = type(layer).__name__
    if name in ("Conv2D", "Conv2DTranspose"):
        text = f"{layer.filters} filter{'s' if layer.filters != 1 else ''} {size_text(layer.kernel_size)}"
        text += f", stride {pair_text(layer.strides)}, {layer.padding}"
        if tuple(layer.dilation_rate) != (1, 1):
            text += f", dilation {pair_text(layer.dilation_rate)}"
        if name == "Conv2DTranspose" and layer.output_padding is not None:
            text += f", output padding {pair_text(layer.output_padding)}"
        return text
    if name in ("MaxPooling2D", "AveragePooling2D"):
        kind = "max" if name == "MaxPooling2D" else "average"
        return f"{kind} of {size_text(layer.pool_size)} windows, stride {pair_text(layer.strides)}, {layer.padding}"
    if name == "UpSampling2D":
        return f"× {pair_text(layer.size)}, {layer.interpolation}"
    if name == "Dropout":
        return f"rate {layer.rate:g}" + ("" if layer.seed is None else f", seed {layer.seed}")
    if name in ("Activation", "ReLU"):
        return layer.activation
    return ", ".join(f"{p.label.lower()} {param_text(p, value)}" for p, value in
                     ((p, layer.get_config()[p.name]) for p in type(layer).PARAMS)) or "no settings"


def param_text(param, value) -> str:
    """A parameter's value as the summaries write it: "3×3", "2", "on", "= pool size", "1 top, 2 bottom"."""
    if value is None:
        return param.placeholder or "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    if param.kind == "pair":
        return pair_text(value)
    if param.kind == "sides":
        (t, b), (left, r) = value
        return str(t) if t == b == left == r else f"{t}/{b} rows, {left}/{r} cols"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


TRAINING_HELP = "Dropout only acts while training. Switch on to see the mask and the 1/(1 − rate) scaling."
