"""The numbers are written in every map where people use cnnviz: a 1366×768 laptop or projector, the same
with one more (Dropout) level, and a 2× HiDPI screen. What is checked is the painter's own decision per map
(CellOverlay.values_drawn after a real paint), not a size the test computes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from ui_support import make_window, step_number_px

from cnnviz.ui.heatmap import MIN_TEXT_CELL_PX, Heatmap

ROOT = Path(__file__).parents[2]


def open_window(qtbot, tmp_path, size):
    window = make_window(qtbot, tmp_path, size=size)
    for _ in range(3):
        QApplication.processEvents()
    return window


def drawn(window) -> dict:
    """{(level, channel): (numbers written?, cell px)} after painting each map where the user sees it
    (scrolled into view when the views scroll)."""
    views = window.layer_views
    out = {}
    for card in views.cards():
        if not isinstance(card.heatmap, Heatmap):
            continue  # a vector level: its strip and bars are checked on their own
        views.ensureWidgetVisible(card, 0, 0)
        QApplication.processEvents()
        window.grab()
        hm = card.heatmap
        out[(card.level, card.channel)] = (hm.overlay.values_drawn, hm.cell_px())
    return out


@pytest.mark.parametrize("extra", [None, "Dropout"])
def test_every_map_of_the_seed_session_writes_its_numbers_at_1366x768(qtbot, tmp_path, extra):
    window = open_window(qtbot, tmp_path, (1366, 768))
    if extra:
        window.pipeline_panel.add_layer(extra)
        for _ in range(3):
            QApplication.processEvents()
    maps = drawn(window)
    assert len(maps) == (9 if extra else 7)
    assert all(done for done, _ in maps.values()), maps
    assert min(cell for _, cell in maps.values()) >= MIN_TEXT_CELL_PX
    views = window.layer_views
    assert views.horizontalScrollBar().maximum() == 0 and views.verticalScrollBar().maximum() == 0


SCRIPT = r"""
import json, sys
from cnnviz.ui.app import create_app
app = create_app(["cnnviz"])
from PySide6.QtWidgets import QApplication
from cnnviz.ui import settings
settings.use_file(sys.argv[1])
from cnnviz.ui.main_window import MainWindow
window = MainWindow()
window.resize(1366, 768)
window.show()
for _ in range(5):
    QApplication.processEvents()
window.grab()
cards = window.layer_views.cards()
print(json.dumps({"dpr": window.devicePixelRatioF(),
                  "drawn": [c.heatmap.overlay.values_drawn for c in cards],
                  "right": max(c.heatmap.mapTo(window, c.heatmap.rect().bottomRight()).x() for c in cards),
                  "views_right": window.layer_views.mapTo(window, window.layer_views.rect().bottomRight()).x()}))
"""


def test_every_map_writes_its_numbers_on_a_2x_screen(tmp_path):
    """QT_SCALE_FACTOR=2 needs its own process (it is read when the QApplication starts)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2", PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "settings.ini")],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["dpr"] == 2.0
    assert len(result["drawn"]) == 7 and all(result["drawn"]), result
    assert result["right"] <= result["views_right"]  # the last level is not clipped


@pytest.mark.parametrize("size", [(1366, 768), (1024, 700)])
def test_no_sideways_scrolling_after_a_stride_change(qtbot, tmp_path, size):
    """A stride change left a horizontal scroll bar although everything fitted; at 1024×700 the levels
    wrap and scroll down instead of hiding the last level to the right, and every map, reused or new,
    takes the new cell size and writes its numbers."""
    window = open_window(qtbot, tmp_path, size)
    for stride in (2, 1, 3, 1):
        window.pipeline_panel.fields["strides"].boxes[0].setValue(stride)
        for _ in range(3):
            QApplication.processEvents()
        assert window.layer_views.horizontalScrollBar().maximum() == 0, stride
        assert all(done for done, _ in drawn(window).values()), stride


