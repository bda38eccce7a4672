"""The main window: construction, menus, shortcuts, settings, About, the error safety net."""

import logging

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

import cnnviz
from cnnviz.ui import MainWindow, app as app_module
from ui_support import make_window


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def test_constructs_with_the_seed_example_and_named_widgets(window):
    assert isinstance(window, MainWindow)
    for name in ("inputGrid", "filterEditor", "pipelinePanel", "layerViews"):
        assert window.findChild(QWidget, name) is not None, name
    doc = window.document
    assert doc.input.shape == (6, 6, 1)
    assert [o.shape for o in doc.outputs] == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]
    assert len(doc.pipeline.layers) == 3


def test_menus_toolbar_and_standard_shortcuts(window):
    assert {"File", "Edit", "View", "Layer", "Help"} <= set(window.menus)
    a = window.action_set
    assert a.undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert a.redo.shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    assert not a.quit.shortcut().isEmpty()
    view_texts = [act.text() for act in window.menus["View"].actions()]
    assert "Input" in view_texts and "Pipeline" in view_texts  # docks can be shown again
    layer_texts = [act.text() for act in window.menus["Add layer"].actions()]
    assert "Conv2D" in layer_texts and "Conv2DTranspose" in layer_texts
    assert all(act.toolTip() for act in window.menus["Add layer"].actions())
    # undo is disabled with nothing to undo and enabled after an edit
    assert not a.undo.isEnabled()
    window.document.paint_cells([(0, 0, 0)], 5)
    assert a.undo.isEnabled() and "Paint input" in a.undo.text()


def test_an_edit_that_names_a_new_undo_step_asks_no_layout_of_the_toolbar(window):
    """Qt re-lays out a toolbar, and with it the whole window, when one of its actions changes: Undo's text
    changes at every edit. Its button still follows it."""
    from PySide6.QtCore import QEvent, QObject

    a, toolbar = window.action_set, window.toolbar
    undo = toolbar.widgetForAction(a.undo)
    QApplication.processEvents()
    size = undo.size()
    requests = []

    class Requests(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.LayoutRequest and watched in (window, toolbar):
                requests.append(type(watched).__name__)
            return False

    spy = Requests()
    QApplication.instance().installEventFilter(spy)
    try:
        window.document.paint_cells([(0, 0, 0)], 5)
        QApplication.processEvents()
        window.document.set_layer_param(1, "strides", (1, 2))
        QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(spy)
    assert requests == []
    assert undo.isEnabled() and undo.text() == "Undo" and undo.size() == size
    assert "strides" in a.undo.text() and "strides" in undo.toolTip()
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert not undo.isEnabled() and toolbar.widgetForAction(a.redo).isEnabled()


def test_settings_remember_layout_and_preferences(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    window.set_range_mode("global")
    window.set_show_values(False)
    window.docks["filters"].hide()
    window.close()
    stored = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert stored.value("view/color_range") == "global"
    assert not stored.value("window/geometry").isEmpty()
    again = make_window(qtbot, tmp_path)
    assert again.layer_views.range_mode == "global"
    assert again.action_set.range["global"].isChecked()
    assert not again.action_set.show_values.isChecked()
    assert not again.docks["filters"].isVisible()
    again.action_set.reset_layout.trigger()
    assert again.docks["filters"].isVisible()


def test_about_names_the_version(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((title, text)))
    window.action_set.about.trigger()
    assert shown and cnnviz.__version__ in shown[0][1]


def test_unexpected_errors_are_logged_and_shown_without_losing_work(window, qtbot, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(app_module, "log_path", lambda: tmp_path / "cnnviz.log")
    hook_before = __import__("sys").excepthook
    try:
        app_module.install_excepthook(window)
        window.document.paint_cells([(2, 2, 0)], 4.0)
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError as exc:
            with caplog.at_level(logging.ERROR, logger="cnnviz"):
                __import__("sys").excepthook(type(exc), exc, exc.__traceback__)
        boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
        assert boxes and "boom in a slot" in boxes[0].text()
        assert "boom in a slot" in caplog.text
        assert "boom in a slot" in (tmp_path / "cnnviz.log").read_text()
        assert window.document.input[2, 2, 0] == 4.0  # the work is still there
        boxes[0].close()
    finally:
        __import__("sys").excepthook = hook_before
        for handler in logging.getLogger("cnnviz").handlers[:]:
            handler.close()
            logging.getLogger("cnnviz").removeHandler(handler)


def test_zoom_and_show_values(window):
    views = window.layer_views
    side = views.cards(0)[0].heatmap.width()
    window.action_set.zoom_in.trigger()
    QApplication.processEvents()  # the maps take their new size when the layout runs
    assert views.cards(0)[0].heatmap.width() > side
    window.action_set.show_values.setChecked(False)
    assert not views.cards(0)[0].heatmap.overlay.show_values
    assert not window.input_grid.heatmap.overlay.show_values


def test_error_from_the_core_shows_in_the_status_bar_and_outputs_stay(window, monkeypatch):
    doc = window.document
    good = [o.copy() for o in doc.outputs]

    def broken(*args, **kwargs):
        raise cnnviz.core.ConfigError("Conv2D #1: simulated failure")

    monkeypatch.setattr(type(doc.pipeline), "run", broken)
    monkeypatch.setattr(type(doc.pipeline), "rerun_rows", broken)  # an input paint recomputes by rows
    doc.paint_cells([(0, 0, 0)], 3.0)
    doc.flush()
    assert window.error_label.text() == "Conv2D #1: simulated failure"
    for got, want in zip(doc.outputs, good):
        np.testing.assert_array_equal(got, want)
    monkeypatch.undo()
    doc.paint_cells([(0, 1, 0)], 3.0)
    doc.flush()
    assert window.error_label.text() == ""
