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
from ui_support import make_window

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


def test_the_digits_classifier_shows_its_prediction_without_sideways_scrolling(qtbot, tmp_path):
    """The digits CNN (8 maps a level, then Flatten and the softmax's bars) at 1366×768: the levels wrap
    and scroll down; the flattened strip and the probability bars are reached without a sideways scroll."""
    window = open_window(qtbot, tmp_path, (1366, 768))
    assert window.file_actions.open(str(ROOT / "resources" / "digits.cnnviz.json"))
    for _ in range(3):
        QApplication.processEvents()
    views = window.layer_views
    assert views.horizontalScrollBar().maximum() == 0
    vectors = [card for card in views.cards() if len(card.heatmap.shape) == 1]
    assert len(vectors) == 2  # Flatten's strip, Dense(softmax)'s bars
    for card in vectors:
        views.ensureWidgetVisible(card, 0, 0)
        QApplication.processEvents()
        rect = card.heatmap.rect().translated(card.heatmap.mapTo(views.viewport(), card.heatmap.rect().topLeft()))
        assert views.viewport().rect().contains(rect), (card.level, rect)
    maps = {key: done for key, (done, _) in drawn(window).items() if key[0] < vectors[0].level}
    assert all(maps.values()), maps
