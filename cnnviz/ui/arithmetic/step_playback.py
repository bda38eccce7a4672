"""Playback of a sequence of steps: the timer, play / pause / step / restart / scrub, and the bar of controls.

`StepPlayback` knows only how many steps there are and which one is shown; it calls its owner's `show(step)`
directly (not through a signal, so an exception reaches the caller that moved it). `PlaybackBar` is the row
of buttons, the scrub controls and the speed under a picture. Steps are laid out as (filter, channel, row,
col) (step_model.Steps.dims), so the bar scrubs by row and column ("row 3 / 254") with a filter box, not
by a step number in the hundred thousands.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QStyle, QToolButton, QWidget


def _spelled(axis: str) -> str:
    """An axis name as a tooltip writes it ("col" is the bar's short form)."""
    return "column" if axis == "col" else axis


def _set_tooltip(widget: QWidget, text: str) -> None:
    """Set a tooltip only when it differs: Qt takes about a millisecond for each, and every value edit
    refreshes the bar with the same ones."""
    if widget.toolTip() != text:
        widget.setToolTip(text)


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
        self.dims = (0, 1, 0, 0)  # (filters, channels, rows, cols) of the steps
        self.names = ("filter", "in-ch", "row", "col")  # what those axes are
        self.describe: Callable[[int], str] | None = None  # the position's words, when not "row r col c"
        self.filter_box = self._box("filter ", "Which filter (output map) the window fills")
        self.channel_box = self._box("in-ch ", "Which input channel is scattered")
        self.row_slider = self._slider("Scrub the window by output row")
        self.col_slider = self._slider("Scrub the window by output column")
        self.position = QLabel()  # where the window is; the owner places it (the bar needs its width)
        self.position.setStyleSheet("font-weight: bold;")
        self.speed = QSpinBox()  # a box, not a slider: the scrub sliders need the width
        self.speed.setRange(1, 20)
        self.speed.setValue(2)
        self.speed.setSuffix("/s")
        self.speed.setToolTip("Animation speed in steps per second")
        self.speed.valueChanged.connect(self._speed_changed)

        controls = QHBoxLayout(self)
        controls.setContentsMargins(0, 0, 0, 0)
        for action in self.step_actions():
            button = QToolButton()
            button.setDefaultAction(action)
            controls.addWidget(button)
        controls.addWidget(self.filter_box)
        controls.addWidget(self.channel_box)
        controls.addWidget(self.row_slider, 1)
        controls.addWidget(self.col_slider, 1)
        controls.addWidget(self.speed)
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

    def _box(self, prefix: str, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setPrefix(prefix)
        box.setToolTip(tip)
        box.valueChanged.connect(self._scrubbed)
        return box

    def _slider(self, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setToolTip(tip)
        slider.setMinimumWidth(40)  # a narrow dock squeezed the scrub slider to a dot
        slider.valueChanged.connect(self._scrubbed)
        return slider

    def set_dims(self, dims: tuple[int, int, int, int], transposed: bool,
                 names: tuple[str, str, str, str] = ("filter", "in-ch", "row", "col")) -> None:
        """The steps' (filters, channels, rows, cols); rows and cols are of the output, or of a transposed
        convolution's input (its steps scatter input cells). `names` say what the axes are (a Dense steps by
        "unit"); an axis named "" is not shown."""
        self.dims = tuple(int(d) for d in dims)
        self.names = tuple(names)
        # a spin box's prefix and range ask the whole window for a new layout even when they are the same
        # (Qt does not compare): every value edit refreshes the bar, so only what differs is set
        for box, name in ((self.filter_box, names[0]), (self.channel_box, names[1])):
            if box.prefix() != f"{name} ":
                box.setPrefix(f"{name} ")
        self.grid_word = "input" if transposed else "output"
        _set_tooltip(self.row_slider, f"Scrub the window by {self.grid_word} {_spelled(names[2])}")
        _set_tooltip(self.col_slider, f"Scrub the window by {self.grid_word} {_spelled(names[3])}")
        for widget, n in zip((self.filter_box, self.channel_box, self.row_slider, self.col_slider), self.dims):
            low, high = (1, max(n, 0)) if isinstance(widget, QSpinBox) else (0, max(n - 1, 0))
            if (widget.minimum(), widget.maximum()) != (low, high):
                widget.blockSignals(True)
                widget.setRange(low, high)
                widget.blockSignals(False)
        self.filter_box.setVisible(self.dims[0] > 1 and bool(names[0]))
        self.channel_box.setVisible(self.dims[1] > 1 and bool(names[1]))
        self.row_slider.setVisible(self.dims[2] > 1 and bool(names[2]))  # a single row (or column) needs no slider
        self.col_slider.setVisible(self.dims[3] > 1 and bool(names[3]))

    def show_step(self, step: int) -> None:
        """Put the scrub controls, the position and the buttons' states at `step`."""
        count = self.playback.count
        for action in self.step_actions():
            action.setEnabled(bool(count))
        for widget in (self.filter_box, self.channel_box, self.row_slider, self.col_slider):
            widget.setEnabled(bool(count))
        if not count:
            self.position.setText("")
            return
        f, ch, r, c = (int(v) for v in np.unravel_index(step, self.dims))
        for widget, value in ((self.filter_box, f + 1), (self.channel_box, ch + 1), (self.row_slider, r),
                              (self.col_slider, c)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        rows, cols = self.dims[2:]
        row_name, col_name = self.names[2:]
        self.position.setText(self.describe(step) if self.describe else "  ".join(
            f"{name} {v + 1}/{n}" for name, v, n in ((row_name, r, rows), (col_name, c, cols)) if name))
        where = ", ".join(f"{_spelled(name)} {v + 1} of {n}" for name, v, n in ((row_name, r, rows), (col_name, c, cols))
                          if name)
        _set_tooltip(self.position, f"{self.grid_word.capitalize()} {where}: step {step + 1} of {count}")

    def scrub_to(self, row: int, col: int, filt: int = 0, channel: int = 0) -> None:
        """Show the step of this (0-based) row, column, filter and channel."""
        self.playback.pause()
        self.playback.set_step(int(np.ravel_multi_index((filt, channel, row, col), self.dims)))

    def _show_play_state(self, playing: bool) -> None:
        self.play_action.setText("Pause" if playing else "Play")
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.style().standardIcon(pixmap))

    def _scrubbed(self, *_) -> None:
        self.scrub_to(
            self.row_slider.value(), self.col_slider.value(), self.filter_box.value() - 1, self.channel_box.value() - 1
        )

    def _speed_changed(self, per_second: int) -> None:
        self.playback.set_speed(per_second)
