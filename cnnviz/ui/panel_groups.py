"""The panels under the maps, in three docks a student can tell apart at a glance: the arithmetic of the
selected layer, the whole model, and learning.

Eleven tabs in one dock had their titles cut to "Conv a…", "De…" on a 1366×768 screen. A group shows its
pages as tabs in its own title bar, with full titles; the arithmetic group shows only the pages that apply
to the selected layer's type (a Conv2D gets the step-through, the matrix and the neuron, a Dropout its own
page). The three docks are tabbed under the maps by default; like every dock they can be dragged, split or
floated, and the window state remembers where. The page in front of each group is remembered in QSettings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTabBar,
    QToolButton,
    QWidget,
)

from cnnviz.ui import settings

# (key, title): the groups in the order of their tabs under the maps
GROUPS = (("arithmetic", "Layer arithmetic"), ("model", "Model"), ("learning", "Learning"))


@dataclass
class Page:
    key: str
    title: str
    widget: QWidget
    # the layer index this page would show for a Document (0: none); None: the page always applies
    shows: Callable | None = None


class GroupHeader(QWidget):
    """The group's title bar: a caption, the page tabs, and float/close buttons. Presses outside the tabs and
    buttons fall through to the dock, so the dock is dragged by its header as by a plain title bar."""

    def __init__(self, dock: QDockWidget):
        super().__init__(dock)
        self.caption = QLabel()
        self.caption.setObjectName("panelCaption")
        font = self.caption.font()
        font.setBold(True)
        self.caption.setFont(font)
        self.tabs = QTabBar()
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        self.tabs.setElideMode(Qt.TextElideMode.ElideNone)  # full titles; arrows if a tiny dock must scroll them
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 2, 0)
        row.setSpacing(6)
        row.addWidget(self.caption)
        row.addWidget(self.tabs, 0, Qt.AlignmentFlag.AlignBottom)
        row.addStretch(1)
        style = self.style()
        for icon, tip, slot in (
            (QStyle.StandardPixmap.SP_TitleBarNormalButton, "Float (double-click the header to dock it again)",
             lambda: dock.setFloating(not dock.isFloating())),
            (QStyle.StandardPixmap.SP_TitleBarCloseButton, "Close (View menu brings it back)", dock.close),
        ):
            button = QToolButton()
            button.setIcon(style.standardIcon(icon))
            button.setAutoRaise(True)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        self.buttons_width = 2 * (button.sizeHint().width() + row.spacing())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._fit_caption)  # after the layout: asking the tab bar its size here upsets it

    def _fit_caption(self):
        """A narrow dock (a 1024 px screen leaves the maps ~400 px) gives the tabs the room, not the caption."""
        need = self.caption.sizeHint().width() + self.tabs.sizeHint().width() + self.buttons_width + 24
        self.caption.setVisible(self.width() >= need)


class PanelGroup(QDockWidget):
    """A dock of pages: `add_page`, `show_page(key)`; `update_pages(document)` shows the pages that apply."""

    pageChanged = Signal(str)

    def __init__(self, key: str, title: str, parent=None):
        super().__init__(title, parent)
        self.key = key
        self.setObjectName(f"dock_{key}")
        self.header = GroupHeader(self)
        self.setTitleBarWidget(self.header)
        self.stack = QStackedWidget()
        self.setWidget(self.stack)
        self.pages: list[Page] = []
        self._chosen = settings.preference(f"panels/{key}")  # the page the user last put in front
        self.header.tabs.currentChanged.connect(self._tab_changed)
        self.visibilityChanged.connect(lambda shown: shown and self._catch_up())

    def add_page(self, key: str, title: str, widget: QWidget, shows: Callable | None = None) -> Page:
        page = Page(key, title, widget, shows)
        self.pages.append(page)
        self.stack.addWidget(widget)
        self.header.tabs.blockSignals(True)
        self.header.tabs.addTab(title)
        self.header.tabs.blockSignals(False)
        if key == self._chosen or len(self.pages) == 1:
            self._select(len(self.pages) - 1)
        return page

    def page(self, key: str) -> Page | None:
        return next((p for p in self.pages if p.key == key), None)

    @property
    def current(self) -> Page | None:
        index = self.stack.currentIndex()
        return self.pages[index] if 0 <= index < len(self.pages) else None

    def applies(self, page: Page) -> bool:
        return self.header.tabs.isTabVisible(self.pages.index(page))

    def show_page(self, key: str) -> None:
        """Put page `key` in front (its tab shown even if the selected layer is not its kind), the dock too."""
        index = next(i for i, p in enumerate(self.pages) if p.key == key)
        self.header.tabs.setTabVisible(index, True)
        self._chosen = key
        settings.set_preference(f"panels/{self.key}", key)
        self._select(index)
        self.show()
        self.raise_()

    def update_pages(self, document) -> None:
        """Show the tabs of the pages that apply to the selected layer (if none does, those with a layer of their
        kind in the pipeline, so the group never goes blank while it has something to explain)."""
        if not any(p.shows for p in self.pages):
            return
        selected = document.selected_layer
        shown = [p.shows is None or (selected and p.shows(document) == selected) for p in self.pages]
        if not any(shown):
            shown = [p.shows is None or bool(p.shows(document)) for p in self.pages]
        tabs = self.header.tabs
        tabs.blockSignals(True)
        for i, visible in enumerate(shown):
            tabs.setTabVisible(i, visible)
        tabs.blockSignals(False)
        chosen = next((i for i, p in enumerate(self.pages) if p.key == self._chosen and shown[i]), None)
        if chosen is None:
            chosen = next((i for i, visible in enumerate(shown) if visible), 0)
        self._select(chosen)

    def _select(self, index: int) -> None:
        tabs = self.header.tabs
        tabs.blockSignals(True)
        tabs.setCurrentIndex(index)
        tabs.blockSignals(False)
        if self.stack.currentIndex() != index:
            self.stack.setCurrentIndex(index)
            self.pageChanged.emit(self.pages[index].key)
        self._catch_up()

    def _tab_changed(self, index: int) -> None:
        if 0 <= index < len(self.pages):  # the user clicked a tab: remember it
            self._chosen = self.pages[index].key
            settings.set_preference(f"panels/{self.key}", self._chosen)
            self._select(index)

    def _catch_up(self) -> None:
        page = self.current
        if page is not None and self.isVisible() and hasattr(page.widget, "catch_up"):
            page.widget.catch_up()
