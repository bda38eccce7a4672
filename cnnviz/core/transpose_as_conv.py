"""Conv2DTranspose rewritten as an ordinary convolution (Dumoulin & Visin, "A guide to convolution
arithmetic", §4): insert s − 1 zeros between neighbouring input cells, pad the result with zeros, and slide
the kernel flipped left-right and up-down over it with stride 1 (`valid`, the layer's dilation). The result
is the layer's output, cell for cell; the step-through shows it like a forward Conv2D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.arithmetic import transpose_as_conv_padding
from cnnviz.core.layers import Conv2D, Conv2DTranspose

PADDING, INSERTED, INPUT = 0, 1, 2  # what a cell of the stretched input is


@dataclass(frozen=True)
class TransposeAsConv:
    """The stretched input and the Conv2D that slides over it."""

    conv: Conv2D  # flipped kernel (Keras Conv2D layout), stride 1, valid, the transpose's dilation and bias
    input: np.ndarray  # (H', W', C): input cells spread `strides` apart, zeros between and around them
    kind: np.ndarray  # (H', W') int: PADDING, INSERTED (a zero between two input cells) or INPUT
    before: tuple[int, int]  # zero rows above and columns left of the first input cell
    strides: tuple[int, int]

    def source(self, row: int, col: int) -> tuple[int, int] | None:
        """The input cell at (row, col) of the stretched input; None for an inserted or padding zero."""
        if not (0 <= row < self.kind.shape[0] and 0 <= col < self.kind.shape[1]) or self.kind[row, col] != INPUT:
            return None
        return (row - self.before[0]) // self.strides[0], (col - self.before[1]) // self.strides[1]


def transpose_as_conv(layer: Conv2DTranspose, x: np.ndarray) -> TransposeAsConv:
    """`layer` (built, with weights) and its input `x` (H, W, C) as a convolution over the stretched input."""
    h, w, c = x.shape
    (sh, sw), op = layer.strides, layer.output_padding
    pads = [transpose_as_conv_padding(n, layer.kernel_size[a], layer.strides[a], layer.padding,
                                      None if op is None else op[a], layer.dilation_rate[a])
            for a, n in enumerate((h, w))]
    (top, bottom), (left, right) = pads
    # both paddings are ≥ 0 for every shape Keras allows (the crop never exceeds k_e − 1, and output_padding
    # only adds zeros after): the input spread out, framed by the zeros
    rows, cols = top + (h - 1) * sh + 1 + bottom, left + (w - 1) * sw + 1 + right
    stretched = np.zeros((rows, cols, c), np.float32)
    kind = np.full((rows, cols), PADDING, np.int8)
    kind[top:top + (h - 1) * sh + 1, left:left + (w - 1) * sw + 1] = INSERTED
    cells = np.ix_(top + np.arange(h) * sh, left + np.arange(w) * sw)
    stretched[cells] = x
    kind[cells] = INPUT

    conv = Conv2D(layer.filters, layer.kernel_size, strides=1, padding="valid", dilation_rate=layer.dilation_rate,
                  use_bias=layer.use_bias, name=f"{layer.name}_as_conv")
    kernel = np.ascontiguousarray(layer.kernel[::-1, ::-1].transpose(0, 1, 3, 2))  # (kh, kw, in, filters)
    conv.set_weights([kernel] + ([layer.bias] if layer.use_bias else []))
    conv.build(stretched.shape)
    return TransposeAsConv(conv, stretched, kind, (top, left), (sh, sw))
