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
        return getattr(layer, "activation", "relu")
    return ""


LAYER_HELP = {
    "Conv2D": "Slides each filter over the input; every output number is the inner product of the filter "
    "with the patch under it, plus the bias. The number of filters is the depth of the output.",
    "Conv2DTranspose": "The way back up: every input number is multiplied by the whole kernel and added into "
    "the output at its place (overlaps are added), the adjoint of a convolution.",
    "MaxPooling2D": "Keeps the largest number of each window: a smaller map that still says where a "
    "feature was strong.",
    "AveragePooling2D": "Replaces each window by the average of its numbers.",
    "UpSampling2D": "Makes the map larger by repeating each cell (nearest) or blending neighbours (bilinear).",
    "Dropout": "While training, sets a random fraction (the rate) of the numbers to 0 and scales the rest by "
    "1/(1 − rate); at inference it changes nothing.",
    "Activation": "Applies a function to every number separately (relu keeps positives, sets negatives to 0).",
    "ReLU": "Keeps positive numbers and sets negative numbers to 0.",
}

# The layer types the pipeline form and the views know so far: the "Add layer" menu offers these. The
# other registered types (Flatten, Dense, …) are read from files and computed, not yet offered here.
FORM_TYPES = tuple(LAYER_HELP)

PARAM_HELP = {
    "filters": "How many filters the layer has. Each filter makes one output map, so this is the depth "
    "of the output.",
    "kernel_size": "Height × width of each filter. A filter also spans every input channel: it is "
    "rows × cols × input channels (a filter is 3-D).",
    "strides": "How far the filter (or pooling window) moves between two output cells. Stride 2 skips every "
    "other position and halves the output size.",
    "padding": "valid: the window stays inside the input, so the output shrinks (6×6 with 3×3 gives 4×4).\n"
    "same: zeros are added around the input so the output is ⌈input / stride⌉ (the odd extra zero row "
    "goes at the bottom/right, as in Keras).",
    "dilation_rate": "Spacing between the filter's taps: dilation 2 spreads a 3×3 filter over a 5×5 area "
    "without more weights.",
    "use_bias": "Add one number (the bias) to every output cell of each filter.",
    "output_padding": "Extra rows/columns added at the bottom/right of a transposed convolution's output, to "
    "pick one of the sizes that a stride > 1 makes possible. Empty means Keras's default.",
    "pool_size": "Height × width of the window whose maximum (or average) becomes one output cell.",
    "pool_strides": "How far the window moves. Empty means the same as the pool size (windows side by side, "
    "as Keras does by default).",
    "size": "How many times each cell is repeated down and across (2 turns 2×2 into 4×4).",
    "interpolation": "nearest: copy the closest cell. bilinear: blend the 4 nearest cells by distance "
    "(half-pixel centres, as Keras and PyTorch with align_corners=False).",
    "rate": "The fraction of numbers set to 0 while training (0 ≤ rate < 1). The kept numbers are divided "
    "by 1 − rate so the average stays the same.",
    "seed": "Seed of the random mask, so the same mask comes back.",
    "activation": "The function applied to every number: relu max(0, x), sigmoid 1/(1+e^−x), tanh, or "
    "linear (no change).",
    "training": "Dropout only acts while training. Switch on to see the mask and the 1/(1 − rate) scaling.",
}
