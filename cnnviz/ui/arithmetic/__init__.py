"""Show the arithmetic: how every output number of a layer is made, with the real numbers.

`install_arithmetic_docks(window)` puts the views in tabbed docks of the main window, with their entries
(and the step-through's play/step shortcuts) under View.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from cnnviz.ui.arithmetic.batchnorm_view import BatchNormView
from cnnviz.ui.arithmetic.dense_view import DenseView
from cnnviz.ui.arithmetic.dropout_view import DropoutView
from cnnviz.ui.arithmetic.matrix_view import MatrixView
from cnnviz.ui.arithmetic.neuron_view import NeuronView
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.arithmetic.upsampling_view import UpsamplingView

__all__ = [
    "BatchNormView", "DenseView", "DropoutView", "MatrixView", "NeuronView", "StepperView", "UpsamplingView",
    "install_arithmetic_docks",
]

# (key, dock title, view class): the order of the tabs
_VIEWS = (
    ("stepper", "Step through", StepperView),
    ("matrix", "Conv as matrix", MatrixView),
    ("neuron", "Neuron (ANN)", NeuronView),
    ("dense", "Dense", DenseView),
    ("batchnorm", "Batch norm", BatchNormView),
    ("upsampling", "Up-sampling", UpsamplingView),
    ("dropout", "Dropout", DropoutView),
)


def install_arithmetic_docks(window) -> dict:
    """Add every arithmetic view to `window` (a MainWindow) as tabbed docks; return {key: view}."""
    # The side docks keep the full height; the arithmetic docks sit under the layer views only, so the
    # window does not have to grow taller to hold them.
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    views, docks = {}, []
    for key, title, cls in _VIEWS:
        view = views[key] = cls(window.document)
        view.lazy = True  # hidden tabs skip refreshes and catch up when their tab is raised
        dock = window.add_dock(f"arithmetic_{key}", title, view, Qt.DockWidgetArea.BottomDockWidgetArea)
        dock.visibilityChanged.connect(lambda shown, view=view: shown and view.catch_up())
        docks.append(dock)
    for dock in docks[1:]:
        window.tabifyDockWidget(docks[0], dock)
    docks[0].raise_()
    window.resizeDocks([docks[0]], [400], Qt.Orientation.Vertical)

    stepper = views["stepper"]
    menu = window.menus["View"].addMenu("Step-&through")
    for action in (stepper.play_action, stepper.back_action, stepper.forward_action, stepper.restart_action):
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # works wherever the focus is
        menu.addAction(action)
    window.menus["Step-through"] = menu
    stepper.export_action.triggered.connect(lambda: window.file_actions.export_animation(stepper))
    window.arithmetic_views = views
    return views
