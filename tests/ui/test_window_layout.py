"""The window layout remembered between launches: what was saved comes back exactly, anything else gets the default."""

import pytest
from PySide6.QtWidgets import QApplication, QTabBar

from cnnviz.ui import main_window
from ui_support import make_window

GROUPS = {"arithmetic", "model", "learning"}  # the panel groups under the maps (panel_groups.py)


def bottom_tabs(window):
    """The groups tabbed under the maps, the title of the group in front and of its page in front."""
    first = window.docks["arithmetic"]
    tabbed = {key for key, dock in window.docks.items() if dock is first or dock in window.tabifiedDockWidgets(first)}
    titles = {window.docks[key].windowTitle() for key in GROUPS}
    # Qt keeps spare tab bars parked outside the window: count only the one on screen
    bars = [bar for bar in window.findChildren(QTabBar)
            if window.rect().contains(bar.geometry()) and {bar.tabText(i) for i in range(bar.count())} == titles]
    assert len(bars) == 1, "the three panel groups share one tab bar"
    front = window.docks[next(key for key in GROUPS if window.docks[key].windowTitle() == bars[0].tabText(
        bars[0].currentIndex()))]
    return tabbed, front.windowTitle(), front.current.title


def assert_fits(window):
    QApplication.processEvents()
    assert (window.width(), window.height()) == (1400, 900)
    assert window.grab().size().toTuple() == (1400, 900)
    assert window.minimumSizeHint().width() <= 1400 and window.minimumSizeHint().height() <= 900


def test_a_second_window_restores_the_tabbed_docks_and_the_front_tab(qtbot, tmp_path):
    first = make_window(qtbot, tmp_path)
    assert bottom_tabs(first) == (GROUPS, "Layer arithmetic", "Step through")
    assert_fits(first)
    first.show_panel("arithmetic_neuron")
    QApplication.processEvents()
    first.close()

    second = make_window(qtbot, tmp_path)
    assert second._restored
    assert bottom_tabs(second) == (GROUPS, "Layer arithmetic", "Neuron (ANN)")
    assert_fits(second)
    # the view in front was refreshed when its tab came forward
    assert second.arithmetic_views["neuron"].layer_index == 1


def test_a_layout_saved_with_other_docks_is_not_restored(qtbot, tmp_path, monkeypatch):
    """A layout from a build without the arithmetic docks would put them side by side: use the default."""
    monkeypatch.setattr(main_window, "install_arithmetic_docks", lambda window: None)
    older = make_window(qtbot, tmp_path)
    older.close()
    monkeypatch.undo()

    window = make_window(qtbot, tmp_path)
    assert not window._restored
    assert bottom_tabs(window) == (GROUPS, "Layer arithmetic", "Step through")
    assert_fits(window)


def test_a_small_screen_fits_and_a_long_refusal_never_crushes_the_form(qtbot, tmp_path):
    """1024×700 (a small laptop): the window takes that size, and the layer form keeps readable fields
    (the pipeline dock scrolls instead of squeezing them) even under a long error message."""
    window = make_window(qtbot, tmp_path)
    window.resize(1024, 700)
    QApplication.processEvents()
    assert window.size().toTuple() == (1024, 700)
    panel = window.pipeline_panel
    panel.fields["strides"].boxes[0].setValue(2)
    panel.fields["dilation_rate"].boxes[0].setValue(2)  # refused with a four-line message
    QApplication.processEvents()
    assert panel.error.isVisible()
    for key in ("filters", "kernel_size", "strides", "dilation_rate"):
        field = panel.fields[key]
        box = field.boxes[0] if hasattr(field, "boxes") else field
        assert box.height() >= box.minimumSizeHint().height(), key


def test_a_window_opened_small_splits_its_height_between_the_maps_and_the_arithmetic(qtbot, tmp_path):
    """Opened at 1024×700 the step-through kept its 374 px and the layer maps got 214 px."""
    from cnnviz.ui import settings
    from cnnviz.ui.main_window import MainWindow

    settings.use_file(tmp_path / "settings.ini")
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    stepper = window.arithmetic_views["stepper"]
    assert window.layer_views.height() >= window.docks["arithmetic"].height()
    assert stepper.row_slider.width() >= 40  # the scrub sliders keep a usable length in the narrow dock
    assert stepper.col_slider.width() >= 40


@pytest.mark.parametrize("size", [(1400, 900), (1920, 1080)])
def test_the_pipeline_gets_the_room_it_needs_and_the_input_the_rest(qtbot, tmp_path, size):
    """At 1920×1080 the input grid stayed at its minimum above a half-empty layer list."""
    from PySide6.QtWidgets import QScrollArea

    from ui_support import make_window

    window = make_window(qtbot, tmp_path, size=size)
    QApplication.processEvents()
    scroll = window.docks["pipeline"].widget()
    assert isinstance(scroll, QScrollArea) and scroll.verticalScrollBar().maximum() == 0
    spare = window.docks["pipeline"].height() - window.pipeline_panel.sizeHint().height()
    assert spare < 60, spare
    if size[1] > 1000:
        assert window.docks["input"].height() > window.docks["input"].minimumSizeHint().height() + 100


def test_the_left_panel_stays_put_when_the_selection_changes_or_an_error_appears(qtbot, tmp_path):
    """Selecting another layer or a refused value moved the form (the list gave up or took the room), so a
    second click landed on another field."""
    window = make_window(qtbot, tmp_path)
    window.resize(1366, 768)
    panel = window.pipeline_panel

    def settle():
        for _ in range(3):
            QApplication.processEvents()

    settle()
    form_top = panel.form_box.mapTo(panel, panel.form_box.rect().topLeft()).y()
    for index in (2, 3, 1, 2, 1):
        window.document.select_layer(index)
        settle()
        assert panel.form_box.mapTo(panel, panel.form_box.rect().topLeft()).y() == form_top, index
    window.document.select_layer(1)
    settle()
    field = panel.fields["strides"].boxes[1]
    field_top = field.mapTo(panel, field.rect().topLeft()).y()
    panel.fields["strides"].boxes[0].setValue(2)
    panel.fields["dilation_rate"].boxes[0].setValue(2)  # refused with a long message
    settle()
    assert panel.error.isVisible()
    assert field.mapTo(panel, field.rect().topLeft()).y() == field_top
    assert panel.form_box.mapTo(panel, panel.form_box.rect().topLeft()).y() == form_top
