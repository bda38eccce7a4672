"""The arithmetic views inside the real main window: docks, menu, shortcuts and hover links."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cnnviz.ui.arithmetic.stepper import Step
from tests.ui.ui_support import hover, make_window


def test_docks_menu_and_shortcuts(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    views = window.arithmetic_views
    assert set(views) == {"stepper", "matrix", "neuron", "dense", "batchnorm", "upsampling", "dropout"}
    for key in views:
        assert f"arithmetic_{key}" in window.docks
    menu = window.menus["Step-through"]
    assert [a.text() for a in menu.actions()] == ["Play", "Step back", "Step forward", "Restart"]
    stepper = views["stepper"]
    window.activateWindow()
    window.input_grid.setFocus()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.input_grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert stepper.step == 1  # the shortcut works wherever the focus is
    qtbot.keyClick(window.input_grid, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert stepper.playing
    qtbot.keyClick(window.input_grid, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert not stepper.playing


def test_hovering_a_layer_heatmap_pauses_the_stepper_and_moves_the_window(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    stepper = window.arithmetic_views["stepper"]
    stepper.play()
    card = window.layer_views.cards(1)[0]  # Conv2D #1, map of filter 1
    QApplication.processEvents()  # the window lays out its docks once shown (the map moves): hover after that
    hover(qtbot, card.heatmap, (3, 2))
    qtbot.waitUntil(lambda: not stepper.playing, timeout=2000)
    assert stepper.steps[stepper.step] == Step(0, (3, 2))
    neuron, matrix = window.arithmetic_views["neuron"], window.arithmetic_views["matrix"]
    assert neuron.neuron == (0, 0, 0)  # behind the step-through tab: not redrawn for every hover
    for key, view in (("neuron", neuron), ("matrix", matrix)):
        window.docks[f"arithmetic_{key}"].raise_()  # shown: it catches up with the probe
        qtbot.waitUntil(lambda view=view: not view.visibleRegion().isEmpty(), timeout=2000)
    assert neuron.neuron == (3, 2, 0)
    assert matrix.row == (3 * 4 + 2) * 2 + 0


def test_selecting_the_pooling_layer_switches_the_stepper(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    stepper = window.arithmetic_views["stepper"]
    window.document.select_layer(2)
    assert stepper.layer_index == 2 and len(stepper.steps) == 2 * 2 * 2
    assert stepper.formula_lines()[0].startswith("y[0,0] = max(")
    window.document.select_layer(3)  # up-sampling does not slide a window: the stepper keeps a sliding layer
    assert stepper.layer_index in (1, 2)
    assert window.arithmetic_views["upsampling"].layer_index == 3


def test_hidden_tabs_catch_up_when_shown_and_closed_views_let_go(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    views = window.arithmetic_views
    matrix = views["matrix"]
    qtbot.waitUntil(lambda: matrix.visibleRegion().isEmpty(), timeout=2000)  # behind the step-through tab
    first = matrix.matrix
    window.document.replace_layer(1, window.document.layer(1).replace(strides=(2, 2)))
    assert matrix.matrix is first  # skipped while hidden
    window.docks["arithmetic_matrix"].raise_()
    qtbot.waitUntil(lambda: matrix.matrix is not first, timeout=2000)
    m = matrix.matrix
    assert m.matrix.shape == (2 * 2 * 2, 36)
    assert (m.matrix @ window.document.input.ravel() + m.bias)[0] == window.document.outputs[0].ravel()[0]
    assert "Check: C·x + b equals" in matrix.formula.text()
    neuron = views["neuron"]
    neuron.close()
    window.document.select_layer(2)  # a closed view no longer follows the document (and does not fail)
    assert neuron.layer_index == 1
