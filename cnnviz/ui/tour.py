"""Help ▸ Lecture tour: the lecture's steps in its order, each one setting the app up and saying its point.

The words and the set-up of every step live in resources/tour.json (cnnviz.io.tour reads it). A step
opens its session afresh (as a new, untitled one), applies its edits, selects a layer, opens a dock,
keeps a side-by-side snapshot and pins a cell; the step-through follows the pinned cell to its window.
The panel sits in its own dock below the filters, so it never covers what it explains, and the user can
play with everything at any step: "Set up again" restores it. On the very first launch a small offer in
the status bar points to the tour (shown once, remembered in QSettings).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import ConfigError
from cnnviz.io.errors import SessionError
from cnnviz.io.tour import TOUR_FILE, apply_edits, load_tour, step_session
from cnnviz.ui import settings


class TourPanel(QWidget):
    """The step's number, title and text, with Back / Set up again / Next."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("tourPanel")
        self.number = QLabel(objectName="tourNumber")
        self.number.setStyleSheet("color: #555;")
        self.title = QLabel(objectName="tourTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.text = QLabel(objectName="tourText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.back = QPushButton("◀ Back")
        self.again = QPushButton("Again")
        self.again.setToolTip("Put this step's session, layer, dock and pinned cell back (your changes go)")
        self.next = QPushButton("Next ▶")
        buttons = QHBoxLayout()
        for button in (self.back, self.again, self.next):
            buttons.addWidget(button)
        note = QLabel("Each step sets the app up afresh: play with anything, then go on, or press Again. "
                      "Keys: Alt+Left, Alt+Right.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.number)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        layout.addWidget(note)

    def show_step(self, number: int, count: int, title: str, text: str) -> None:
        self.number.setText(f"Step {number} of {count}")
        self.title.setText(title)
        self.text.setText(text)
        self.back.setEnabled(number > 1)
        self.next.setEnabled(number < count)


class LectureTour(QObject):
    """Drives the window through the tour's steps (see the module docstring)."""

    def __init__(self, window, path=TOUR_FILE):
        super().__init__(window)
        self.window, self.path = window, path
        self.steps = None  # read when the tour starts
        self.index = 0
        self.panel = TourPanel()
        area = QScrollArea()  # a long text scrolls; the buttons never get squeezed away
        area.setWidget(self.panel)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setMinimumWidth(self.panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
        self.dock = window.add_dock("tour", "Lecture tour", area, Qt.DockWidgetArea.RightDockWidgetArea)
        if "filters" in window.docks:
            window.splitDockWidget(window.docks["filters"], self.dock, Qt.Orientation.Vertical)
        self.dock.hide()
        self.panel.back.clicked.connect(self.back)
        self.panel.next.clicked.connect(self.next)
        self.panel.again.clicked.connect(lambda: self.go(self.index))
        self.action = QAction("Lecture &tour", window)
        self.action.setToolTip("The lecture's steps, one after the other, each setting the app up")
        self.action.triggered.connect(lambda: self.start())
        self.next_action = self._key_action("Next tour step", QKeySequence.StandardKey.Forward, self.next)
        self.back_action = self._key_action("Previous tour step", QKeySequence.StandardKey.Back, self.back)
        self.dock.visibilityChanged.connect(self._keys_follow_panel)
        self._keys_follow_panel(False)

    def _key_action(self, text, key, slot) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _keys_follow_panel(self, shown: bool) -> None:
        for action in (self.next_action, self.back_action):
            action.setEnabled(bool(shown))
        if shown and self.steps is None and self._load():  # a layout restored with the panel open
            index = settings.preference("tour/step")
            self.index = index if 0 <= index < len(self.steps) else 0
            step = self.steps[self.index]
            self.panel.show_step(self.index + 1, len(self.steps), step.title, step.text)  # Again sets it up

    def _load(self) -> bool:
        if self.steps is None:
            try:
                self.steps = load_tour(self.path)
            except SessionError as e:
                self.window.file_actions.dialogs.error("Cannot start the tour", str(e))
                return False
        return True

    # ---------------------------------------------------------------- navigation
    def start(self, index: int | None = None) -> bool:
        """Open the panel at `index` (default: where the tour was left); unsaved work is offered a save first."""
        if not self._load():
            return False
        if not self.window.file_actions.maybe_save():
            return False
        if not self.dock.isVisible():
            self.dock.show()
            self._make_room()
        self.dock.raise_()
        if getattr(self.window, "tour_offer", None) is not None:
            self.window.tour_offer.hide()
        start = settings.preference("tour/step") if index is None else index
        return self.go(start if 0 <= start < len(self.steps) else 0)

    def _make_room(self) -> None:
        """The panel takes what the filter editor can spare of the right column (its text needs ~300 px)."""
        filters = self.window.docks.get("filters")
        if filters is None or filters.isFloating() or self.dock.isFloating():
            return
        total = filters.height() + self.dock.height()
        panel = max(min(self.panel.sizeHint().height() + 30, total - filters.minimumSizeHint().height()), total // 3)
        self.window.resizeDocks([filters, self.dock], [total - panel, panel], Qt.Orientation.Vertical)

    def next(self) -> None:
        if self.steps and self.index + 1 < len(self.steps):
            self.go(self.index + 1)

    def back(self) -> None:
        if self.steps and self.index > 0:
            self.go(self.index - 1)

    def go(self, index: int) -> bool:
        """Set the app up for step `index` (0-based) and show its words."""
        step = self.steps[index]
        try:
            self._set_up(step)
        except (ConfigError, SessionError, KeyError) as e:  # a tour file that no longer fits the app
            self.window.file_actions.dialogs.error("Cannot set up this step", f"{step.id}: {e}")
            return False
        self.index = index
        self.panel.show_step(index + 1, len(self.steps), step.title, step.text)
        settings.set_preference("tour/step", index)
        return True

    def _set_up(self, step) -> None:
        window, doc = self.window, self.window.document
        doc.clear_probe(pinned=True)  # the last step's cell means nothing in the next session
        window.file_actions.open_session(step_session(step, self.path.parent), None)
        comparing = step.side_by_side
        side = getattr(window, "side_by_side", None)
        if side is not None:
            if comparing:
                side.keep(comparing.get("layer"))
                pipeline = doc.pipeline.copy()
                apply_edits(pipeline, comparing.get("then", ()))
                for i, (old, new) in enumerate(zip(doc.pipeline.layers, pipeline.layers), start=1):
                    if old.get_config() != new.get_config():
                        doc.replace_layer(i, new, text="Tour: change a setting")
                doc.flush()
            else:
                side.clear()
        if step.dock is not None:
            window.show_panel(step.dock)  # a dock, or a page of a panel group (main_window.py)
        if step.probe is not None:
            level, cell = step.probe
            doc.set_probe(level, cell, pinned=True)


# ------------------------------------------------------------------------------ the first-launch offer
class TourOffer(QWidget):
    """"New here? Take the lecture tour" in the status bar, with a × to dismiss; shown on one launch only."""

    def __init__(self, tour: LectureTour, parent=None):
        super().__init__(parent)
        self.setObjectName("tourOffer")
        self.take = QPushButton("New here? Take the lecture tour")
        self.take.setFlat(True)
        self.take.setStyleSheet("color: #0b57d0; text-decoration: underline;")
        self.take.clicked.connect(lambda: (self.hide(), tour.start(0)))
        dismiss = QToolButton()
        dismiss.setText("×")
        dismiss.setToolTip("No thanks (Help ▸ Lecture tour is always there)")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.take)
        layout.addWidget(dismiss)


def install_lecture_tour(window) -> LectureTour:
    """Help ▸ Lecture tour, its panel dock (hidden until started) and, on the first launch, the offer."""
    tour = LectureTour(window)
    help_menu = window.menus["Help"]
    help_menu.insertAction(getattr(window, "help_tour_anchor", None), tour.action)  # the place the menu keeps for it
    window.tour = tour
    window.tour_offer = None
    if not settings.preference("tour/offered"):
        window.tour_offer = TourOffer(tour)
        window.statusBar().addPermanentWidget(window.tour_offer)
        settings.set_preference("tour/offered", True)  # offered once: the next launch stays quiet
    return tour
