"""The step-through as an animation for slides: every step of a StepModel painted exactly as the dock's
canvas paints it (the same paint_step, margins and cached grid pictures), the sum of that step written in a
band under it, and the frames handed to io.animation (GIF, APNG or numbered PNGs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter

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
CANVAS = QSize(1200, 420)  # the picture of `cnnviz render --animate` (the app uses its dock's canvas size)


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
        paint_step(painter, scene_rect(layout.canvas.width(), layout.canvas.height()), model, k)
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


def frames(model: StepModel, layout: FrameLayout) -> Iterator[np.ndarray]:
    """Every step's frame in order, drawn as it is asked for (one grid cache for all: the grids a step
    does not change are drawn once)."""
    cache = GridCache()
    for k in range(len(model.steps)):
        yield image_array(render_frame(model, k, layout, cache))


def export_animation(model: StepModel, path, fps: float, canvas: QSize = CANVAS, scale: float = 1.0,
                     formula: bool = True) -> list[Path]:
    """Write every step of `model` to `path` (.gif, .apng, or .png for numbered frames); the files written.
    Bad rates, names and sizes are refused (SessionError) before any frame is drawn."""
    check_fps(fps)
    count = len(model.steps)
    # the count and the picture first: measuring the sums reads every step
    check_animation(path, count, round(canvas.width() * scale), round(canvas.height() * scale))
    layout = frame_layout(model, canvas, scale, formula)
    check_animation(path, count, layout.pixels.width(), layout.pixels.height())
    return write_animation(frames(model, layout), path, fps, count)


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
