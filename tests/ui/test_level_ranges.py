"""LevelRanges (the colour ranges kept per row) against the ranges of the whole arrays."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.ui.colormaps import input_levels, symmetric_levels
from cnnviz.ui.level_ranges import LevelRanges


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.lists(st.tuples(st.integers(0, 8), st.integers(0, 9),
                                                                           st.floats(-50, 50, width=32)), max_size=8),
       st.integers(0, 2**16))
@settings(max_examples=200, deadline=None)
def test_ranges_after_row_edits_equal_those_of_the_whole_arrays(h, w, c, edits, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((h, w, c)).astype(np.float32) * 3, rng.standard_normal(5).astype(np.float32)]
    ranges = LevelRanges()
    ranges.update(1, arrays[0], channels=True)
    ranges.update(2, arrays[1])
    for r, length, value in edits:
        first = min(r, h - 1)
        last = min(h, first + length)
        new = arrays[0].copy()
        new[first:last] = value  # rows first..last−1 (none when length is 0)
        ranges.update(1, new, (first, last), channels=True)
        arrays[0] = new
        assert ranges.seen(1) is new
        assert ranges.symmetric(1) == symmetric_levels(new)
        assert ranges.input(1) == input_levels(new)
        assert ranges.symmetric(1, 2) == symmetric_levels(*arrays)
        assert ranges.channels(1) == [symmetric_levels(new[:, :, ch]) for ch in range(c)]


def test_a_new_shape_or_unknown_rows_read_the_array_whole():
    ranges = LevelRanges()
    ranges.update(0, np.zeros((3, 3, 1), np.float32))
    ranges.update(0, np.full((4, 3, 1), -2, np.float32), (0, 1))  # another shape: its rows say nothing
    assert ranges.symmetric(0) == (-2.0, 2.0)
    ranges.update(0, np.full((4, 3, 1), 5, np.float32))  # rows unknown
    assert ranges.input(0) == (0.0, 5.0)


def test_per_channel_ranges_are_read_whole_again_after_a_level_went_without_them():
    ranges = LevelRanges()
    level = np.zeros((40, 40, 2), np.float32)
    ranges.update(1, level, channels=True)
    new = level.copy()
    new[3, 39, 1] = -7
    ranges.update(1, new, (3, 4))  # not kept up to date here...
    newer = new.copy()
    newer[5, 0, 0] = np.nan
    ranges.update(1, newer, (5, 6), channels=True)  # ...so this reads the array whole
    assert ranges.channels(1) == [(-1.0, 1.0), (-7.0, 7.0)]  # a NaN gives the default range, as read whole
    assert ranges.channels(1) == [symmetric_levels(newer[:, :, ch]) for ch in range(2)]
