"""Every QAction of the main window in one place, with standard shortcuts and status tips.

The actions are created here and connected by MainWindow; menus and the toolbar only arrange them.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QStyle

from cnnviz.core import INPUT_EXAMPLES, LAYER_TYPES
from cnnviz.ui.icons import undo_icon

SK = QKeySequence.StandardKey


class Actions:
    """The window's actions as attributes; `add_layer` and `example` are dicts keyed by name."""

    def __init__(self, window, undo_stack):
        style = window.style()

        def make(text, tip="", shortcut=None, icon=None, checkable=False):
            action = QAction(text, window)
            if tip:
                action.setStatusTip(tip)
                action.setToolTip(f"{text.replace('&', '')}: {tip}")
            if shortcut is not None:
                standard = isinstance(shortcut, SK)
                action.setShortcuts(QKeySequence.keyBindings(shortcut) if standard else [QKeySequence(shortcut)])
            if icon is not None:
                action.setIcon(style.standardIcon(icon))
            action.setCheckable(checkable)
            return action

        # Edit: one undo stack for everything.
        self.undo = undo_stack.createUndoAction(window, "&Undo")
        self.undo.setShortcuts(QKeySequence.keyBindings(SK.Undo))
        self.undo.setIcon(undo_icon())
        self.redo = undo_stack.createRedoAction(window, "&Redo")
        self.redo.setShortcuts(QKeySequence.keyBindings(SK.Redo))
        self.redo.setIcon(undo_icon(mirrored=True))
        self.undo.setIconText("Undo")  # the toolbar stays put; menus and tooltips name the step
        self.redo.setIconText("Redo")
        self.quit = make("&Quit", "Close cnnviz", SK.Quit)
        if self.quit.shortcut().isEmpty():
            self.quit.setShortcut(QKeySequence("Ctrl+Q"))

        self.paint_mode = make(
            "&Paint with the brush",
            "On: a click or drag on the input or a filter paints the brush value. Off: a click only selects the "
            "cell (type a number or double-click to edit it)",
            "Ctrl+B",
            checkable=True,
        )
        self.paint_mode.setIconText("Paint")
        self.paint_mode.setChecked(True)

        # Input.
        self.fill = make("&Fill input", "Set every input cell (of the shown channel) to the brush value",
                         "Ctrl+Shift+F")
        self.clear = make("&Clear input", "Set every input cell to 0", "Ctrl+Shift+Backspace")
        self.invert = make(
            "&Invert input", "Black ↔ white: every value v becomes (max + min) − v, over at least 0..1", "Ctrl+I"
        )
        self.random = make("&Random input", "Random values between 0 and 1", "Ctrl+Shift+R")
        self.example = {name: make(name.capitalize(), f"Load the {name} example input") for name in INPUT_EXAMPLES}

        # Layers.
        self.add_layer = {name: make(name, cls.HELP) for name, cls in LAYER_TYPES.items()}
        self.duplicate_layer = make("D&uplicate layer", "Insert a copy of the selected layer after it", "Ctrl+D")
        self.remove_layer = make("&Remove layer", "Remove the selected layer from the pipeline", "Ctrl+Shift+Delete",
                                 QStyle.StandardPixmap.SP_TrashIcon)
        self.move_up = make("Move layer &earlier", "Move the selected layer one place towards the input",
                            "Ctrl+Shift+Up", QStyle.StandardPixmap.SP_ArrowUp)
        self.move_down = make("Move layer &later", "Move the selected layer one place towards the output",
                              "Ctrl+Shift+Down", QStyle.StandardPixmap.SP_ArrowDown)
        self.training = make("&Training mode", "Dropout acts only while training: show it acting", "Ctrl+T",
                             checkable=True)

        # View.
        self.range_group = QActionGroup(window)
        self.range = {}
        for mode, text, tip in (
            ("map", "Colour range per &map", "Each map uses its own largest |value|"),
            ("layer", "Colour range per &layer", "All maps of a layer share one colour scale"),
            ("global", "Colour range &global", "Every layer output shares one colour scale, so layers compare"),
        ):
            action = make(text, tip, checkable=True)
            self.range_group.addAction(action)
            self.range[mode] = action
        self.show_values = make("Show &values in cells", "Write each number in its cell when the cell is big enough",
                                "Ctrl+Shift+V", checkable=True)
        self.zoom_in = make("Zoom &in", "Bigger cells in the layer views", SK.ZoomIn)
        self.zoom_out = make("Zoom &out", "Smaller cells in the layer views", SK.ZoomOut)
        self.reset_layout = make("&Reset layout", "Put every panel back where it started")

        # Help.
        self.keys = make("&Keys and mouse", "Every shortcut and what a click, drag or double-click does",
                         SK.HelpContents)
        self.guide = make("&Guide (README)", "The user guide that comes with cnnviz")
        self.about = make("&About cnnviz", "Version and what cnnviz is", None,
                          QStyle.StandardPixmap.SP_MessageBoxInformation)
