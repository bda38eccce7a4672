"""Shape arithmetic of sliding layers, per spatial axis (docs/layers.md).

n = input size, k = kernel or pool size, s = stride, d = dilation, k_e = d·(k−1)+1.
Every function here works on one axis; layers apply them to rows and columns.
"""

from __future__ import annotations

import math

import numpy as np

PADDINGS = ("valid", "same")


def effective_size(k: int, d: int = 1) -> int:
    """The span of a dilated kernel: k_e = d·(k−1) + 1."""
    return d * (k - 1) + 1


def conv_output_size(n: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """Conv2D and pooling output size; may be ≤ 0 for an impossible `valid` setting."""
    if padding == "same":
        return math.ceil(n / s)
    return (n - effective_size(k, d)) // s + 1


def same_padding(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TF/Keras `same` split: (before, after); the odd extra cell goes after (bottom/right)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + effective_size(k, d) - n, 0)
    return total // 2, total - total // 2


def conv_padding(n: int, k: int, s: int, padding: str, d: int = 1) -> tuple[int, int]:
    """Cells added (before, after) an axis by a Conv2D or pooling layer."""
    return same_padding(n, k, s, d) if padding == "same" else (0, 0)


def default_transpose_output_padding(k: int, s: int, d: int = 1) -> int:
    """Keras's output_padding when none is given for `valid`: max(k_e, s) − k_e."""
    ke = effective_size(k, d)
    return max(ke, s) - ke


def transpose_full_size(n: int, k: int, s: int, d: int = 1) -> int:
    """Size of the scatter-add canvas before cropping: F = (n−1)·s + k_e."""
    return (n - 1) * s + effective_size(k, d)


def transpose_output_size(n: int, k: int, s: int, padding: str, output_padding: int | None, d: int = 1) -> int:
    """Conv2DTranspose output size as Keras computes it (docs/layers.md, Conv2DTranspose)."""
    ke = effective_size(k, d)
    if padding == "valid":
        op = default_transpose_output_padding(k, s, d) if output_padding is None else output_padding
        return (n - 1) * s + ke + op
    if output_padding is None:
        return n * s
    return (n - 1) * s + ke % 2 + output_padding


def transpose_crop(n: int, k: int, s: int, padding: str, output_padding: int | None, d: int = 1) -> int:
    """Rows/cols cropped from the top/left of the scatter-add canvas (the rest go bottom/right)."""
    if padding == "valid":
        return 0
    full = transpose_full_size(n, k, s, d)
    out = transpose_output_size(n, k, s, padding, output_padding, d)
    return max(full - out, 0) // 2


# --- tap tables: which input index each kernel tap of each output reads -------------------------------
# Every sliding layer is separable per axis; provenance, receptive fields, weight footprints and the
# convolution matrix are all read from these two tables.


def conv_taps(n: int, k: int, s: int, padding: str, d: int = 1) -> np.ndarray:
    """(O, k) table: input index read by tap a of output i, i·s − before + a·d (outside 0..n−1 = padding)."""
    before, _ = conv_padding(n, k, s, padding, d)
    out = conv_output_size(n, k, s, padding, d)
    return np.arange(out)[:, None] * s - before + np.arange(k)[None, :] * d


def transpose_taps(n: int, k: int, s: int, padding: str, output_padding: int | None, d: int = 1) -> np.ndarray:
    """(n, k) table: output index input i reaches through tap a, i·s + a·d − crop (outside 0..O−1 = cropped)."""
    crop = transpose_crop(n, k, s, padding, output_padding, d)
    return np.arange(n)[:, None] * s + np.arange(k)[None, :] * d - crop
