"""Animations for slides: a sequence of frames (H×W×3 or ×4 uint8 arrays) as an animated GIF, an APNG, or
numbered PNG files, with Pillow (no Qt here; the UI renders the frames).

The format follows the name: `.gif` and `.apng` are one animated file each (looping); `.png` is a series,
`steps.png` -> `steps-001.png`, `steps-002.png`, … (one slide per step, or the input of a video tool).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from cnnviz.io.errors import SessionError
from cnnviz.io.session import write_atomic

KINDS = {".gif": "gif", ".apng": "apng", ".png": "frames"}
MIN_FPS, MAX_FPS = 0.1, 50.0  # GIF counts in hundredths of a second; viewers slow anything faster than 50/s
MAX_FRAMES = 5000
# every frame of a GIF (1 byte a pixel once quantised) or an APNG (3) is held until the file is written: at
# most what a figure's PNG may take (512 MB)
MAX_BYTES = 2**29
HELD_BYTES = {"gif": 1, "apng": 3, "frames": 0}


def animation_kind(path) -> str:
    """ "gif", "apng" or "frames" (numbered PNGs) from the name; a SessionError for anything else."""
    kind = KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise SessionError(f"{Path(path).name}: cannot tell the animation format: use a .gif or .apng name for "
                           "one animated file, or .png for numbered frames")
    return kind


def check_fps(fps: float) -> float:
    if not (math.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
        raise SessionError(f"frames per second must be between {MIN_FPS:g} and {MAX_FPS:g}, got {fps:g}")
    return float(fps)


def check_animation(path, count: int, width: int, height: int) -> None:
    """Refuse, before any frame is drawn, an animation the machine cannot hold."""
    name = Path(path).name
    if count < 1:
        raise SessionError(f"{name}: an animation needs at least one frame")
    if count > MAX_FRAMES:
        raise SessionError(f"{name}: {count} steps are more than {MAX_FRAMES} frames: step through a smaller "
                           "input or fewer filters")
    held = count * width * height * HELD_BYTES[animation_kind(path)]
    if held > MAX_BYTES:
        raise SessionError(f"{name}: {count} frames of {width}×{height} pixels take {held / 2**20:,.0f} MB until "
                           f"the file is written, more than {MAX_BYTES // 2**20} MB: use a smaller scale, or "
                           "numbered .png frames (written one at a time)")


def frame_paths(path, count: int) -> list[Path]:
    """`steps.png` -> steps-001.png … (at least three digits, more when the count needs them)."""
    path = Path(path)
    digits = max(3, len(str(count)))
    return [path.with_name(f"{path.stem}-{k:0{digits}d}{path.suffix}") for k in range(1, count + 1)]


def _image(frame: np.ndarray, size: tuple[int, int] | None) -> Image.Image:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be an H×W×3 or H×W×4 uint8 array, got {frame.dtype} {frame.shape}")
    if size is not None and frame.shape[:2] != size:
        raise ValueError(f"every frame must be {size[1]}×{size[0]}, got {frame.shape[1]}×{frame.shape[0]}")
    return Image.fromarray(np.ascontiguousarray(frame[:, :, :3]), "RGB")


def write_animation(frames: Iterable[np.ndarray], path, fps: float, count: int,
                    before_write: Callable[[], None] | None = None) -> list[Path]:
    """Write `count` frames to `path` (format from its name) at `fps`; returns the files written.

    Frames are drawn lazily by the caller's iterator: numbered PNGs are written one at a time; GIF and
    APNG need them all first (Pillow). GIF frames get an adaptive 256-colour palette each; APNG and PNG are
    lossless. Pillow merges a frame identical to the one before into one longer frame.

    Stopped by an exception (the iterator's, or `before_write`'s, called once the animated file is encoded
    and before it is written), it leaves no file behind: numbered frames written so far are removed."""
    kind, path = animation_kind(path), Path(path)
    duration = 1000.0 / check_fps(fps)
    if kind == "frames":
        written = []
        size = None
        try:
            for target, frame in zip(frame_paths(path, count), frames):
                image = _image(frame, size)
                size = size or (image.height, image.width)
                buffer = io.BytesIO()
                image.save(buffer, "PNG")
                write_atomic(target, buffer.getvalue())
                written.append(target)
        except BaseException:
            for target in written:
                target.unlink(missing_ok=True)
            raise
        return written
    images, size = [], None
    for frame in frames:
        image = _image(frame, size)
        size = size or (image.height, image.width)
        # quantised as each frame arrives: a GIF holds 1 byte per pixel in memory, not 3
        images.append(image.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) if kind == "gif"
                      else image)
    if not images:
        raise SessionError(f"{path.name}: an animation needs at least one frame")
    buffer = io.BytesIO()
    options = dict(save_all=True, append_images=images[1:], duration=duration, loop=0)
    if kind == "gif":
        images[0].save(buffer, "GIF", optimize=False, disposal=1, **options)
    else:
        images[0].save(buffer, "PNG", default_image=False, **options)
    if before_write is not None:
        before_write()
    write_atomic(path, buffer.getvalue())
    return [path]
