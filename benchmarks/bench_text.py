"""Writing a map's numbers: painter.drawText(rect, AlignCenter, text) against cnnviz.ui.laid_out_text.TextWriter,
the same texts in the same cells of an image, interleaved. Prints medians in milliseconds and their ratio.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_text.py [--cells 288] [--repeat 31]

288 cells are the digits example's first level (6×6×8); the numbers repeat as a trained map's do (a few
hundred distinct values, ReLU's zeros).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=288)
    parser.add_argument("--repeat", type=int, default=31)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from cnnviz.ui.colormaps import format_value
    from cnnviz.ui.grid_painter import pixel_font
    from cnnviz.ui.laid_out_text import TextWriter

    QApplication.instance() or QApplication([])
    values = np.maximum(np.random.default_rng(0).normal(0, 1, args.cells), 0).round(2)
    texts = [format_value(v) for v in values]
    side, columns = 36.0, 24  # wide enough for "−0.25" at 11 px, as a map sizes its numbers to fit
    rects = [QRectF((i % columns) * side, (i // columns) * side, side, side) for i in range(args.cells)]
    image = QImage(int(side * columns), int(side * (args.cells // columns + 1)), QImage.Format.Format_ARGB32_Premultiplied)
    font = pixel_font(11)

    def with_draw_text():
        painter = QPainter(image)
        painter.setFont(font)
        for rect, text in zip(rects, texts):
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def with_writer():
        painter = QPainter(image)
        painter.setPen(QColor(0, 0, 0))
        write = TextWriter(painter, font)
        for rect, text in zip(rects, texts):
            write(rect, text)
        painter.end()

    runs = {"drawText": [], "TextWriter": []}
    for _ in range(5):  # interleaved rounds: a busy moment of the machine slows both
        runs["drawText"].append(median_ms(with_draw_text, args.repeat // 5 + 1))
        runs["TextWriter"].append(median_ms(with_writer, args.repeat // 5 + 1))
    a, b = np.median(runs["drawText"]), np.median(runs["TextWriter"])
    print(f"{args.cells} numbers: drawText {a:.2f} ms, TextWriter {b:.2f} ms (× {a / b:.1f} faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
