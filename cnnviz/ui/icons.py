"""Icons drawn with QPainter where the style's own would mislead: the style's back/forward arrows read as
navigation ("previous page"), so undo and redo get the curved arrow every editor uses for them."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF


def _curved_arrow(size: int, mirrored: bool, color: QColor) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if mirrored:  # redo is undo seen in a mirror
        painter.translate(size, 0)
        painter.scale(-1, 1)
    s = size / 32.0
    pen = QPen(color, 3.2 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    path = QPainterPath(QPointF(9 * s, 13 * s))
    path.arcTo(QRectF(6 * s, 7 * s, 20 * s, 18 * s), 160, -250)  # over the top and down the right side
    painter.drawPath(path)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPolygon(QPolygonF([QPointF(2 * s, 12 * s), QPointF(12 * s, 6 * s), QPointF(11 * s, 18 * s)]))
    painter.end()
    return pixmap


def undo_icon(mirrored: bool = False) -> QIcon:
    """A curved arrow turning back to the left (redo: `mirrored`, turning to the right)."""
    icon = QIcon()
    for size in (16, 24, 32, 48):
        icon.addPixmap(_curved_arrow(size, mirrored, QColor(40, 40, 40)), QIcon.Mode.Normal)
        icon.addPixmap(_curved_arrow(size, mirrored, QColor(170, 170, 170)), QIcon.Mode.Disabled)
    return icon
