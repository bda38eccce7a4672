"""LevelChange (every channel's changed cells, found for a whole level at once) against a naive reference."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.ui.level_changes import NO_CELLS, LevelChange, level_change, reduce_columns


def _naive_cells(new, old, channel):
    """The box of the changed cells of one channel, from the list of every changed cell."""
    cells = np.argwhere(new[:, :, channel] != old[:, :, channel])
    if not len(cells):
        return None
    (r0, c0), (r1, c1) = cells.min(axis=0), cells.max(axis=0)
    return int(r0), int(r1) + 1, int(c0), int(c1) + 1


@given(st.integers(1, 12), st.integers(1, 80), st.integers(1, 5), st.integers(0, 12),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 79), st.integers(0, 4)), max_size=6),
       st.integers(0, 2**16))
@settings(max_examples=300, deadline=None)
def test_the_boxes_of_changed_cells_equal_those_of_each_channel_read_cell_by_cell(h, w, c, nan_rows, edits, seed):
    rng = np.random.default_rng(seed)
    old = rng.standard_normal((h, w, c)).astype(np.float32)
    new = old.copy()
    for r, col, ch in edits:
        new[r % h, col % w, ch % c] += 1.5
    if nan_rows < h and seed % 3 == 0:
        new[nan_rows, 0, 0] = old[nan_rows, 0, 0] = np.nan  # NaN is never equal to itself: a changed cell
    rows = [r % h for r, _, _ in edits] + ([nan_rows] if nan_rows < h and seed % 3 == 0 else [])
    span = (min(rows), max(rows) + 1) if rows else (0, 0)
    change = LevelChange(new, old, span)
    for ch in range(c):
        r0, r1, c0, c1, changed = change.cells(ch)
        box = _naive_cells(new, old, ch)
        if box is None:
            assert (r0, r1, c0, c1, changed) == NO_CELLS
            continue
        assert (r0, r1, c0, c1) == box
        np.testing.assert_array_equal(changed, new[r0:r1, c0:c1, ch] != old[r0:r1, c0:c1, ch])


@given(st.integers(1, 6), st.integers(1, 300), st.integers(1, 9), st.integers(0, 2**16))
@settings(max_examples=200, deadline=None)
def test_halving_the_columns_reduces_as_numpy_does(n, w, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, w, c)).astype(np.float32)
    if seed % 4 == 0:
        x[rng.integers(n), rng.integers(w), rng.integers(c)] = np.nan
    for ufunc in (np.minimum, np.maximum):
        np.testing.assert_array_equal(reduce_columns(ufunc, x), ufunc.reduce(x, axis=1))
    np.testing.assert_array_equal(reduce_columns(np.logical_or, x > 1), (x > 1).any(axis=1))


def test_nothing_to_compare_with_gives_no_change():
    level = np.zeros((3, 3, 2), np.float32)
    assert level_change(level, None, (0, 1)) is None  # no earlier array
    assert level_change(level, np.zeros((3, 4, 2), np.float32), None) is None  # another shape
    assert level_change(np.zeros(5, np.float32), np.zeros(5, np.float32), None) is None  # a vector
    moved = level.copy()
    moved[2, 1, 1] = 1
    assert level_change(moved, level, None).cells(1)[:4] == (2, 3, 1, 2)  # rows unknown: all compared
