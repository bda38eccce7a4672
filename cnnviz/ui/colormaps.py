"""Colours shared by the live heatmaps and the exported figures (numpy only, no Qt).

Signed maps use a diverging blue-white-red map centred on 0 with symmetric levels; the input uses greys
(docs/drawing.md, "Colours").
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

# ColorBrewer RdBu stops, reversed so that negative is blue and positive is red.
_RDBU = np.array(
    [
        (5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240), (247, 247, 247),
        (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43), (103, 0, 31),
    ],
    dtype=float,
)


def _lut_from_stops(stops: np.ndarray, n: int = 256) -> np.ndarray:
    t = np.linspace(0.0, 1.0, len(stops))
    u = np.linspace(0.0, 1.0, n)
    rgb = np.stack([np.interp(u, t, stops[:, i]) for i in range(3)], axis=1)
    return np.concatenate([np.round(rgb), np.full((n, 1), 255.0)], axis=1).astype(np.uint8)


DIVERGING = _lut_from_stops(_RDBU)
GREYS = _lut_from_stops(np.array([(0, 0, 0), (255, 255, 255)], dtype=float))


def symmetric_levels(*arrays: np.ndarray) -> tuple[float, float]:
    """(−m, m) with m the largest magnitude over the arrays (1 when all are zero or empty)."""
    m = max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    m = m if np.isfinite(m) and m > 0 else 1.0
    return -m, m


def input_levels(*arrays: np.ndarray) -> tuple[float, float]:
    """Greys range for pixels: at least 0..1, stretched to include every value."""
    lo = min((float(np.min(a)) for a in arrays if np.size(a)), default=0.0)
    hi = max((float(np.max(a)) for a in arrays if np.size(a)), default=1.0)
    lo, hi = min(lo, 0.0), max(hi, 1.0)
    return lo, hi


def level_style(level: int, array: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """(lut, levels) of a map at pipeline `level`: greys for the input image, the diverging map centred on 0
    for every computed map."""
    return (GREYS, input_levels(array)) if level == 0 else (DIVERGING, symmetric_levels(array))


def color_index(values: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """The entry of `lut` each value gets, clipping to `levels`."""
    lo, hi = levels
    span = hi - lo if hi > lo else 1.0
    idx = np.clip((np.asarray(values, dtype=float) - lo) / span, 0.0, 1.0) * (len(lut) - 1)
    return np.round(idx).astype(int)


def colorize(values: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """Map a 2-D array to RGBA uint8 through `lut`, clipping to `levels`."""
    return lut[color_index(values, levels, lut)]


def light_cells(rgba: np.ndarray) -> np.ndarray:
    """Where black text reads better than white on these colours (the last axis RGB or RGBA)."""
    return 0.299 * rgba[..., 0].astype(float) + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2] > 140


def format_value(v: float) -> str:
    """Short text for a cell: integers without a point, else at most 2 decimals ("−" is a real minus)."""
    return _format(float(v))


@lru_cache(maxsize=1 << 16)  # maps and step-throughs write the same few values again after every edit
def _format(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if abs(v) >= 1e6:  # a cell is a few characters wide: 1e+38, not 38 digits
        text = f"{v:.3g}"
    elif abs(v - round(v)) < 5e-5:
        text = str(int(round(v)))
    elif abs(v) >= 100:
        text = f"{v:.0f}"
    elif abs(v) >= 0.005:  # float32 0.01 is 0.0099999998: still "0.01", not "1e-02"
        text = f"{v:.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{v:.0e}"
    return text.replace("-", "−")


def format_shapes(values) -> set[str]:
    """The texts format_value writes for `values` with every digit written 0 ("−0.00", "0e−00"): a map's numbers
    need cells as wide as these. Worked out with numpy from each value's sign, digits and decimals: a 128×128 map
    takes about 0.3 ms, writing its 16,384 numbers out about 60."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return coded_shapes(shape_codes(v), v)


def shape_codes(v: np.ndarray) -> np.ndarray:
    """Per value of the 1-D float64 `v`, a number for the shape of its text (coded_shapes reads it), or −1 where
    numpy cannot settle the text (not finite, 1e6 or more, a hundredth's half within rounding).

    In float arithmetic on whole numbers (exact below 2^53): numpy's int64 division and remainder are not
    vectorised and took two thirds of the time. A whole map changes at every weight edit (65,536 values: 0.8 ms,
    1.9 ms with int64)."""
    a = np.abs(v)
    with np.errstate(invalid="ignore"):
        whole = np.rint(v)
        integer = np.abs(v - whole) < 5e-5
        hundredths = a * 100
        mid = ~integer & (a >= 0.005) & (a < 100)  # written with hundredths
        slow = ~np.isfinite(v) | (a >= 1e6) | (mid & (np.abs(hundredths - np.floor(hundredths) - 0.5) < 1e-9))
        q = np.where(mid, np.rint(hundredths), 0.0)  # the hundredths written, a whole number
        units = np.floor(q / 100)  # exact: q / 100 lies 0.01 or more from any other whole number
        number = np.abs(whole)
        number[slow] = 0
        np.copyto(number, units, where=mid)
        # decimals after rstrip("0"): 0 when q is whole hundreds, 1 when whole tens, else 2 (only where mid)
        tens = q / 10
        decimals = np.int16(2) * mid - (mid & (tens == np.floor(tens))) - (mid & (q == units * 100))
    digits = 1 + (number >= 10).astype(np.int16) + (number >= 100)
    big = np.flatnonzero(number >= 1000)  # rare: searched on their own
    digits[big] = 1 + np.searchsorted(_TENS, number[big], side="right")
    # digits alone (0), hundredths (1), an exponent (2)
    kinds = mid.astype(np.int16) + np.int16(2) * (~integer & (a < 0.005))
    negative = (v < 0) & ~(integer & (whole == 0))  # a near-zero writes "0", never "−0"
    codes = negative * np.int16(90) + kinds * np.int16(30) + digits * np.int16(3) + decimals
    codes[slow] = -1
    return codes


def coded_shapes(codes: np.ndarray, v: np.ndarray) -> set[str]:
    """The shapes of the texts of `v`, whose shape_codes are `codes`."""
    shapes = {format_value(x).translate(DIGITS_AS_ZERO) for x in v[codes < 0].tolist()}
    for code in np.flatnonzero(np.bincount(codes[codes >= 0])).tolist():
        code, decimals = divmod(code, 3)
        code, digits = divmod(code, 10)
        sign, kind = divmod(code, 3)
        body = "0e−00" if kind == 2 else "0" * digits + ("." + "0" * decimals if decimals else "")
        shapes.add("−" * sign + body)
    return shapes


_TENS = 10 ** np.arange(1, 8)  # a number of k digits is at least the (k-1)th of these
DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")  # a text's shape: its width in a font of tabular digits
