"""Your own picture as the input grid: PNG/JPEG -> (H, W, C) float32 in 0..1 (Pillow, no Qt)."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz.io.errors import SessionError
from cnnviz.io.validation import check_regular_file

MODES = {"grey": ("L", 1), "rgb": ("RGB", 3)}
MAX_GRID = 4096  # the core refuses larger inputs; refuse here first with a clearer message
EXIF_ORIENTATION = 0x0112
MAX_PIXELS = 2**26  # a larger picture takes seconds and gigabytes to decode (a decompression bomb, say)


def load_image(path, size=(6, 6), mode="grey") -> np.ndarray:
    """Read an image file, convert to grey (1 channel) or RGB (3 channels), resize to `size` = (H, W).

    Resizing uses Pillow's box filter when shrinking (each cell is the mean of the pixels it covers, so a
    28×28 digit shrunk to 7×7 keeps its strokes) and bilinear when enlarging. Values are scaled to 0..1
    (a 16-bit grey PNG by 65535, everything else by 255).
    """
    name = os.path.basename(os.fspath(path))
    if mode not in MODES:
        raise SessionError(f"{name}: image mode must be one of {', '.join(MODES)}, got {mode!r}")
    rows, cols = _grid_size(name, size)
    with _opened(path, name) as im:
        try:
            im.load()
            upright = ImageOps.exif_transpose(im)  # a phone photo's orientation tag: the grid shows what viewers show
        except (OSError, SyntaxError, ValueError) as e:
            raise SessionError(f"{name}: damaged or truncated image ({e})") from None
        picture, full_scale = _planes(_flatten_alpha(upright), mode)
    shrinking = rows <= picture.height and cols <= picture.width
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    picture = picture.resize((cols, rows), resample=resample)
    values = np.asarray(picture, dtype=np.float32) / np.float32(full_scale)
    if values.ndim == 2 and mode == "rgb":  # 16-bit grey asked for as RGB: three equal channels
        values = np.repeat(values[:, :, None], 3, axis=2)
    return np.ascontiguousarray(values.reshape(rows, cols, MODES[mode][1]))


def image_size(path) -> tuple[int, int]:
    """(H, W) of an image file in pixels, for the import dialog's default grid size."""
    with _opened(path, os.path.basename(os.fspath(path))) as im:
        try:
            turned = im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)  # a quarter turn swaps the sides
        except (OSError, SyntaxError, ValueError):
            turned = False  # unreadable EXIF: load_image reports the damage
        return (im.width, im.height) if turned else (im.height, im.width)


def default_grid(image_hw, grid_hw, limit: int = 256) -> tuple[int, int]:
    """A grid with the picture's proportions whose longer side is the current grid's longer side.

    A 28×56 picture into a 6×6 grid gives 3×6, so a photo is not squashed unless the user asks for it.
    """
    (h, w), longest = image_hw, min(max(grid_hw), limit)
    scale = longest / max(h, w)
    return max(1, min(limit, round(h * scale))), max(1, min(limit, round(w * scale)))


@contextmanager
def _opened(path, name: str):
    """Image.open after the checks a user's file needs: a regular file, an image, not absurdly large."""
    check_regular_file(Path(path), "an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by our own limit
            im = Image.open(path)
    except FileNotFoundError:
        raise SessionError(f"{name}: no such file") from None
    except Image.DecompressionBombError:
        raise SessionError(f"{name}: image is too large to import (at most {MAX_PIXELS} pixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise SessionError(f"{name}: not a readable PNG or JPEG image") from None
    with im:
        if im.width * im.height > MAX_PIXELS:
            raise SessionError(f"{name}: image is too large to import ({im.width}×{im.height} pixels; "
                               f"at most {MAX_PIXELS} pixels)")
        yield im


def _planes(im: Image.Image, mode: str) -> tuple[Image.Image, float]:
    """The picture in a mode Pillow can resize, and the value that means full brightness in it.
    16-bit grey stays 16-bit (as floats): convert("L") would clip everything above 255 to white."""
    if im.mode.startswith("I"):
        return im.convert("F"), 65535.0
    return im.convert(MODES[mode][0]), 255.0


def _grid_size(name: str, size) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SessionError(f"{name}: grid size must be two integers (rows, cols), got {size!r}") from None
    if not (1 <= rows <= MAX_GRID and 1 <= cols <= MAX_GRID):
        raise SessionError(f"{name}: grid size must be between 1×1 and {MAX_GRID}×{MAX_GRID}, got {rows}×{cols}")
    return rows, cols


def _flatten_alpha(im: Image.Image) -> Image.Image:
    """Composite a transparent image on white, as it looks in a viewer (transparent is not black)."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba)
    return im
