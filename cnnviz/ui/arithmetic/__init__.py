"""Show the arithmetic: how every output number of a layer is made, with the real numbers.

`install_arithmetic_docks(window)` puts the views on the pages of the window's "Layer arithmetic" group
(panel_groups.py: only the pages that apply to the selected layer's type are shown), with their entries (and
the step-through's play/step shortcuts) under View.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from cnnviz.core.layers import Dropout, UpSampling2D
from cnnviz.ui.arithmetic.base import find_layer
from cnnviz.ui.arithmetic.batchnorm_view import BatchNormView, batchnorm_index
from cnnviz.ui.arithmetic.dense_view import DenseView, dense_index
from cnnviz.ui.arithmetic.dropout_view import DropoutView
from cnnviz.ui.arithmetic.matrix_view import MATRIX_KINDS, MatrixView
from cnnviz.ui.arithmetic.neuron_view import NEURON_KINDS, NeuronView
from cnnviz.ui.arithmetic.step_model import SLIDING_KINDS
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.arithmetic.upsampling_view import UpsamplingView

__all__ = [
    "BatchNormView", "DenseView", "DropoutView", "MatrixView", "NeuronView", "StepperView", "UpsamplingView",
    "install_arithmetic_docks",
]

# (key, tab title, view class, the layer it shows for a Document, as its refresh() finds it): the order of the tabs
_VIEWS = (
    ("stepper", "Step through", StepperView, lambda doc: find_layer(doc, SLIDING_KINDS)),
    ("matrix", "Conv as matrix", MatrixView, lambda doc: find_layer(doc, MATRIX_KINDS)),
    ("neuron", "Neuron (ANN)", NeuronView, lambda doc: find_layer(doc, NEURON_KINDS)),
    ("dense", "Dense", DenseView, dense_index),
    ("batchnorm", "Batch norm", BatchNormView, batchnorm_index),
    ("upsampling", "Up-sampling", UpsamplingView, lambda doc: find_layer(doc, (UpSampling2D,))),
    ("dropout", "Dropout", DropoutView, lambda doc: find_layer(doc, (Dropout,))),
)


def install_arithmetic_docks(window) -> dict:
    """Add every arithmetic view to `window` (a MainWindow) as a page of its "arithmetic" group; return {key: view}."""
    views = {}
    for key, title, cls, shows in _VIEWS:
        view = views[key] = cls(window.document)
        view.lazy = True  # hidden pages skip refreshes and catch up when they come to the front
        window.add_panel("arithmetic", f"arithmetic_{key}", title, view, shows)

    stepper = views["stepper"]
    menu = window.menus["View"].addMenu("Step-&through")
    for action in (stepper.play_action, stepper.back_action, stepper.forward_action, stepper.restart_action):
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # works wherever the focus is
        menu.addAction(action)
    window.menus["Step-through"] = menu
    stepper.export_action.triggered.connect(lambda: window.file_actions.export_animation(stepper))
    window.arithmetic_views = views
    return views
