"""Reading untrusted JSON files: parse, then check types and shapes with messages that name the file and
the place in it (``lecture.cnnviz.json: layers[2].config.strides: expected ...``). Generic: the session
format (session.py) and the Keras-config importer (keras_config.py) build their checks on this."""

from __future__ import annotations

import binascii
import json
import math
import re
import stat
from pathlib import Path

import numpy as np

from cnnviz.io.errors import SessionError
from cnnviz.io.paths import shown_name

MAX_DIGITS = 100  # an integer longer than this is no size, seed or value cnnviz can use
# A large array may be one base64 block of its little-endian bytes (docs/session-files.md): dtype -> numpy's.
BLOCK_DTYPES = {"float32": np.dtype("<f4"), "bool": np.dtype("u1")}
BLOCK_KEYS = {"dtype", "shape", "base64"}


def check_regular_file(path: Path, what: str) -> int:
    """The size of a regular file, else SessionError. A pipe or device is refused before it is opened:
    reading one would wait for a writer forever (or never end)."""
    name = shown_name(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SessionError(f"{name}: no such file", path=path) from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        raise SessionError(f"{name}: cannot read ({getattr(e, 'strerror', None) or e})", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise SessionError(f"{name}: is a folder, not {what}", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise SessionError(f"{name}: not a regular file (a pipe or device), so not readable here", path=path)
    return st.st_size


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise SessionError(f"{shown_name(path)}: cannot read ({e.strerror or e})", path=path) from None


def parse_json(raw: bytes | str, source: str, what: str = "a cnnviz session"):
    """JSON text -> Python data. NaN, Infinity and integers of more than MAX_DIGITS digits become markers
    that the validators report with their place (Python itself refuses ints of over 4300 digits, placeless)."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise SessionError(f"{source}: not a text file (not UTF-8), so not {what}") from None
    try:
        return json.loads(text, parse_constant=_NonFinite, parse_int=_read_int)
    except json.JSONDecodeError as e:
        raise SessionError(f"{source}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise SessionError(f"{source}: not valid JSON: nested too deeply") from None


class _NonFinite:
    """A NaN/Infinity token (or a huge integer) found while parsing; never a valid number."""

    def __init__(self, token: str):
        self.token = token

    def __repr__(self):
        return self.token


def _read_int(text: str):
    digits = len(text.lstrip("-"))
    return int(text) if digits <= MAX_DIGITS else _NonFinite(f"an integer of {digits} digits")


class _Reader:
    """Raises SessionError("<file>: <place>: <problem>") and converts nested lists to checked arrays."""

    def __init__(self, source: str, max_values: int = 2**26):
        self.source = source
        self.max_values = max_values  # the largest array a file may hold, checked before it is built

    def fail(self, place: str, problem: str):
        raise SessionError(f"{self.source}: {place}: {problem}" if place else f"{self.source}: {problem}",
                           path=self.source, place=place)

    def need(self, obj: dict, key: str, place: str):
        if key not in obj:
            self.fail(f"{place}.{key}" if place else key, "missing")
        return obj[key]

    def no_unknown_keys(self, obj: dict, known: set, place: str):
        for key in obj:
            if key not in known:
                self.fail(join_place(place, key), f"unknown field (expected {', '.join(sorted(known))})")

    def array(self, value, place: str, ndim: int, dtype) -> np.ndarray:
        """A nested list of `ndim` levels (or a base64 block) -> array; the first bad element is reported
        by its index."""
        if isinstance(value, dict):
            return self._block(value, place, ndim, dtype)
        want = bool if dtype is bool else (int, float)
        shape = _first_shape(value, ndim)
        if math.prod(shape) > self.max_values:
            self.fail(place, f"more than {self.max_values} values")
        checked = _well_formed(value, ndim, want)
        if checked is not None:
            return np.ascontiguousarray(checked.astype(dtype))
        # Something is wrong: the walk in Python names the first ragged, mistyped or non-finite element
        # (np.array would quietly turn true into 1). It is ~20 times slower than the check above.
        self._find_bad(value, place, ndim, want, shape, place)
        raise AssertionError(f"{place}: refused by the fast check but not by the walk")

    def _block(self, value: dict, place: str, ndim: int, dtype) -> np.ndarray:
        """{"dtype", "shape", "base64"} -> array. The shape and the text's length are checked before anything
        is decoded, so a block claiming a billion values costs nothing."""
        self.no_unknown_keys(value, BLOCK_KEYS, place)
        kind = "bool" if dtype is bool else "float32"
        given = self.need(value, "dtype", place)
        if given != kind:
            self.fail(f"{place}.dtype", f"expected \"{kind}\", got {_show(given)}")
        shape = self.need(value, "shape", place)
        if not (isinstance(shape, list) and len(shape) == ndim and all(_is_int(n) and n > 0 for n in shape)):
            self.fail(f"{place}.shape", f"expected {ndim} positive integers (rows, columns, ...), got {_show(shape)}")
        if math.prod(shape) > self.max_values:
            self.fail(f"{place}.shape", f"{_dims(shape)} is more than {self.max_values} values")
        text = self.need(value, "base64", place)
        if not isinstance(text, str):
            self.fail(f"{place}.base64", f"expected a base64 string, got {_kind(text)}")
        item = BLOCK_DTYPES[kind]
        size = math.prod(shape) * item.itemsize
        if len(text) != 4 * math.ceil(size / 3):
            self.fail(f"{place}.base64", f"{len(text):,} characters, but {_dims(shape)} {kind} values are {size:,} "
                                         f"bytes: {4 * math.ceil(size / 3):,} characters of base64")
        try:
            raw = binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError) as e:  # ValueError: a character beyond ASCII
            self.fail(f"{place}.base64", f"not valid base64 ({e})")
        if len(raw) != size:  # padding '=' can hide a byte or two
            self.fail(f"{place}.base64", f"{len(raw):,} bytes, but {_dims(shape)} {kind} values are {size:,}")
        a = np.frombuffer(raw, item).reshape(shape)
        bad = ~np.isfinite(a) if kind == "float32" else a > 1
        if bad.any():
            first = tuple(np.argwhere(bad)[0])
            what = "a finite number" if kind == "float32" else "true or false (byte 0 or 1)"
            self.fail(place + "".join(f"[{i}]" for i in first), f"expected {what}, got {a[first].item()!r}")
        return a.astype(dtype)  # a writable copy, native byte order

    def _find_bad(self, value, place, ndim, want, shape, root, depth=0):
        """Walk the nested lists to report the first ragged, mistyped or non-finite element. Every list at
        a depth must be as long as the first one there (`shape`), cousins included, not only siblings."""
        if ndim == 0:
            if isinstance(value, _NonFinite) or (want != bool and _is_number(value) and not _fits_float32(value)):
                self.fail(place, f"expected a finite number, got {value!r}")
            if want == bool and not isinstance(value, bool):
                self.fail(place, f"expected true or false, got {_show(value)}")
            if want != bool and not _is_number(value):
                self.fail(place, f"expected a number, got {_show(value)}")
            return
        if not isinstance(value, list):
            block = " or a base64 block" if depth == 0 else ""
            self.fail(place, f"expected a list ({ndim} more level{'s' if ndim > 1 else ''} of nesting){block}, "
                             f"got {_show(value)}")
        if not value:
            self.fail(place, "expected a non-empty list")
        if depth < len(shape) and len(value) != shape[depth]:
            entries = f"{shape[depth]} entr{'y' if shape[depth] == 1 else 'ies'}"
            self.fail(place, f"expected {entries} like {root}{'[0]' * depth}, got {len(value)} (ragged array)")
        for i, v in enumerate(value):
            self._find_bad(v, f"{place}[{i}]", ndim - 1, want, shape, root, depth + 1)


def _well_formed(value, ndim: int, want):
    """The nested lists as an array when they are a non-empty `ndim`-level grid of only `want` values (exact
    types: a true is no number) that fit float32; else None."""
    try:
        grid = np.array(value, dtype=object)
    except ValueError:  # ragged
        return None
    if grid.ndim != ndim or grid.size == 0:
        return None
    types = set(map(type, grid.ravel().tolist()))
    if not types <= ({bool} if want == bool else {int, float}):
        return None
    if want == bool:
        return grid
    numbers = grid.astype(np.float64)
    return numbers if np.all(np.abs(numbers) <= 3.4028234663852886e38) else None  # NaN fails too


def join_place(place: str, key: str) -> str:
    """`place.key`, or `place["key"]` (JSON-escaped, shortened) for a key a file made up: a newline or
    control character in it would otherwise break the one-line message."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", key):
        return f"{place}.{key}" if place else key
    text = json.dumps(key)
    return f"{place}[{text if len(text) <= 40 else text[:38] + '...'}]"


def _fits_float32(v) -> bool:
    return math.isfinite(v) and abs(v) <= 3.4028234663852886e38


def _first_shape(value, ndim) -> tuple[int, ...]:
    """The lengths down the first elements (as many levels as are lists): the shape every row must have,
    and a cheap size guard before np.array on a huge file."""
    shape = []
    for _ in range(ndim):
        if not isinstance(value, list) or not value:
            break
        shape.append(len(value))
        value = value[0]
    return tuple(shape)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number")


def _show(v) -> str:
    text = json.dumps(v, default=repr) if not isinstance(v, _NonFinite) else v.token
    return text if len(text) <= 60 else text[:57] + "..."


def _dims(shape) -> str:
    return "×".join(str(int(s)) for s in shape)
