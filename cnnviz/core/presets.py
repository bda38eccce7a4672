"""Ready-made filters and inputs, and the lecture's example as the default session.

Filters are cross-correlation kernels (as Keras applies them) of any size: 3×3 gives the textbook
values, other sizes the natural generalisation. The "centre" of an even kernel is ((kh−1)//2, (kw−1)//2),
the cell that lines up with the output cell under Keras `same` padding.
"""

from __future__ import annotations

from math import comb

import numpy as np

from cnnviz.core.errors import ConfigError
from cnnviz.core.layers import Conv2D, MaxPooling2D, UpSampling2D, _is_int
from cnnviz.core.pipeline import Pipeline

FILTER_PRESETS = (
    "identity", "vertical edge", "horizontal edge", "sobel x", "sobel y", "laplacian", "box blur", "sharpen", "random",
)
INPUT_EXAMPLES = ("lecture", "digit", "diagonal", "checkerboard")

# The 6×6 input of the CNN lecture.
LECTURE = np.array(
    [
        [1, 0, 0, 0, 0, 1],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 1, 0, 0],
        [1, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 0, 1, 0],
    ],
    dtype=np.float32,
)


def _size(size, param: str, limit: int) -> tuple[int, int]:
    pair = (size, size) if _is_int(size) else tuple(size)
    if len(pair) != 2 or not all(_is_int(v) and 1 <= v <= limit for v in pair):
        raise ConfigError(f"{param} must be one or two integers in 1..{limit}, got {size!r}", param=param)
    return int(pair[0]), int(pair[1])


def _sign_ramp(n: int) -> np.ndarray:
    """+1 before the centre, 0 on it (odd n), −1 after: [1, 0, −1], [1, −1], [1, 1, 0, −1, −1]."""
    return np.sign((n - 1) / 2 - np.arange(n))


def _binomial(n: int) -> np.ndarray:
    """Smoothing weights [1, 2, 1] for n = 3, the binomial row in general."""
    return np.array([comb(n - 1, i) for i in range(n)], dtype=np.float64)


def _laplacian(kh: int, kw: int) -> np.ndarray:
    """The 4-neighbour Laplacian around the centre: neighbours +1, centre −(number of neighbours)."""
    k = np.zeros((kh, kw))
    r, c = (kh - 1) // 2, (kw - 1) // 2
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        if 0 <= r + dr < kh and 0 <= c + dc < kw:
            k[r + dr, c + dc] = 1
            k[r, c] -= 1
    return k


