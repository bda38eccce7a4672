"""The main window: layer views in the centre, the editors in docks, menus, toolbar and status bar.

Other parts attach themselves with one line each: `window.menus[name]` is a QMenu, `window.document`
the Document, `window.add_dock(...)` puts a panel in a dock, `window.add_panel(group, ...)` a page in one of the groups under the
maps (panel_groups.py: the layer's arithmetic, the model, learning) and `window.show_panel(key)` brings either to the
front.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QMenu, QMessageBox, QScrollArea, QToolBar

import cnnviz
from cnnviz.ui import settings
from cnnviz.ui.actions import Actions
from cnnviz.ui.arithmetic import install_arithmetic_docks
from cnnviz.ui.cell_editing import EDIT_MODE
from cnnviz.ui.document import Document
from cnnviz.ui.file_actions import FileActions
from cnnviz.ui.filter_editor import FilterEditor
from cnnviz.ui.help import open_guide, show_keys
from cnnviz.ui.input_grid import InputGrid
from cnnviz.ui.layer_views import LayerViews
from cnnviz.ui.panel_groups import GROUPS, PanelGroup
from cnnviz.ui.pipeline_panel import PipelinePanel
from cnnviz.ui.pyqtgraph_setup import configure_pyqtgraph
from cnnviz.ui.training_dock import install_training_dock
from cnnviz.ui.window_fit import ARITHMETIC_SHARE, available_area, first_geometry, side_dock_widths
from cnnviz.ui.side_by_side import install_side_by_side_dock
from cnnviz.ui.summary_view import install_summary_dock
from cnnviz.ui.tour import install_lecture_tour

STATE_VERSION = 2  # 2: the panels under the maps are three groups of pages, not eleven tabbed docks


def scrolling(widget) -> QScrollArea:
    """`widget` in a frameless scroll area that gives it all the room there is and scrolls below its minimum."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    # as wide as the widget needs beside a vertical scroll bar: it scrolls one way only
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


class SkipActionChanges(QObject):
    """An event filter that keeps a widget from hearing that some of its actions changed."""

    def __init__(self, actions, parent=None):
        super().__init__(parent)
        self.actions = actions

    def eventFilter(self, obj, event):  # noqa: N802 (Qt name)
        return event.type() == QEvent.Type.ActionChanged and any(event.action() is a for a in self.actions)


