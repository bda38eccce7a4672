"""Data sets made in memory (seeded, any size): a teacher's targets and labelled patterns; one-hot labels and
a seeded train/validation split. Files (the digits, a folder of images) are read in cnnviz.io.datasets.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.errors import ConfigError
from cnnviz.core.layers.base import _is_int
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.presets import LECTURE

# The lecture's diagonal filter, the one "the filter detects a similar pattern in the image" is about.
DIAGONAL_FILTER = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], np.float32)
PATTERNS = ("vertical bars", "horizontal bars", "diagonal", "anti-diagonal", "cross")


def _positive(value, param: str) -> int:
    if not _is_int(value) or value < 1:
        raise ConfigError(f"{param} must be a positive integer, got {value!r}", param=param)
    return int(value)


def teacher_dataset(teacher: Pipeline, count: int = 256, seed: int = 0, include_lecture: bool = True):
    """(inputs, targets): random grids in 0..1 (the lecture's 6×6 input first, where it fits the
    teacher's input shape) and what the hidden `teacher` pipeline makes of them (inference mode).
    A student pipeline of the same shape trained on them with MSE can recover the teacher's weights."""
    count = _positive(count, "count")
    x = np.random.default_rng(seed).random((count, *teacher.input_shape)).astype(np.float32)
    if include_lecture and teacher.input_shape[:2] == LECTURE.shape:
        x[0] = LECTURE[:, :, None]
    teacher.build()
    targets = x
    for layer in teacher.layers:
        targets = layer.forward(targets)
    return x, targets.astype(np.float32)


def _pattern(kind: str, h: int, w: int, period: int, shift: tuple[int, int]) -> np.ndarray:
    r, c = np.ogrid[:h, :w]
    r, c = r + shift[0], c + shift[1]
    if kind == "vertical bars":
        return np.broadcast_to(c % period == 0, (h, w))
    if kind == "horizontal bars":
        return np.broadcast_to(r % period == 0, (h, w))
    if kind == "diagonal":
        return (r - c) % period == 0
    if kind == "anti-diagonal":
        return (r + c) % period == 0
    return (r % period == 0) | (c % period == 0)  # a grid of crosses


def pattern_dataset(count: int = 200, size=(6, 6), kinds=PATTERNS, noise: float = 0.1, shifts: bool = True,
                    seed: int = 0):
    """(images (count, H, W, 1) in 0..1, integer labels (count,)): `kinds[label]` drawn with a random
    period (2..4 cells between lines) and, with `shifts`, a random offset, plus uniform noise of ±noise."""
    count = _positive(count, "count")
    h, w = (size, size) if _is_int(size) else tuple(size)
    _positive(h, "size"), _positive(w, "size")
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in PATTERNS]
    if unknown or not kinds:
        raise ConfigError(f"patterns must be among {', '.join(PATTERNS)}, got {list(kinds)}", param="kinds")
    if not 0 <= noise <= 1:
        raise ConfigError(f"noise must be in [0, 1], got {noise!r}", param="noise")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(kinds), count)
    images = np.empty((count, h, w, 1), np.float32)
    for i, label in enumerate(labels):  # one small image at a time; each is drawn vectorised
        period = int(rng.integers(2, 5))
        shift = tuple(int(v) for v in rng.integers(0, period, 2)) if shifts else (0, 0)
        images[i, :, :, 0] = _pattern(kinds[label], h, w, period, shift)
    images += rng.uniform(-noise, noise, images.shape).astype(np.float32)
    return np.clip(images, 0, 1), labels


def one_hot(labels, classes: int) -> np.ndarray:
    """Integer labels (N,) -> (N, classes) float32 rows of 0s with a 1 at the label."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ConfigError(f"labels must be in 0..{classes - 1}", param="labels")
    return np.eye(classes, dtype=np.float32)[labels]


def train_validation_split(x, y, validation_fraction: float = 0.2, seed: int = 0):
    """((x_train, y_train), (x_val, y_val)) after a seeded shuffle; both parts are non-empty."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ConfigError(f"{len(x)} inputs but {len(y)} targets", param="y")
    if not 0 < validation_fraction < 1:
        raise ConfigError(f"validation_fraction must be between 0 and 1, got {validation_fraction!r}",
                          param="validation_fraction")
    n_val = int(round(len(x) * validation_fraction))
    if not 0 < n_val < len(x):
        raise ConfigError(f"a validation fraction of {validation_fraction} of {len(x)} samples leaves one part "
                          "empty", param="validation_fraction")
    order = np.random.default_rng(seed).permutation(len(x))
    train, val = order[n_val:], order[:n_val]
    return (x[train], y[train]), (x[val], y[val])
