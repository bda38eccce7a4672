"""Playback of a sequence of steps: the timer, play / pause / step / restart / scrub, and the bar of controls.

`StepPlayback` knows only how many steps there are and which one is shown; it calls its owner's `show(step)`
directly (not through a signal, so an exception reaches the caller that moved it). `PlaybackBar` is the row
of buttons, scrub slider and speed under a picture.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget


class StepPlayback(QObject):
    """Which of `count` steps is shown, and a timer that moves on by one."""

    playingChanged = Signal(bool)

    def __init__(self, show: Callable[[int], None], parent=None):
        super().__init__(parent)
        self._show = show  # draws the step now shown (also after a change of count)
        self._count = 0
        self._step = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self.set_speed(2)

    @property
    def count(self) -> int:
        return self._count

    @property
    def step(self) -> int:
        return self._step

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def reset(self, count: int, step: int) -> None:
        """`count` steps now, showing `step` (clamped); stops playing when there is nothing to play."""
        self._count = count
        if not count:
            self.pause()
        self._step = max(0, min(step, count - 1))
        self._show(self._step)

    def set_step(self, step: int) -> None:
        if self._count:
            self._step = max(0, min(int(step), self._count - 1))
            self._show(self._step)

    def step_by(self, delta: int) -> None:
        self.pause()
        self.set_step(self._step + delta)

    def restart(self) -> None:
        self.pause()
        self.set_step(0)

    def play(self) -> None:
        if not self._count:
            return
        if self._step >= self._count - 1:
            self._step = 0
        self._timer.start()
        self.playingChanged.emit(True)
        self._show(self._step)

    def pause(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, per_second: int) -> None:
        self._timer.setInterval(int(1000 / per_second))

    def _tick(self) -> None:
        if self._step >= self._count - 1:
            self.pause()
            self._show(self._step)
            return
        self.set_step(self._step + 1)


class PlaybackBar(QWidget):
    """Restart, back, play/pause and forward buttons, the scrub slider, the position and the speed."""

    def __init__(self, playback: StepPlayback, parent=None):
        super().__init__(parent)
        self.playback = playback
        icon = QStyle.StandardPixmap
        self.play_action = self._action(
            "Play", "Ctrl+Space", playback.toggle, "Play or pause the animation", icon.SP_MediaPlay
        )
        self.back_action = self._action(
            "Step back", "Ctrl+Left", lambda: playback.step_by(-1), "One window position back", icon.SP_MediaSeekBackward
        )
        self.forward_action = self._action(
            "Step forward", "Ctrl+Right", lambda: playback.step_by(1), "One window position on", icon.SP_MediaSeekForward
        )
        self.restart_action = self._action(
            "Restart", "Ctrl+Home", playback.restart, "Back to the first window position", icon.SP_MediaSkipBackward
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub through the window positions")
        self.slider.valueChanged.connect(self._scrubbed)
        self.position = QLabel()
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(1, 20)
        self.speed.setValue(2)
        self.speed.setFixedWidth(56)
        self.speed.setToolTip("Animation speed in steps per second")
        self.speed.valueChanged.connect(self._speed_changed)
        self.speed_label = QLabel()

        controls = QHBoxLayout(self)
        controls.setContentsMargins(0, 0, 0, 0)
        for action in self.step_actions():
            button = QToolButton()
            button.setDefaultAction(action)
            controls.addWidget(button)
        self.slider.setMinimumWidth(60)  # a narrow dock squeezed the scrub slider to a dot
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position)
        controls.addSpacing(6)
        controls.addWidget(QLabel("speed"))
        controls.addWidget(self.speed)
        controls.addWidget(self.speed_label)
        self._speed_changed(self.speed.value())
        playback.playingChanged.connect(self._show_play_state)

    def step_actions(self) -> list[QAction]:
        """The four actions, in button order (the owner adds them where their shortcuts should work)."""
        return [self.restart_action, self.back_action, self.play_action, self.forward_action]

    def _action(self, text, shortcut, slot, tip, icon) -> QAction:
        action = QAction(self.style().standardIcon(icon), text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{tip} ({shortcut})")
        action.triggered.connect(slot)
        return action

    def show_step(self, step: int) -> None:
        """Put the slider, the position and the buttons' states at `step`."""
        count = self.playback.count
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        for action in self.step_actions():
            action.setEnabled(bool(count))
        self.slider.setEnabled(bool(count))
        self.position.setText(f"step {step + 1} / {count}" if count else "")

    def _show_play_state(self, playing: bool) -> None:
        self.play_action.setText("Pause" if playing else "Play")
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.style().standardIcon(pixmap))

    def _scrubbed(self, value: int) -> None:
        self.playback.pause()
        self.playback.set_step(value)

    def _speed_changed(self, per_second: int) -> None:
        self.playback.set_speed(per_second)
        self.speed_label.setText(f"{per_second}/s")
