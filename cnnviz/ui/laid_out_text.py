"""Texts laid out once and drawn again: the numbers of maps, strips and step-through grids.

A map writes the same few numbers at every paint ("0", "0.25", ...). `painter.drawText(rect, flags, text)` lays
each one out again on every call; a QStaticText keeps the layout, and drawing it takes about half the time
(benchmarks/bench_text.py). The writer here places it where drawText would, pixel for pixel, and falls back to
drawText where the two differ: a text wider or taller than its rect (drawText clips it), a painter that scales,
and painters that are not raster ones (an SVG or PDF keeps its numbers as text).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPaintEngine, QPainter, QStaticText, QTransform

MAX_FONTS, MAX_TEXTS = 64, 4096  # fonts kept, and laid-out texts kept per font: past them a cache starts afresh

# one set per thread: an animation export paints its frames in a worker while the window paints its own
_local = threading.local()


def _texts_for(font: QFont) -> tuple[dict, QFontMetricsF, float]:
    """This thread's laid-out texts in `font`, the font's metrics and its line height (kept with the texts:
    a map paints a few times a second, and making the metrics again cost as much as writing its numbers)."""
    fonts = getattr(_local, "fonts", None)
    if fonts is None or len(fonts) >= MAX_FONTS:
        fonts = _local.fonts = {}
    kept = fonts.get(key := font.key())
    if kept is None:
        metrics = QFontMetricsF(font)
        kept = fonts[key] = ({}, metrics, metrics.height())
    return kept


# where a text goes across its rect (vertically it is always centred); PySide's flag arithmetic costs more than
# drawing the text, so a writer takes one of these shares instead
LEFT, CENTRE, RIGHT = 0.0, 0.5, 1.0
_FLAGS = {LEFT: Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, CENTRE: Qt.AlignmentFlag.AlignCenter,
          RIGHT: Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter}


class TextWriter:
    """Writes texts in `font` with `painter` (the font is set on it here; the caller must not change it while
    writing), vertically centred in their rects and placed across them at `across` (LEFT, CENTRE or RIGHT), as
    painter.drawText(rect, flags, text) places them."""

    def __init__(self, painter: QPainter, font: QFont):
        painter.setFont(font)
        self.painter, self.font = painter, font
        # a scaled painter (an export at 2×, a 2× screen) hints the glyphs at another size, so a text near its
        # cell's width may be clipped by drawText and not here: there drawText writes every text
        self.raster = (painter.paintEngine().type() == QPaintEngine.Type.Raster
                       and painter.deviceTransform().type().value <= QTransform.TransformationType.TxTranslate.value)
        texts, self.metrics, self.height = _texts_for(font)
        self.texts = texts if self.raster else {}

    def __call__(self, rect: QRectF, text: str, across: float = CENTRE) -> None:
        entry = self.texts.get(text)
        if entry is None and self.raster:
            if len(self.texts) >= MAX_TEXTS:
                self.texts.clear()
            laid_out = QStaticText(text)
            laid_out.setTextFormat(Qt.TextFormat.PlainText)
            laid_out.prepare(QTransform(), self.font)
            entry = self.texts[text] = (laid_out, self.metrics.horizontalAdvance(text))
        width, height = rect.width(), rect.height()
        if entry is None or entry[1] > width or self.height > height:
            self.painter.drawText(rect, _FLAGS[across], text)
            return
        laid_out, text_width = entry
        self.painter.drawStaticText(QPointF(rect.x() + (width - text_width) * across,
                                            rect.y() + (height - self.height) / 2), laid_out)
