"""The legend: its ramp is drawn once per size and colour table, its labels on every paint."""

import numpy as np
import pytest

from cnnviz.ui.colormaps import DIVERGING, GREYS
from cnnviz.ui.heatmap import COLORBAR_WIDTH, ColorBar


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, : 4 * image.width()].copy()


def _legend(qtbot, levels, lut=DIVERGING, height=180):
    bar = ColorBar()
    qtbot.addWidget(bar)
    bar.resize(COLORBAR_WIDTH, height)
    bar.set_levels(levels, lut)
    return bar


@pytest.mark.parametrize("lut", [DIVERGING, GREYS])
@pytest.mark.parametrize("levels", [(-3.0, 3.0), (0.0, 0.25), (-12.5, 40.0), (2.0, 2.0)])
def test_a_legend_whose_range_moved_equals_a_fresh_one(qtbot, levels, lut):
    moved = _legend(qtbot, (-1.0, 1.0), lut)
    before = _pixels(moved)
    moved.set_levels(levels, lut)
    after = _pixels(moved)
    assert np.array_equal(after, _pixels(_legend(qtbot, levels, lut)))
    assert not np.array_equal(after, before)  # the labels moved


def test_the_ramp_runs_through_the_whole_table_whatever_the_range(qtbot):
    shown = {}
    for levels in [(-1.0, 1.0), (-7.0, 3.0), (0.0, 100.0)]:
        img = _legend(qtbot, levels).grab().toImage()
        column = [img.pixelColor(7, y).getRgb()[:3] for y in range(img.height())]
        shown[levels] = column
    assert shown[(-1.0, 1.0)] == shown[(-7.0, 3.0)] == shown[(0.0, 100.0)]
    table = [tuple(int(c) for c in rgba[:3]) for rgba in DIVERGING]
    ramp = [c for c in shown[(-1.0, 1.0)] if c in table]  # the frame and the background left out
    assert ramp[-1] == table[0] and table.index(ramp[0]) >= len(table) - 4  # high at the top, low at the bottom
    assert [table.index(c) for c in ramp] == sorted((table.index(c) for c in ramp), reverse=True)


def test_an_empty_range_is_one_colour(qtbot):
    img = _legend(qtbot, (0.5, 0.5)).grab().toImage()
    colours = {img.pixelColor(7, y).getRgb()[:3] for y in range(20, img.height() - 20)}
    assert colours == {tuple(int(c) for c in DIVERGING[0][:3])}


def test_resized_legend_draws_its_ramp_anew(qtbot):
    bar = _legend(qtbot, (-1.0, 1.0), height=120)
    _pixels(bar)
    bar.resize(COLORBAR_WIDTH, 240)
    assert np.array_equal(_pixels(bar), _pixels(_legend(qtbot, (-1.0, 1.0), height=240)))
