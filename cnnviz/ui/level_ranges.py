"""The colour ranges of the levels, kept per row so that an edit of some rows reads only those rows.

A 256×256×8 level read whole for its largest magnitude costs more than recomputing the rows a brush stroke
changed; the smallest and largest value of every row give the same ranges exactly (a maximum
does not depend on the order it is taken in). Per-map ranges (one channel) are read whole.
"""

from __future__ import annotations

import numpy as np

from cnnviz.ui.colormaps import input_levels, symmetric_levels


class LevelRanges:
    """Per level, the array last seen and its smallest and largest value per row."""

    def __init__(self):
        self._seen: dict[int, tuple] = {}  # level -> (array, row minima (H,), row maxima (H,))

    def seen(self, level: int):
        """The array of `level` the ranges are of (None: none yet)."""
        return self._seen.get(level, (None,))[0]

    def update(self, level: int, array: np.ndarray, rows=None):
        """Take `array` as `level`'s; `rows` (r0, r1): it differs from the array seen before in these rows
        only (None: any)."""
        rows_of = array.reshape(len(array), -1) if array.ndim == 3 else array.reshape(1, -1)  # a vector: one row
        seen = self._seen.get(level)
        if rows is None or seen is None or seen[0].shape != array.shape:
            self._seen[level] = (array, rows_of.min(axis=1), rows_of.max(axis=1))
            return
        _, lows, highs = seen
        first, last = rows
        if last > first:  # a row's numbers are contiguous: reduced along the fast axis
            lows[first:last] = rows_of[first:last].min(axis=1)
            highs[first:last] = rows_of[first:last].max(axis=1)
        self._seen[level] = (array, lows, highs)

    def symmetric(self, *levels: int) -> tuple[float, float]:
        """colormaps.symmetric_levels of these levels' arrays."""
        return symmetric_levels(*(np.concatenate(self._seen[level][1:]) for level in levels))

    def input(self, level: int = 0) -> tuple[float, float]:
        """colormaps.input_levels of the level's array."""
        return input_levels(*self._seen[level][1:])
