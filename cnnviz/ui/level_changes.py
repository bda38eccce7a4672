"""Which cells of each channel an edit changed, found for a whole level at once.

A level's maps each compared, boxed and reduced their own rows: some six small numpy reductions per map, 45
maps per brush move on a 128×128×3 session. One comparison of the level's changed rows, (rows, W, C), and a
few reductions along its axes give every channel's box of changed cells; a map whose box is empty is then
left alone without touching numpy (docs/drawing.md, "What an edit repaints").
"""

from __future__ import annotations

import numpy as np

NO_CELLS = (0, 0, 0, 0, None)  # a channel in which no cell changed
HALVING_WIDTH = 32  # from this width on, reduce_columns halves the columns (see there)


def reduce_columns(ufunc: np.ufunc, x: np.ndarray) -> np.ndarray:
    """ufunc.reduce of an (n, W, C) array over its columns: (n, C).

    numpy reduces a middle axis with an inner loop as long as the channels (8), about 20 times slower than a
    flat reduction; combining the left and the right half of the columns, again and again, runs on long
    contiguous rows instead. Minimum, maximum and or give the same result in any order."""
    if x.shape[1] < HALVING_WIDTH:
        return ufunc.reduce(x, axis=1)
    while x.shape[1] > 1:
        half = x.shape[1] // 2
        odd = x[:, 2 * half:]  # the column left over from an odd width
        x = ufunc(x[:, :half], x[:, half:2 * half])
        if odd.shape[1]:
            x[:, :1] = ufunc(x[:, :1], odd)
    return x[:, 0]


def level_change(new: np.ndarray, old, rows) -> LevelChange | None:
    """The changed cells of the level `new` against `old` (the array it replaced; None: none) where only
    `rows` (r0, r1) can differ (None: any row), or None when there is nothing to compare with (no earlier
    array of this shape, or not a level of maps)."""
    if old is None or new.ndim != 3 or np.shape(old) != new.shape:
        return None
    return LevelChange(new, old, (0, len(new)) if rows is None else rows)


class LevelChange:
    """The cells in which the (H, W, C) level `new` differs from `old` (the array shown before), within
    rows [r0, r1): every other row is known to be equal."""

    def __init__(self, new: np.ndarray, old: np.ndarray, rows: tuple[int, int]):
        first, last = rows
        self._first = first
        channels = new.shape[2]
        self._boxes: list = [None] * channels  # per channel (r0, r1, c0, c1), or None
        if last <= first:
            return
        self._differs = differs = new[first:last] != old[first:last]  # (rows, W, C)
        across = reduce_columns(np.logical_or, differs)  # (rows, C): a row of the channel changed
        down = differs.any(axis=0)  # (W, C): a column of the channel changed
        changed = across.any(axis=0)
        if not changed.any():
            return
        n, width = across.shape[0], down.shape[0]
        tops, bottoms = across.argmax(axis=0), n - across[::-1].argmax(axis=0)
        lefts, rights = down.argmax(axis=0), width - down[::-1].argmax(axis=0)
        for ch, (any_, r0, r1, c0, c1) in enumerate(zip(changed.tolist(), tops.tolist(), bottoms.tolist(),
                                                        lefts.tolist(), rights.tolist())):
            if any_:
                self._boxes[ch] = (first + r0, first + r1, c0, c1)

    def cells(self, channel: int) -> tuple:
        """(r0, r1, c0, c1, changed): the box of the channel's changed cells and, a bool array of the box's
        shape, which of them changed; NO_CELLS when none did."""
        box = self._boxes[channel]
        if box is None:
            return NO_CELLS
        r0, r1, c0, c1 = box
        return r0, r1, c0, c1, self._differs[r0 - self._first:r1 - self._first, c0:c1, channel]
