"""Mouse and keyboard editing of a Heatmap's cells, shared by the input grid and the filter editor.

Two modes, one for the whole app (EDIT_MODE, toggled by Edit ▸ Paint with the brush, Ctrl+B): painting
(a cross cursor) and selecting (an arrow). Painting: left-drag paints the brush value, right-drag (or
Shift+left) paints 0; every cell the mouse passes over is painted (a fast drag is filled in along a line)
and the whole stroke is one undo step. Selecting: a click only moves the cursor cell.
In both, arrow keys move the cursor; typing a number, Enter or a double-click opens an exact-value editor
on the cell's unchanged value (the paint of a double-click's first press is taken back); Escape leaves the
data as it was; Delete sets 0; Space paints the brush value.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QApplication, QLineEdit, QToolTip

from cnnviz.core import ConfigError
from cnnviz.ui.document import new_stroke_id
from cnnviz.ui.heatmap import Heatmap

_NUMBER_KEYS = set("0123456789.-+")

CELL_EDIT_HELP = (
    "Paint mode (cross cursor, Ctrl+B toggles): left-drag paints the brush value, right-drag (or Shift+drag)"
    " paints 0.\nSelect mode (arrow cursor): a click only selects the cell.\n"
    "Double-click, or type a number, to enter an exact value (Escape cancels); arrow keys move the cursor;"
    " Delete sets 0."
)


class EditMode(QObject):
    """Whether a click on an editable map paints (True) or only selects its cell (False)."""

    changed = Signal(bool)

    def __init__(self):
        super().__init__()
        self.paint = True

    def set_paint(self, paint: bool) -> None:
        if bool(paint) != self.paint:
            self.paint = bool(paint)
            self.changed.emit(self.paint)


EDIT_MODE = EditMode()


def line_cells(a, b):
    """Cells on the straight line from a to b (Bresenham), both ends included."""
    (r0, c0), (r1, c1) = a, b
    dr, dc = abs(r1 - r0), -abs(c1 - c0)
    sr, sc = (1 if r1 > r0 else -1), (1 if c1 > c0 else -1)
    err = dr + dc
    cells = []
    while True:
        cells.append((r0, c0))
        if (r0, c0) == (r1, c1):
            return cells
        e2 = 2 * err
        if e2 >= dc:
            err += dc
            r0 += sr
        if e2 <= dr:
            err += dr
            c0 += sc


class CellEditing(QObject):
    """Turns mouse strokes and keys on `heatmap` into `write(cells, value, stroke_id)` calls."""

    def __init__(self, heatmap: Heatmap, write: Callable, brush: Callable[[], float], read: Callable):
        super().__init__(heatmap)
        self.heatmap = heatmap
        self._write = write  # (list of (row, col), value, stroke_id) -> None
        self._brush = brush
        self._read = read  # (row, col) -> current value, for the editor's initial text
        self.cursor: tuple[int, int] | None = None
        self._stroke = None  # (stroke id, value, last cell)
        self._first_press = None  # (cell, value before, stroke id) of a one-cell stroke: a double-click undoes it
        self.editor = QLineEdit(heatmap)
        self.editor.setValidator(QDoubleValidator(-1e9, 1e9, 6, self.editor))
        self.editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.editor.hide()
        self.editor.installEventFilter(self)
        heatmap.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        heatmap.installEventFilter(self)
        heatmap.cellPressed.connect(self._press)
        heatmap.cellDragged.connect(self._drag)
        heatmap.strokeEnded.connect(self._end)
        heatmap.cellDoubleClicked.connect(self._double_click)
        EDIT_MODE.changed.connect(self._show_mode)
        self._show_mode(EDIT_MODE.paint)

    def _show_mode(self, paint: bool) -> None:
        self.heatmap.viewport().setCursor(Qt.CursorShape.CrossCursor if paint else Qt.CursorShape.ArrowCursor)

    # ------------------------------------------------------------------ mouse
    def _press(self, r, c, button):
        self.heatmap.setFocus()
        self.set_cursor((r, c))
        self._first_press = None
        if not EDIT_MODE.paint:
            return
        erase = button == Qt.MouseButton.RightButton or _shift_held()
        value = 0.0 if erase else float(self._brush())
        self._stroke = (new_stroke_id(), value, (r, c))
        self._first_press = ((r, c), float(self._read(r, c)), self._stroke[0])
        self._safe_write([(r, c)], value, self._stroke[0])

    def _drag(self, r, c):
        if self._stroke is None:
            return
        self._first_press = None  # a drag is meant: no double-click will take it back
        sid, value, last = self._stroke
        self._stroke = (sid, value, (r, c))
        self._safe_write(line_cells(last, (r, c))[1:], value, sid)

    def _double_click(self, r, c):
        """The editor on the value the cell had before the double-click's first press painted it."""
        if self._first_press is not None and self._first_press[0] == (r, c):
            cell, before, sid = self._first_press
            self._safe_write([cell], before, sid)  # same stroke: one undo step that changes nothing
        self._first_press = None
        self.open_editor(r, c)

    def _end(self):
        self._stroke = None

    def _safe_write(self, cells, value, stroke_id):
        try:
            self._write(cells, value, stroke_id)
        except ConfigError:
            pass  # cells outside the current shape after a resize mid-stroke: nothing to paint

    # ------------------------------------------------------------------ keyboard
    def set_cursor(self, cell):
        self.cursor = cell
        self.heatmap.set_cursor(cell)

    def eventFilter(self, obj, ev):
        if obj is self.editor and ev.type() == QEvent.Type.KeyPress:
            if ev.key() == Qt.Key.Key_Escape:
                self.editor.hide()
                self.heatmap.setFocus()
                return True
            if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                # Handled here: QLineEdit would pass Return on to the map, which would reopen the editor.
                self.commit_editor()
                return True
        if obj is self.editor and ev.type() == QEvent.Type.FocusOut:
            self.editor.hide()
            return False
        if obj is self.heatmap and ev.type() == QEvent.Type.KeyPress:
            return self._key(ev)
        if obj is self.heatmap and ev.type() == QEvent.Type.FocusIn and self.cursor is None:
            self.set_cursor((0, 0))
        return False

    def _key(self, ev) -> bool:
        rows, cols = self.heatmap.shape
        if not rows or not cols:
            return False
        r, c = self.cursor if self.cursor is not None else (0, 0)
        moves = {Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0), Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1)}
        key = ev.key()
        if key in moves:
            dr, dc = moves[key]
            self.set_cursor((min(max(r + dr, 0), rows - 1), min(max(c + dc, 0), cols - 1)))
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2):
            self.open_editor(r, c)
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._safe_write([(r, c)], 0.0, None)
            return True
        if key == Qt.Key.Key_Space:
            self._safe_write([(r, c)], float(self._brush()), None)
            return True
        if ev.text() and ev.text() in _NUMBER_KEYS:
            self.open_editor(r, c, ev.text())
            return True
        return False

    def open_editor(self, r, c, text=None):
        """An inline box over the cell; Enter writes the exact value, Escape cancels."""
        self.set_cursor((r, c))
        rect = self.heatmap.cell_rect(r, c).toRect()
        width, height = max(rect.width(), 64), max(rect.height(), 24)
        self.editor.setGeometry(rect.center().x() - width // 2, rect.center().y() - height // 2, width, height)
        self.editor.setText(text if text is not None else f"{float(self._read(r, c)):g}")
        self.editor.setToolTip("")
        self.editor.show()
        self.editor.setFocus()
        if text is None:
            self.editor.selectAll()

    def commit_editor(self):
        text = self.editor.text().replace("−", "-").strip()
        try:
            value = float(text)
        except ValueError:  # "-" or "." alone: say so and let the user finish typing
            message = f"“{text}” is not a number: type one such as −1.5, or Escape to cancel"
            self.editor.setToolTip(message)
            QToolTip.showText(self.editor.mapToGlobal(self.editor.rect().bottomLeft()), message, self.editor)
            return
        self.editor.setToolTip("")
        self.editor.hide()
        self.heatmap.setFocus()
        if self.cursor is not None:
            self._safe_write([self.cursor], value, None)


def _shift_held() -> bool:
    return bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
