"""TextWriter draws what painter.drawText(rect, flags, text) draws, pixel for pixel, from texts laid out once."""

import threading

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from cnnviz.ui import laid_out_text
from cnnviz.ui.colormaps import format_value
from cnnviz.ui.grid_painter import pixel_font
from cnnviz.ui.laid_out_text import CENTRE, LEFT, RIGHT, TextWriter

FLAGS = {CENTRE: Qt.AlignmentFlag.AlignCenter, RIGHT: Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
         LEFT: Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter}


def _drawn(pieces, font, with_writer: bool, scale=1.0) -> np.ndarray:
    image = QImage(240, 120, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    painter.scale(scale, scale)
    painter.setPen(QColor(20, 20, 20))
    write = TextWriter(painter, font) if with_writer else None
    if not with_writer:
        painter.setFont(font)
    for rect, text, across in pieces:
        if write is None:
            painter.drawText(rect, FLAGS[across], text)
        else:
            write(rect, text, across)
    painter.end()
    return np.frombuffer(image.constBits(), np.uint8).reshape(120, 240, 4).copy()


pieces = st.lists(st.tuples(
    st.builds(QRectF, st.floats(0, 180), st.floats(0, 90), st.floats(2, 60), st.floats(2, 30)),
    st.floats(-300, 300, width=32).map(format_value) | st.sampled_from(["0", "1e−05", "−0.25", "class 7", "12.5 %"]),
    st.sampled_from([CENTRE, RIGHT, LEFT])), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=pieces, px=st.integers(6, 28), bold=st.booleans(), scale=st.sampled_from([1.0, 1.5, 2.0]))
def test_the_writer_draws_what_draw_text_draws(qapp, pieces, px, bold, scale):
    font = pixel_font(px, bold)
    twice = pieces + pieces  # the second time from the texts laid out the first time
    np.testing.assert_array_equal(_drawn(twice, font, True, scale), _drawn(twice, font, False, scale))


def test_texts_are_laid_out_once_per_font_and_text(qapp):
    font = pixel_font(13)
    pieces = [(QRectF(10 * i, 10, 40, 20), text, CENTRE) for i, text in enumerate(["0", "0.5", "0", "0.5", "0"])]
    _drawn(pieces, font, True)
    kept = laid_out_text._texts_for(font)[0]
    assert set(kept) >= {"0", "0.5"}
    first = kept["0"][0]
    _drawn(pieces, font, True)
    assert laid_out_text._texts_for(font)[0]["0"][0] is first  # the same layout drawn again


def test_a_text_wider_or_taller_than_its_cell_is_clipped_as_draw_text_clips_it(qapp):
    font = pixel_font(20)
    pieces = [(QRectF(5, 5, 18, 30), "−128.5", CENTRE), (QRectF(60, 5, 80, 9), "3", CENTRE),
              (QRectF(100, 50, 20, 30), "1e−05", RIGHT)]
    drawn = _drawn(pieces, font, True)
    np.testing.assert_array_equal(drawn, _drawn(pieces, font, False))
    assert (drawn[:, :4, 0] == 255).all()  # nothing outside the first cell's left edge


def test_an_svg_keeps_the_numbers_as_text(qapp):
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(200, 50))
    painter = QPainter(generator)
    write = TextWriter(painter, pixel_font(12))
    write(QRectF(0, 0, 60, 30), "0.75")
    write(QRectF(60, 0, 60, 30), "−3")
    painter.end()
    svg = bytes(data).decode()
    assert "0.75" in svg and "−3" in svg


def test_each_thread_keeps_its_own_laid_out_texts(qapp):
    font = pixel_font(11)
    here = laid_out_text._texts_for(font)[0]
    there = []
    worker = threading.Thread(target=lambda: there.append(laid_out_text._texts_for(font)[0]))
    worker.start()
    worker.join()
    assert there[0] is not here  # an export painting in a worker never shares a QStaticText with the window
