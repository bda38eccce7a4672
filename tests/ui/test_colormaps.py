import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.ui.colormaps import (
    DIVERGING, GREYS, colorize, format_shapes, format_value, input_levels, light_cells, symmetric_levels,
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
    assert light_cells(np.array([[0, 0, 0], [255, 255, 255], [120, 150, 140], [120, 160, 140]])).tolist() == [
        False, True, False, True]  # white text on dark cells, black on light ones: luminance 140 between


@pytest.mark.parametrize(
    ("value", "text"),
    [(-6.0, "−6"), (0.0, "0"), (1.25, "1.25"), (1 / 3, "0.33"), (np.float32(0.01), "0.01"),
     (123.456, "123"), (0.001, "1e−03"), (-0.5, "−0.5"), (123456.0, "123456"),
     (1e38, "1e+38"), (-2.5e7, "−2.5e+07")],
)
def test_format_value(value, text):
    assert format_value(value) == text


def _naive_shapes(values):
    return {format_value(v).translate(str.maketrans("123456789", "000000000")) for v in np.ravel(values).tolist()}


# the edges of format_value's cases: near-integers, 100, 0.005, 1e6, halves of hundredths, and their neighbours
_EDGES = [0.0, -0.0, 5e-5, 4.9999e-5, 0.005, 0.0049999, 0.00995, 0.0995, 0.995, 9.995, 99.995, 99.99499, 100.0,
          100.5, 999.5, 99999.5, 999999.99996, 1e6, 1.125, 2.675, 0.125, 1e-300, 12.25, 0.3333, 5e-4, 9.5e-4]


@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                          st.floats(-1e7, 1e7), st.sampled_from(_EDGES + [-e for e in _EDGES]),
                          st.integers(-10**7, 10**7).map(lambda n: n / 100),
                          st.integers(-10**5, 10**5).map(lambda n: n / 200)), max_size=60))
def test_the_shapes_of_a_maps_numbers_are_those_format_value_writes(values):
    assert format_shapes(np.array(values, dtype=np.float64)) == _naive_shapes(values)
    as_f32 = np.array(values, dtype=np.float32)
    assert format_shapes(as_f32) == _naive_shapes(as_f32)


def test_the_shapes_of_numbers_name_sign_digits_decimals_and_exponent():
    assert format_shapes(np.array([3.0, -12.25, 0.5, 0.003, -0.0004, 250.4, 2e7])) == {
        "0", "−00.00", "0.0", "0e−00", "−0e−00", "000", "0e+00"}
