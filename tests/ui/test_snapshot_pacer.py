"""SnapshotPacer: a training run's snapshots are shown within a measured share of the GUI thread's time, early in
a pause of the window's work (never before a press, which would then wait for the snapshot to be drawn), and at
least MIN_PER_S a second when the window never pauses."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz.ui.training_run import GAP_S, MIN_PER_S, QUIET_S, RESTED_S, SHARE, SNAPSHOTS_PER_S, SnapshotPacer

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


def run_events(seconds):
    """The event loop for `seconds`, asleep when it has nothing to do, as a window's."""
    loop = QEventLoop()
    wake = QTimer(singleShot=True, timerType=Qt.TimerType.PreciseTimer)
    wake.timeout.connect(loop.quit)
    wake.start(round(1000 * seconds))
    loop.exec()


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


def test_a_due_snapshot_waits_for_a_pause_and_never_goes_before_a_press(qtbot):
    widget, pacer = pacer_on(qtbot, cost=0.0)
    try:
        qtbot.wait(100)  # the budget allows the first at once; the window has rested
        mouse(widget, QEvent.Type.MouseMove, 20)
        pacer.offer("pressed")
        mouse(widget, QEvent.Type.MouseButtonPress, 20, Qt.MouseButton.LeftButton)
        pressed = time.monotonic()
        assert "pressed" not in [k for k, _ in widget.log]  # the press landed with nothing before it
        qtbot.waitUntil(lambda: pacer.shown == 1, timeout=5000)
        assert [k for k, _ in widget.log] == ["press", "pressed", "ask"]
        assert widget.log[1][1] - pressed >= QUIET_S
    finally:
        pacer.close()


def test_one_found_late_in_a_pause_waits_for_the_next_pause_or_for_the_hand_to_stop(qtbot):
    widget, pacer = pacer_on(qtbot, cost=0.0)
    try:
        qtbot.wait(100)
        for later in (False, True):
            mouse(widget, QEvent.Type.MouseMove, 20)
            moved = time.monotonic()
            pacer._began, pacer._next = moved, moved + QUIET_S + GAP_S + 0.01  # the budget allows it late in this pause
            pacer.offer(later)
            if later:  # the hand moves again: the snapshot goes into the pause after that event
                run_events(QUIET_S + GAP_S + 0.02)
                assert pacer.shown == 1
                mouse(widget, QEvent.Type.MouseMove, 30)
                moved = time.monotonic()
            run_events(RESTED_S + 0.03)
            assert pacer.shown == 1 + later
            shown = [t for k, t in widget.log if k is later][0]
            assert shown - moved >= (QUIET_S if later else RESTED_S)  # the next pause, or the hand stopped
    finally:
        pacer.close()


def test_a_window_that_never_pauses_still_shows_min_per_s_a_second(qtbot):
    widget, pacer = pacer_on(qtbot, cost=0.0)
    count = 0

    def offer():
        nonlocal count
        count += 1
        pacer.offer(count)

    pacer._ask = offer  # the run answers every request at once
    busy = QTimer(interval=0)  # work in every pass of the event loop: the window never pauses QUIET_S
    busy.timeout.connect(lambda: time.sleep(0.001))
    try:
        busy.start()
        offer()
        qtbot.wait(1500)
        shown = [t for k, t in widget.log if isinstance(k, int)]
        gaps = sorted(b - a for a, b in zip(shown, shown[1:]))
        assert len(gaps) >= 8
        assert gaps[len(gaps) // 2] <= 1 / MIN_PER_S + 0.008  # the median: a timer may come late on a busy machine
        assert gaps[0] >= 1 / SNAPSHOTS_PER_S - 0.002  # the budget still holds
    finally:
        busy.stop()
        pacer.close()
