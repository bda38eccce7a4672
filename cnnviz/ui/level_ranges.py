"""The colour ranges of the levels, kept per row so that an edit of some rows reads only those rows.

A 256×256×8 level read whole for its largest magnitude costs more than recomputing the rows a brush stroke
changed; the smallest and largest value of every row give the same ranges exactly (a maximum
does not depend on the order it is taken in). Per-map ranges (one channel each) are kept the same way, per row
and channel, for the levels they are asked of.
"""

from __future__ import annotations

import numpy as np

from cnnviz.ui.colormaps import input_levels, symmetric_levels
from cnnviz.ui.level_changes import reduce_columns


class LevelRanges:
    """Per level, the array last seen and its smallest and largest value per row (and per row and channel)."""

    def __init__(self):
        self._seen: dict[int, tuple] = {}  # level -> (array, row minima (H,), row maxima (H,))
        self._channels: dict[int, tuple] = {}  # level -> (array, minima (H, C), maxima (H, C)), when asked

    def seen(self, level: int):
        """The array of `level` the ranges are of (None: none yet)."""
        return self._seen.get(level, (None,))[0]

    def update(self, level: int, array: np.ndarray, rows=None, channels: bool = False):
        """Take `array` as `level`'s; `rows` (r0, r1): it differs from the array seen before in these rows
        only (None: any). `channels`: keep each channel's extremes too (a 3-D array; `channels()` reads them)."""
        rows_of = array.reshape(len(array), -1) if array.ndim == 3 else array.reshape(1, -1)  # a vector: one row
        self._seen[level] = _extremes(self._seen.get(level), array, rows_of, rows)
        if channels and array.ndim == 3:
            self._channels[level] = _extremes(self._channels.get(level), array, array, rows)
        else:
            self._channels.pop(level, None)  # not kept up to date from here on

    def symmetric(self, *levels: int) -> tuple[float, float]:
        """colormaps.symmetric_levels of these levels' arrays."""
        return symmetric_levels(*(np.concatenate(self._seen[level][1:]) for level in levels))

    def input(self, level: int = 0) -> tuple[float, float]:
        """colormaps.input_levels of the level's array."""
        return input_levels(*self._seen[level][1:])

    def channels(self, level: int) -> list[tuple[float, float]]:
        """colormaps.symmetric_levels of each channel of the level's array (updated with `channels=True`)."""
        _, lows, highs = self._channels[level]
        largest = np.maximum(np.abs(lows), np.abs(highs)).max(axis=0)  # NaN stays NaN, as in np.max
        return [(-m, m) if np.isfinite(m) and m > 0 else (-1.0, 1.0) for m in largest.tolist()]


def _extremes(seen, array, rows_of, rows):
    """(array, minima, maxima) of `rows_of` (array's rows: (H, n) or (H, W, C)), from `seen` (the entry of the
    array before) where only `rows` changed."""
    def low(x):
        return x.min(axis=1) if x.ndim == 2 else reduce_columns(np.minimum, x)

    def high(x):
        return x.max(axis=1) if x.ndim == 2 else reduce_columns(np.maximum, x)

    if rows is None or seen is None or seen[0].shape != array.shape:
        return array, low(rows_of), high(rows_of)
    _, lows, highs = seen
    first, last = rows
    if last > first:
        lows[first:last] = low(rows_of[first:last])
        highs[first:last] = high(rows_of[first:last])
    return array, lows, highs
