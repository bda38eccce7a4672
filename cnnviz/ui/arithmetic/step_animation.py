"""The step-through as an animation for slides: every step of a step model painted exactly as its dock's
canvas paints it (the same painter, margins and cached grid pictures), the sum of that step written in a
band under it, and the frames handed to io.animation (GIF, APNG or numbered PNGs).

Any step model exports: it needs `steps` (a sized sequence) and `formula_lines(k)`, and is painted by its
own `paint(painter, rect, k)` when it has one (the backward step-through's), else by step_painter.paint_step
(the forward, transposed and pooling steps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPicture

from cnnviz.io.animation import check_animation, check_fps, write_animation
from cnnviz.io.errors import SessionError
from cnnviz.ui.arithmetic.base import scene_rect
from cnnviz.ui.arithmetic.step_kinds import KIND_NAMES, has_steps, step_model_for
from cnnviz.ui.arithmetic.step_model import StepModel
from cnnviz.ui.arithmetic.step_painter import paint_step
from cnnviz.ui.grid_painter import GridCache, cached, pixel_font

FORMULA_PX = 18.0  # the sum under the picture: a little larger than the dock writes it, for slides
FORMULA_PAD = 8.0
FORMULA_BACK, FORMULA_EDGE, INK = QColor("#f7f7f2"), QColor("#dddddd"), QColor(20, 20, 20)
FLAGS = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
NATURAL_CELL = 40.0  # `cnnviz render --animate` sizes its picture so that its smallest grid gets cells this big
MIN_CANVAS, MAX_CANVAS = QSize(320, 160), QSize(4096, 2160)


@dataclass(frozen=True)
class FrameLayout:
    """Every frame of one animation: the picture (the canvas's size), the band for the sum, the scale."""

    canvas: QSize  # logical pixels
    formula_h: float  # logical pixels; 0: no band
    scale: float

    @property
    def pixels(self) -> QSize:
        return QSize(round(self.canvas.width() * self.scale),
                     round((self.canvas.height() + self.formula_h) * self.scale))


def paint_model_step(painter: QPainter, rect: QRectF, model, k: int) -> dict:
    """Step `k` of any step model into `rect`: its own painter, or the forward step-through's."""
    paint = getattr(model, "paint", None)
    return paint(painter, rect, k) if paint is not None else paint_step(painter, rect, model, k)


def _smallest_cell(model, k: int, width: float, height: float) -> float:
    """The smallest cell any grid of step `k` gets on a canvas of this size (painted nowhere: a QPicture
    records the layout without drawing a pixel)."""
    picture = QPicture()
    painter = QPainter(picture)
    geometries = paint_model_step(painter, scene_rect(width, height), model, k)
    painter.end()
    return min((g.cell for g in geometries.values() if hasattr(g, "cell")), default=0.0)


def natural_canvas(model, cell: float = NATURAL_CELL) -> QSize:
    """The canvas the content asks for: tall enough that the smallest grid's cells are `cell` pixels when
    width is no limit, then no wider than those cells need (within MIN_CANVAS..MAX_CANVAS)."""
    wide, height = float(MAX_CANVAS.width()), 420.0
    for _ in range(3):  # titles and margins do not scale with the height: a few rounds settle it
        got = _smallest_cell(model, 0, wide, height)
        if got <= 0:
            break
        height = min(max(height * cell / got, MIN_CANVAS.height()), MAX_CANVAS.height())
    target = _smallest_cell(model, 0, wide, height) * 0.99
    lo, hi = float(MIN_CANVAS.width()), wide
    while hi - lo > 4:  # the narrowest canvas that still gives those cells
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if _smallest_cell(model, 0, mid, height) >= target else (mid, hi)
    return QSize(int(np.ceil(hi)), int(np.ceil(height)))


def _formula_text(model: StepModel, k: int) -> str:
    return "\n".join(model.formula_lines(k))


def _text_rect(width: float, top: float, height: float) -> QRectF:
    """Where the sum is written in a band `width` wide starting at `top`."""
    return QRectF(FORMULA_PAD, top + FORMULA_PAD, width - 2 * FORMULA_PAD, height - 2 * FORMULA_PAD)


def frame_layout(model: StepModel, canvas: QSize, scale: float = 1.0, formula: bool = True) -> FrameLayout:
    """One frame size for the whole animation: the band is as tall as the longest step's sum needs."""
    height = 0.0
    if formula:
        metrics, box = QFontMetricsF(pixel_font(FORMULA_PX)), _text_rect(canvas.width(), 0, 1e6)
        tallest = max(metrics.boundingRect(box, FLAGS, _formula_text(model, k)).height()
                      for k in range(len(model.steps)))
        height = float(np.ceil(tallest + 2 * FORMULA_PAD))
    return FrameLayout(QSize(canvas), height, float(scale))


def render_frame(model: StepModel, k: int, layout: FrameLayout, cache: GridCache | None = None) -> QImage:
    """Step `k`: the canvas's picture on top (pixel for pixel the dock's at scale 1), its sum below."""
    size = layout.pixels
    image = QImage(size.width(), size.height(), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(layout.scale)
    image.fill(QColor("white"))
    painter = QPainter(image)
    with cached(cache if cache is not None else GridCache()):
        paint_model_step(painter, scene_rect(layout.canvas.width(), layout.canvas.height()), model, k)
    if layout.formula_h:
        band = QRectF(0, layout.canvas.height(), layout.canvas.width(), layout.formula_h)
        painter.fillRect(band.adjusted(4, 0, -4, -4), FORMULA_BACK)
        painter.setPen(FORMULA_EDGE)
        painter.drawRect(band.adjusted(4, 0, -4, -4))
        painter.setPen(INK)
        painter.setFont(pixel_font(FORMULA_PX))
        painter.drawText(_text_rect(band.width(), band.top(), band.height()), FLAGS, _formula_text(model, k))
    painter.end()
    return image


def image_array(image: QImage) -> np.ndarray:
    """(H, W, 4) uint8 RGBA copy of a QImage's pixels."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    return np.frombuffer(rgba.constBits(), np.uint8, count=h * rgba.bytesPerLine()).reshape(
        h, rgba.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def frames(model: StepModel, layout: FrameLayout,
           on_frame: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """Every step's frame in order, drawn as it is asked for (one grid cache for all: the grids a step
    does not change are drawn once). `on_frame(done, count)` is called after each (it may raise to stop)."""
    cache = GridCache()
    count = len(model.steps)
    for k in range(count):
        frame = image_array(render_frame(model, k, layout, cache))
        if on_frame is not None:
            on_frame(k + 1, count)
        yield frame


def export_animation(model: StepModel, path, fps: float, canvas: QSize | None = None, scale: float = 1.0,
                     formula: bool = True, on_frame: Callable[[int, int], None] | None = None,
                     before_write: Callable[[], None] | None = None) -> list[Path]:
    """Write every step of `model` to `path` (.gif, .apng, or .png for numbered frames); the files written.
    `canvas` is the picture's size in logical pixels (None: the content's natural size), `on_frame` hears of
    every frame drawn, `before_write` is called before an animated file is written (both may raise to stop:
    no file is left). Bad rates, names and sizes are refused (SessionError) before any frame is drawn."""
    check_fps(fps)
    count = len(model.steps)
    check_animation(path, count, 1, 1)  # the name and the count before any layout work
    canvas = natural_canvas(model) if canvas is None else canvas
    # the count and the picture first: measuring the sums reads every step
    check_animation(path, count, round(canvas.width() * scale), round(canvas.height() * scale))
    layout = frame_layout(model, canvas, scale, formula)
    check_animation(path, count, layout.pixels.width(), layout.pixels.height())
    return write_animation(frames(model, layout, on_frame), path, fps, count, before_write)


def session_step_model(session, layer: int | None = None, as_convolution: bool = False) -> StepModel:
    """The steps of a loaded session's layer `layer` (1-based; None: the first the step-through shows)."""
    layers = session.pipeline.layers
    sliding = [i for i, lay in enumerate(layers, start=1) if has_steps(lay)]
    kinds = KIND_NAMES
    if not sliding:
        raise SessionError(f"no layer to step through: the step-through shows {kinds} layers, and this pipeline "
                           "has none")
    index = sliding[0] if layer is None else layer
    if index not in sliding:
        raise SessionError(f"--layer {index}: {layers[index - 1].label} has no step-through: the step-through shows "
                           f"{kinds} layers (here layer{'s' if len(sliding) > 1 else ''} "
                           f"{', '.join(map(str, sliding))})")
    levels = [session.input, *session.pipeline.run(session.input, training=bool(session.view.get("training")))]
    return step_model_for(layers, levels, index, as_convolution)