@pytest.mark.parametrize("edits", [
    [(1, "padding", "same")],  # 6×6 maps on every level, 9×9 up-sampled maps
    [(1, "padding", "same"), "Dropout"],
    [(3, "size", (2, 2))],
    [(1, "strides", (2, 2))],
])
def test_the_lecture_variants_write_their_numbers_in_every_map_at_1366x768(qtbot, tmp_path, edits):
    """The seed with its Conv2D switched to padding="same" had 15 px cells, and its 9×9 up-sampled maps
    (drawn smaller than the others) wrote no numbers; the other lecture sizes must not lose theirs either."""
    window = open_window(qtbot, tmp_path, (1366, 768))
    for edit in edits:
        if isinstance(edit, str):
            window.pipeline_panel.add_layer(edit)
        else:
            window.document.set_layer_param(*edit)
    for _ in range(3):
        QApplication.processEvents()
    maps = drawn(window)
    assert len(maps) == 7 + 2 * sum(isinstance(e, str) for e in edits)
    assert all(done for done, _ in maps.values()), maps
    views = window.layer_views
    assert views.horizontalScrollBar().maximum() == 0 and views.verticalScrollBar().maximum() == 0


def test_the_digits_classifier_keeps_its_prediction_in_view_at_1366x768(qtbot, tmp_path):
    """The digits CNN (8 maps a level, then Flatten and the softmax's bars) at 1366×768: the levels wrap and
    scroll down, and the probability bars were at the bottom, a scroll away. The bars now stay beside the
    levels, whole and in view wherever the levels are scrolled; the Flatten strip is reached without a
    sideways scroll, and the maps keep their numbers."""
    window = open_window(qtbot, tmp_path, (1366, 768))
    assert window.file_actions.open(str(ROOT / "resources" / "digits.cnnviz.json"))
    for _ in range(3):
        QApplication.processEvents()
    views = window.layer_views
    assert views.horizontalScrollBar().maximum() == 0
    assert views.verticalScrollBar().maximum() > 0  # the levels do scroll
    strip, bars = [card for card in views.cards() if len(card.heatmap.shape) == 1]  # Flatten, Dense(softmax)

    def seen(card) -> bool:
        """The card's whole view is inside the scroll area and not hidden under its scroll bar or frame."""
        top_left = card.heatmap.mapTo(views, card.heatmap.rect().topLeft())
        rect = card.heatmap.rect().translated(top_left)
        visible = views.rect().adjusted(views.frameWidth(), views.frameWidth(), -views.frameWidth(), -views.frameWidth())
        return card.heatmap.isVisible() and visible.contains(rect) and not rect.intersects(
            views.verticalScrollBar().geometry())

    bar = views.verticalScrollBar()
    for value in (0, bar.maximum() // 2, bar.maximum()):
        bar.setValue(value)
        QApplication.processEvents()
        assert seen(bars), value
    views.ensureWidgetVisible(strip, 0, 0)
    QApplication.processEvents()
    rect = strip.heatmap.rect().translated(strip.heatmap.mapTo(views.viewport(), strip.heatmap.rect().topLeft()))
    assert views.viewport().rect().contains(rect), rect
    window.grab()
    assert bars.heatmap.isVisible() and bars.heatmap.width() > 100
    maps = {key: done for key, (done, _) in drawn(window).items() if key[0] < strip.level}
    assert all(maps.values()), maps


def test_the_seed_step_through_fits_its_dock_with_numbers_above_the_minimum_at_1366x768(qtbot, tmp_path):
    """The seed's step-through scrolled a few pixels at 1366×768 and wrote its numbers at the 7 px minimum:
    the view's chrome (margins, a three-line header) took the height its picture needed."""
    from cnnviz.ui.arithmetic.base import scene_rect

    window = open_window(qtbot, tmp_path, (1366, 768))
    window.show_panel("arithmetic_stepper")
    for _ in range(3):
        QApplication.processEvents()
    view = window.arithmetic_views["stepper"]
    assert view.scroll.verticalScrollBar().maximum() == 0
    canvas = view.canvas
    assert step_number_px(scene_rect(canvas.width(), canvas.height()), view.model, view.step) >= 9
    window.grab()  # painted: the input's 6×6 cells carry their numbers
    assert view.canvas.geometries[("input", 0)].shape == (6, 6)
