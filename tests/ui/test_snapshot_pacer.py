"""SnapshotPacer: a training run's snapshots are shown within a measured share of the GUI thread's time, and a
snapshot that is due rides along with a paint stroke (shown before the press lands, so one recompute serves
both) instead of waiting for the hand to rest."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz.ui.training_run import QUIET_S, SHARE, SnapshotPacer

COST_S = 0.02


class Recorder(QWidget):
    def __init__(self):
        super().__init__()
        self.log = []

    def mousePressEvent(self, event):
        self.log.append(("press", time.monotonic()))


def mouse(widget, kind, x, button=Qt.MouseButton.NoButton):
    """A real mouse event through the application (its event filters see it, as a user's)."""
    pos = QPointF(x, x)
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, button,
                                               Qt.KeyboardModifier.NoModifier))


def pacer_on(qtbot, cost=COST_S):
    widget = Recorder()
    qtbot.addWidget(widget)
    widget.resize(100, 100)
    widget.show()
    qtbot.waitExposed(widget)

    def show(snapshot):
        widget.log.append((snapshot, time.monotonic()))
        time.sleep(cost)  # what applying and painting it costs the GUI thread

    pacer = SnapshotPacer(show, lambda: widget.log.append(("ask", time.monotonic())))
    return widget, pacer


def test_the_next_snapshot_waits_until_the_last_ones_cost_is_within_the_share(qtbot):
    widget, pacer = pacer_on(qtbot)
    try:
        pacer.offer("a")
        qtbot.waitUntil(lambda: any(k == "ask" for k, _ in widget.log), timeout=5000)
        pacer.offer("b")  # here already: it waits for the budget
        pacer.offer("c")  # a newer one replaces it
        qtbot.waitUntil(lambda: pacer.shown == 2, timeout=60_000)  # cost/SHARE: long on a loaded machine
        shown = [(k, t) for k, t in widget.log if k in "abc"]
        assert [k for k, _ in shown] == ["a", "c"]
        assert pacer.costs[0] >= COST_S
        assert shown[1][1] - shown[0][1] >= pacer.costs[0] / SHARE - 0.002
    finally:
        pacer.close()


def test_a_due_snapshot_rides_along_with_a_press_and_waits_for_a_hover_to_rest(qtbot):
    widget, pacer = pacer_on(qtbot, cost=0.0)
    try:
        mouse(widget, QEvent.Type.MouseMove, 10)  # a hover: the hand moves
        pacer.offer("hovered")
        assert pacer.shown == 0 and not any(k == "hovered" for k, _ in widget.log)
        qtbot.waitUntil(lambda: pacer.shown == 1, timeout=5000)  # once the hand has rested QUIET_S
        assert [k for k, _ in widget.log] == ["hovered", "ask"]
        qtbot.wait(int(1000 * QUIET_S) + 50)  # the budget allows the next
        mouse(widget, QEvent.Type.MouseMove, 20)
        pacer.offer("pressed")
        assert not any(k == "pressed" for k, _ in widget.log)  # it waits for the hand...
        mouse(widget, QEvent.Type.MouseButtonPress, 20, Qt.MouseButton.LeftButton)  # ...or rides its stroke
        kinds = [k for k, _ in widget.log]
        assert kinds[-3:] == ["pressed", "ask", "press"]  # shown (the next asked for) before the press landed
    finally:
        pacer.close()