def _identity(kh: int, kw: int) -> np.ndarray:
    k = np.zeros((kh, kw))
    k[(kh - 1) // 2, (kw - 1) // 2] = 1
    return k


def filter_preset(name: str, size=(3, 3), rng: np.random.Generator | None = None) -> np.ndarray:
    """A (kh, kw) float32 kernel. "vertical edge" is [[1, 0, −1]]·3 (the lecture's kernel, docs/layers.md), "sobel x" is
    [[−1, 0, 1], [−2, 0, 2], [−1, 0, 1]], "random" draws values in [−1, 1] rounded to one decimal."""
    kh, kw = _size(size, "size", 64)
    if name == "identity":
        k = _identity(kh, kw)
    elif name == "vertical edge":
        k = np.outer(np.ones(kh), _sign_ramp(kw))
    elif name == "horizontal edge":
        k = np.outer(_sign_ramp(kh), np.ones(kw))
    elif name == "sobel x":
        k = np.outer(_binomial(kh), -_sign_ramp(kw))
    elif name == "sobel y":
        k = np.outer(-_sign_ramp(kh), _binomial(kw))
    elif name == "laplacian":
        k = _laplacian(kh, kw)
    elif name == "box blur":
        k = np.full((kh, kw), 1 / (kh * kw))
    elif name == "sharpen":
        k = _identity(kh, kw) - _laplacian(kh, kw)
    elif name == "random":
        rng = rng if rng is not None else np.random.default_rng()
        k = np.round(rng.uniform(-1, 1, size=(kh, kw)), 1)
    else:
        raise ConfigError(f"unknown filter preset {name!r} (known: {', '.join(FILTER_PRESETS)})", param="preset")
    return (k + 0.0).astype(np.float32)  # + 0.0 turns −0 into 0


# ---- inputs ---------------------------------------------------------------------------------------
# A hand-drawn "2" as a polyline in unit coordinates (x right, y down), rendered with a soft pen.
_DIGIT_STROKE = np.array(
    [(0.26, 0.33), (0.33, 0.21), (0.46, 0.15), (0.61, 0.17), (0.71, 0.27), (0.71, 0.41), (0.61, 0.55),
     (0.45, 0.68), (0.28, 0.83), (0.50, 0.82), (0.76, 0.84)]
)


def _polyline_distance(px: np.ndarray, py: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance of every (px, py) to the nearest segment of the polyline."""
    best = np.full(px.shape, np.inf)
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(px - (x0 + t * dx), py - (y0 + t * dy)))
    return best


def _digit(h: int, w: int) -> np.ndarray:
    """The stroke drawn with a soft pen; coarse grids are drawn finer and area-averaged down, so a 6×6
    "2" keeps its shape instead of becoming a blob."""
    f = -(-28 // min(h, w))  # supersampling factor: draw on a grid of at least 28 cells
    py, px = np.meshgrid((np.arange(h * f) + 0.5) / (h * f), (np.arange(w * f) + 0.5) / (w * f), indexing="ij")
    dist = _polyline_distance(px, py, _DIGIT_STROKE)
    pen = 0.05
    ink = np.clip(1 - (dist - pen) / pen, 0, 1).reshape(h, f, w, f).mean(axis=(1, 3))
    return np.clip(ink / ink.max() * 1.25, 0, 1).round(2)  # the darkest cells full ink


def _diagonal(h: int, w: int) -> np.ndarray:
    """A connected line from the top-left to the bottom-right corner."""
    img = np.zeros((h, w))
    rows, cols = np.arange(h), np.arange(w)
    img[rows, np.rint((rows + 0.5) * w / h - 0.5).clip(0, w - 1).astype(int)] = 1
    img[np.rint((cols + 0.5) * h / w - 0.5).clip(0, h - 1).astype(int), cols] = 1
    return img


def _checkerboard(h: int, w: int) -> np.ndarray:
    block = max(1, min(h, w) // 6)  # about six squares across
    rows, cols = np.arange(h)[:, None] // block, np.arange(w)[None, :] // block
    return ((rows + cols) % 2 == 0).astype(float)


def example_input(name: str, shape=(6, 6, 1)) -> np.ndarray:
    """An (H, W, C) float32 example in 0..1, the same picture in every channel."""
    try:
        h, w, c = shape
    except (TypeError, ValueError):
        raise ConfigError(f"shape must be (H, W, C), got {shape!r}", param="shape") from None
    h, w = _size((h, w), "shape", 4096)
    c = _size(c, "shape", 64)[0]
    if name == "lecture":
        img = LECTURE[np.arange(h) * 6 // h][:, np.arange(w) * 6 // w]
    elif name == "digit":
        img = _digit(h, w)
    elif name == "diagonal":
        img = _diagonal(h, w)
    elif name == "checkerboard":
        img = _checkerboard(h, w)
    else:
        raise ConfigError(f"unknown input example {name!r} (known: {', '.join(INPUT_EXAMPLES)})", param="example")
    return np.repeat(np.asarray(img, np.float32)[:, :, None], c, axis=2)


def seed_input() -> np.ndarray:
    """The lecture's 6×6×1 input."""
    return example_input("lecture", (6, 6, 1))


def seed_pipeline() -> Pipeline:
    """The lecture: Conv2D(2, 3×3, valid) with vertical and horizontal edge filters -> MaxPooling2D(2)
    -> UpSampling2D(3, nearest): 6×6×1 -> 4×4×2 -> 2×2×2 -> 6×6×2."""
    conv = Conv2D(2, 3, padding="valid", name="conv2d")
    kernel = np.stack([filter_preset("vertical edge"), filter_preset("horizontal edge")], axis=-1)[:, :, None, :]
    conv.set_weights([kernel, np.zeros(2, np.float32)])
    pipeline = Pipeline((6, 6, 1), [conv, MaxPooling2D(2), UpSampling2D(3, "nearest")])
    pipeline.build()
    return pipeline
