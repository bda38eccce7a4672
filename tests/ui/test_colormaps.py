import numpy as np
import pytest

from cnnviz.ui.colormaps import (
    DIVERGING, GREYS, colorize, format_value, input_levels, symmetric_levels, text_color,
)


def test_diverging_is_blue_white_red_centred_on_zero():
    levels = symmetric_levels(np.array([[-2.0, 0.5]]))
    assert levels == (-2.0, 2.0)
    rgba = colorize(np.array([[-2.0, 0.0, 2.0]]), levels, DIVERGING)[0]
    blue, white, red = rgba[0], rgba[1], rgba[2]
    assert blue[2] > blue[0] and red[0] > red[2]
    assert np.all(white[:3] > 240)


def test_levels_never_collapse():
    assert symmetric_levels(np.zeros((2, 2))) == (-1.0, 1.0)
    assert symmetric_levels() == (-1.0, 1.0)
    assert input_levels(np.full((2, 2), 0.5)) == (0.0, 1.0)
    assert input_levels(np.array([-3.0, 7.0])) == (-3.0, 7.0)


def test_greys_clip_outside_levels():
    rgba = colorize(np.array([-5.0, 0.0, 1.0, 9.0]), (0.0, 1.0), GREYS)
    assert [tuple(c[:3]) for c in rgba] == [(0, 0, 0), (0, 0, 0), (255, 255, 255), (255, 255, 255)]


def test_text_colour_contrasts_with_background():
    assert text_color((0, 0, 0)) == (255, 255, 255)
    assert text_color((255, 255, 255)) == (0, 0, 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [(-6.0, "−6"), (0.0, "0"), (1.25, "1.25"), (1 / 3, "0.33"), (np.float32(0.01), "0.01"),
     (123.456, "123"), (0.001, "1e−03"), (-0.5, "−0.5"), (123456.0, "123456"),
     (1e38, "1e+38"), (-2.5e7, "−2.5e+07")],
)
def test_format_value(value, text):
    assert format_value(value) == text
