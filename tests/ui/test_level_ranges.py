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
    ranges.update(1, arrays[0])
    ranges.update(2, arrays[1])
    for r, length, value in edits:
        first = min(r, h - 1)
        last = min(h, first + length)
        new = arrays[0].copy()
        new[first:last] = value  # rows first..last−1 (none when length is 0)
        ranges.update(1, new, (first, last))
        arrays[0] = new
        assert ranges.seen(1) is new
        assert ranges.symmetric(1) == symmetric_levels(new)
        assert ranges.input(1) == input_levels(new)
        assert ranges.symmetric(1, 2) == symmetric_levels(*arrays)


def test_a_new_shape_or_unknown_rows_read_the_array_whole():
    ranges = LevelRanges()
    ranges.update(0, np.zeros((3, 3, 1), np.float32))
    ranges.update(0, np.full((4, 3, 1), -2, np.float32), (0, 1))  # another shape: its rows say nothing
    assert ranges.symmetric(0) == (-2.0, 2.0)
    ranges.update(0, np.full((4, 3, 1), 5, np.float32))  # rows unknown
    assert ranges.input(0) == (0.0, 5.0)