class MainWindow(QMainWindow):
    def __init__(self, document: Document | None = None, parent=None):
        super().__init__(parent)
        configure_pyqtgraph()
        self.setWindowTitle("cnnviz")
        self.document = document if document is not None else Document(parent=self)
        self.action_set = Actions(self, self.document.undo_stack)
        self.menus = {}
        self.docks = {}
        self.panels = {}  # page key -> the PanelGroup holding it
        # Callables asked before the window closes; one returning False keeps it open (unsaved work).
        self.close_guards = []

        self.layer_views = LayerViews(self.document)
        self.setCentralWidget(self.layer_views)
        self.input_grid = InputGrid(self.document)
        self.pipeline_panel = PipelinePanel(self.document)
        self.filter_editor = FilterEditor(self.document)
        self.add_dock("input", "Input", self.input_grid, Qt.DockWidgetArea.LeftDockWidgetArea)
        # the list, the form and the arithmetic are taller than a small screen leaves: scroll, never squeeze
        self.add_dock("pipeline", "Pipeline", scrolling(self.pipeline_panel), Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_dock(
            "filters", "Filters of the selected layer", self.filter_editor, Qt.DockWidgetArea.RightDockWidgetArea
        )

        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.file_actions = FileActions(self)  # File menu, title marker, drops, recovery (file_actions.py)
        self._build_panel_groups()
        install_arithmetic_docks(self)  # step-through, matrix, neuron, dense, ... (ui/arithmetic), "arithmetic" group
        install_summary_dock(self)  # Model summary, in the "model" group (summary_view.py)
        install_side_by_side_dock(self)  # a kept snapshot beside the live layer, "model" too (side_by_side.py)
        install_lecture_tour(self)  # Help ▸ Lecture tour, its panel and the first-launch offer (tour.py)
        install_training_dock(self)  # the training run and the gradients, "learning" (training_dock.py)
        self._follow_selection()
        self.setGeometry(first_geometry(available_area(self)))  # saved geometry, if any, replaces it
        self._first_show = True
        self._restored = self._restore_settings()

    # ------------------------------------------------------------------ layout
    def add_dock(self, key: str, title: str, widget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Put `widget` in a resizable dock (remembered in the window state under `key`)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        return self._place_dock(key, dock, area)

    def _place_dock(self, key: str, dock: QDockWidget, area, in_menu=True) -> QDockWidget:
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        if in_menu and "View" in self.menus:
            self.menus["View"].insertAction(self._view_docks_anchor, dock.toggleViewAction())
        return dock

    def _build_panel_groups(self):
        """The three groups under the maps, tabbed there (the side docks keep the full height, so the window
        does not have to grow taller to hold them), with a View entry for each group and each page."""
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.groups = {}
        for key, title in GROUPS:
            group = self.groups[key] = PanelGroup(key, title, self)
            group.menu = QMenu(title, self)  # View ▸ <group>: the dock itself, then one entry per page
            group.menu.addAction(group.toggleViewAction())
            group.menu.addSeparator()
            self.menus["View"].insertMenu(self._view_docks_anchor, group.menu)
            self._place_dock(key, group, Qt.DockWidgetArea.BottomDockWidgetArea, in_menu=False)
            if len(self.groups) > 1:
                self.tabifyDockWidget(self.groups[GROUPS[0][0]], group)
        self.groups[GROUPS[0][0]].raise_()

    def add_panel(self, group: str, key: str, title: str, widget, shows=None):
        """Put `widget` on a page `key` of group `group` (one of GROUPS), with its entry under View; `shows(document)`
        is the layer index the page would show (the page is offered only when that is the selected layer)."""
        holder = self.groups[group]
        page = holder.add_page(key, title, widget, shows)
        self.panels[key] = holder
        action = QAction(title, self)
        action.setToolTip(f"Bring the {title} page to the front")
        action.triggered.connect(lambda checked=False, k=key: self.show_panel(k))
        holder.menu.addAction(action)
        page.action = action
        return page

    def show_panel(self, key: str) -> None:
        """Bring dock `key`, or the page `key` and its group, to the front."""
        if key in self.panels:
            self.panels[key].show_page(key)
        else:
            self.docks[key].show()
            self.docks[key].raise_()

    def _follow_selection(self):
        """The arithmetic group offers the pages of the selected layer's type; the caption names the layer."""
        group = self.groups["arithmetic"]

        def update(*_):
            doc = self.document
            index = doc.selected_layer
            group.update_pages(doc)
            group.header.caption.setText(f"{doc.layer(index).label}:" if index else "")
            for page in group.pages:
                page.action.setEnabled(group.applies(page))
                page.action.setToolTip(f"Bring the {page.title} page to the front" if group.applies(page)
                                       else f"{page.title}: not for the selected layer")

        for signal in (self.document.selectionChanged, self.document.pipelineChanged):
            signal.connect(update)
        update()

    def _build_menus(self):
        a = self.action_set
        bar = self.menuBar()
        for name in ("File", "Edit", "View", "Layer", "Help"):
            self.menus[name] = bar.addMenu(f"&{name}")
        self.menus["File"].addAction(a.quit)

        edit = self.menus["Edit"]
        edit.addActions([a.undo, a.redo])
        edit.addSeparator()
        edit.addAction(a.paint_mode)
        edit.addActions([a.fill, a.clear, a.invert, a.random])
        examples = edit.addMenu("&Example input")
        examples.addActions(list(a.example.values()))
        self.menus["Examples"] = examples

        view = self.menus["View"]
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        self._view_docks_anchor = view.addSeparator()
        view.addActions(list(a.range.values()))
        view.addSeparator()
        view.addActions([a.show_values, a.zoom_in, a.zoom_out])
        view.addSeparator()
        view.addAction(a.reset_layout)

        layer = self.menus["Layer"]
        add = layer.addMenu("&Add layer")
        add.addActions(list(a.add_layer.values()))
        self.menus["Add layer"] = add
        layer.addActions([a.duplicate_layer, a.remove_layer, a.move_up, a.move_down])
        layer.addSeparator()
        layer.addAction(a.training)

        help_menu = self.menus["Help"]
        help_menu.addActions([a.keys, a.guide])
        self.help_tour_anchor = help_menu.addSeparator()  # the lecture tour goes here (insertAction)
        help_menu.addAction(a.about)

    def _build_toolbar(self):
        a = self.action_set
        tb = QToolBar("Main toolbar", self)
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([a.undo, a.redo])
        tb.addSeparator()
        tb.addAction(a.paint_mode)
        tb.addActions([a.clear, a.random])
        tb.addSeparator()
        for name in ("Conv2D", "MaxPooling2D", "UpSampling2D"):
            action = a.add_layer[name]
            action.setIconText(f"+ {name}")
            tb.addAction(action)
        tb.addAction(a.remove_layer)
        tb.addSeparator()
        tb.addAction(a.training)
        self.addToolBar(tb)
        self.toolbar = tb
        self._steady_undo_buttons()

    def _steady_undo_buttons(self):
        """Undo and Redo change their text at every edit (the undo stack names the step), and a toolbar re-lays
        itself out, and with it the whole window, for any change of one of its actions. Their buttons show the
        same icon text whatever the step, so their size is fixed and the toolbar skips their changes (the
        buttons still follow them: enabled state, tooltip)."""
        steady = (self.action_set.undo, self.action_set.redo)
        for action in steady:
            button = self.toolbar.widgetForAction(action)
            button.setFixedSize(button.sizeHint())
        self._undo_filter = SkipActionChanges(steady, self.toolbar)
        self.toolbar.installEventFilter(self._undo_filter)

    def _build_status_bar(self):
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b00020;")
        self.statusBar().addPermanentWidget(self.error_label)
        self.statusBar().addPermanentWidget(self.layer_views.zoom_control)
        self.statusBar().showMessage(
            "Drag on the input to paint (Ctrl+B: select instead); hover any map to see where its numbers come from."
        )

    # ------------------------------------------------------------------ wiring
    def _connect(self):
        a, doc = self.action_set, self.document
        a.quit.triggered.connect(self.close)
        a.about.triggered.connect(self.show_about)
        a.keys.triggered.connect(lambda: show_keys(self))
        a.guide.triggered.connect(open_guide)
        a.paint_mode.toggled.connect(EDIT_MODE.set_paint)
        EDIT_MODE.set_paint(a.paint_mode.isChecked())
        a.fill.triggered.connect(self.input_grid.fill)
        a.clear.triggered.connect(self.input_grid.clear)
        a.invert.triggered.connect(self.input_grid.invert)
        a.random.triggered.connect(self.input_grid.randomize)
        for name, action in a.example.items():
            action.triggered.connect(lambda checked=False, n=name: self.input_grid.load_example(n))
        for name, action in a.add_layer.items():
            action.triggered.connect(lambda checked=False, n=name: self.pipeline_panel.add_layer(n))
        a.duplicate_layer.triggered.connect(self.pipeline_panel.duplicate_selected)
        a.remove_layer.triggered.connect(self.pipeline_panel.remove_selected)
        a.move_up.triggered.connect(lambda: self.pipeline_panel.move_selected(-1))
        a.move_down.triggered.connect(lambda: self.pipeline_panel.move_selected(+1))
        a.training.toggled.connect(doc.set_training)
        doc.trainingChanged.connect(self._sync_training)
        for mode, action in a.range.items():
            action.triggered.connect(lambda checked=False, m=mode: self.set_range_mode(m))
        a.show_values.toggled.connect(self.set_show_values)
        a.zoom_in.triggered.connect(lambda: self.layer_views.set_zoom(self.layer_views.zoom * 1.25))
        a.zoom_out.triggered.connect(lambda: self.layer_views.set_zoom(self.layer_views.zoom / 1.25))
        a.reset_layout.triggered.connect(self.reset_layout)
        for view in (self.layer_views, self.input_grid, self.filter_editor):
            view.hoverText.connect(self._show_hover)
        doc.errorChanged.connect(self.error_label.setText)

    def _sync_training(self, training: bool):
        self.action_set.training.setChecked(training)

    def _show_hover(self, text: str):
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def set_range_mode(self, mode: str):
        self.layer_views.set_range_mode(mode)
        self.action_set.range[mode].setChecked(True)
        settings.set_preference("view/color_range", mode)

    def set_show_values(self, show: bool):
        self.layer_views.set_show_values(show)
        self.input_grid.set_show_values(show)
        self.filter_editor.set_show_values(show)
        if self.action_set.show_values.isChecked() != show:
            self.action_set.show_values.setChecked(show)
        settings.set_preference("view/show_values", show)

    def showEvent(self, event):
        super().showEvent(event)
        if self._first_show:
            if not self._restored:
                self._size_docks()
            self._first_show = False

    def _size_docks(self):
        self.resizeDocks(
            [self.docks["input"], self.docks["filters"]], list(side_dock_widths(self.width())), Qt.Orientation.Horizontal
        )
        # the pipeline as tall as its list, form and arithmetic need, the input grid the rest (at least its
        # minimum: on a short screen the pipeline scrolls)
        bars = sum(w.sizeHint().height() for w in (self.menuBar(), self.toolbar, self.statusBar()))
        left = self.height() - bars - 8  # the separator between the two docks
        pipeline = self.pipeline_panel.sizeHint().height() + 32  # and the dock's title bar
        input_height = max(self.docks["input"].minimumSizeHint().height(), left - pipeline)
        self.resizeDocks(
            [self.docks["input"], self.docks["pipeline"]], [input_height, left - input_height], Qt.Orientation.Vertical
        )
        # the panels under the maps: a share of the height, not their hint
        share = int(ARITHMETIC_SHARE * self.height())
        self.resizeDocks([self.groups[GROUPS[0][0]]], [share], Qt.Orientation.Vertical)

    def reset_layout(self):
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self._size_docks()

    def show_about(self):
        QMessageBox.about(
            self,
            "About cnnviz",
            f"<h3>cnnviz {cnnviz.__version__}</h3>"
            "<p>See how a convolutional neural network transforms numbers: paint the input, edit the "
            "filters, build the pipeline, and watch every layer's output change live.</p>"
            "<p>Layers follow Keras 3 exactly (names, arguments, padding, weight layouts).</p>",
        )

    # ------------------------------------------------------------------ settings
    def _dock_names(self) -> str:
        """The docks and the pages of the panel groups: a layout is restored only into the same set."""
        return ",".join(sorted(dock.objectName() for dock in self.docks.values()) + sorted(self.panels))

    def _restore_settings(self) -> bool:
        """Preferences and, if saved, the window layout; True when a layout was restored.

        A layout is restored only if it was saved with exactly these docks: Qt would put any dock missing
        from it side by side with the others (and grow the window to their minimum sizes), and that broken
        layout would then be saved again at every close.
        """
        s = settings.open_settings()
        geometry, state = s.value("window/geometry"), s.value("window/state")
        restored = (
            s.value("window/docks") == self._dock_names()
            and isinstance(state, QByteArray) and not state.isEmpty()
            and isinstance(geometry, QByteArray) and not geometry.isEmpty()
            and self.restoreGeometry(geometry)
            and self.restoreState(state, STATE_VERSION)
        )
        mode = settings.preference("view/color_range")
        self.set_range_mode(mode if mode in self.action_set.range else "layer")
        self.set_show_values(settings.preference("view/show_values"))
        return bool(restored)

    def save_settings(self):
        s = settings.open_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.setValue("window/docks", self._dock_names())
        s.sync()

    def closeEvent(self, event):
        if not all(guard() for guard in self.close_guards):
            event.ignore()
            return
        self.save_settings()
        super().closeEvent(event)
