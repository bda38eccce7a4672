"""The panels under the maps at the sizes people use: three groups with full titles, only the pages of the
selected layer's type, a View entry for each page, and the user's choice remembered."""

import pytest
from PySide6.QtWidgets import QApplication, QScrollArea, QTabBar

from tests.ui.ui_support import make_window

SIZES = [(1024, 700), (1366, 768), (1920, 1080)]


def settle():
    for _ in range(3):
        QApplication.processEvents()


def visible_tabs(bar: QTabBar) -> list[str]:
    return [bar.tabText(i) for i in range(bar.count()) if bar.isTabVisible(i)]


def assert_titles_whole(bar: QTabBar):
    """Every visible tab as wide as its title, and all of them inside the bar (no scroll arrows needed)."""
    metrics = bar.fontMetrics()
    for i in range(bar.count()):
        if bar.isTabVisible(i):
            rect = bar.tabRect(i)
            assert rect.width() >= metrics.horizontalAdvance(bar.tabText(i)), bar.tabText(i)
            assert bar.rect().contains(rect), bar.tabText(i)


def group_bar(window) -> QTabBar:
    """The tab bar on screen that switches between the three groups."""
    titles = {g.windowTitle() for g in window.groups.values()}
    bars = [bar for bar in window.findChildren(QTabBar) if bar.isVisible()
            and {bar.tabText(i) for i in range(bar.count())} == titles]
    assert len(bars) == 1
    return bars[0]


@pytest.mark.parametrize("size", SIZES)
def test_every_title_under_the_maps_is_whole(qtbot, tmp_path, size):
    window = make_window(qtbot, tmp_path)
    window.resize(*size)
    settle()
    assert_titles_whole(group_bar(window))
    for key, group in window.groups.items():
        group.show_page(group.pages[0].key)
        settle()
        assert group.isVisible() and not group.visibleRegion().isEmpty(), key
        assert_titles_whole(group.header.tabs)


def test_the_arithmetic_offers_the_pages_of_the_selected_layer(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    doc, group = window.document, window.groups["arithmetic"]
    expected = {  # the seed: Conv2D, MaxPooling2D, UpSampling2D
        1: ["Step through", "Conv as matrix", "Neuron (ANN)"],
        2: ["Step through"],
        3: ["Up-sampling"],
    }
    for index, pages in expected.items():
        doc.select_layer(index)
        settle()
        assert visible_tabs(group.header.tabs) == pages, index
        assert group.current.title == pages[0]
        assert group.header.caption.text() == f"{doc.layer(index).label}:"
        enabled = [a.text() for a in group.menu.actions() if a.isEnabled() and a in [p.action for p in group.pages]]
        assert enabled == pages  # the View entries of the other pages are greyed
    # a Dropout layer gets its own page, and its view shows that layer
    doc.add_layer("Dropout", 3)
    doc.flush()
    settle()
    assert doc.selected_layer == 4
    assert visible_tabs(group.header.tabs) == ["Dropout"]
    assert group.current.widget.layer_index == 4


def test_a_view_entry_brings_each_page_to_the_front(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    for group in window.groups.values():
        for page in group.pages:
            page.action.setEnabled(True)
            page.action.trigger()
            settle()
            assert group.current is page, page.key
            assert page.widget.isVisible() and not page.widget.visibleRegion().isEmpty(), page.key


def test_the_chosen_page_comes_back_for_its_layer_type_and_in_the_next_window(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    doc, group = window.document, window.groups["arithmetic"]
    tabs = group.header.tabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Conv as matrix"))  # as a click does
    settle()
    assert group.current.key == "arithmetic_matrix"
    doc.select_layer(2)  # pooling has no matrix page: the step-through stands in
    settle()
    assert group.current.key == "arithmetic_stepper"
    doc.select_layer(1)
    settle()
    assert group.current.key == "arithmetic_matrix"
    window.show_panel("backprop")
    settle()
    window.close()

    again = make_window(qtbot, tmp_path)
    settle()
    assert again._restored
    assert again.groups["arithmetic"].current.key == "arithmetic_matrix"
    learning = again.groups["learning"]
    assert learning.current.key == "backprop"
    assert learning.isVisible() and not learning.visibleRegion().isEmpty()  # its group in front, as left


def inside(widget, viewport) -> bool:
    """`widget` wholly within `viewport` (a scroll area's), as drawn now."""
    from PySide6.QtCore import QRect

    top_left = widget.mapTo(viewport, widget.rect().topLeft())
    return widget.isVisible() and viewport.rect().contains(QRect(top_left, widget.size()))


def test_at_1366x768_the_training_page_needs_no_scrolling(qtbot, tmp_path):
    """The training dock scrolled and its loss plot sat mostly off to the right."""
    from cnnviz.io import load_session

    window = make_window(qtbot, tmp_path)
    window.resize(1366, 768)
    window.file_actions.open_session(load_session("resources/the-filter-learns.cnnviz.json"), None)
    dock = window.training_dock
    assert dock.choose_data()
    window.show_panel("training")
    settle()
    area = window.groups["learning"].current.widget
    assert area.verticalScrollBar().maximum() == 0 and area.horizontalScrollBar().maximum() == 0
    viewport = area.viewport()
    for widget in (dock.data_box, dock.loss, dock.learning_rate, dock.seed, dock.layers, dock.train_button,
                   dock.reset_button, dock.status["loss"], dock.status["left"], dock.plot):
        assert inside(widget, viewport), widget
    assert dock.plot.width() >= 250 and dock.plot.height() >= 80


def test_at_1366x768_the_backprop_maps_are_in_view_with_their_numbers_room(qtbot, tmp_path):
    from cnnviz.io import load_session

    window = make_window(qtbot, tmp_path)
    window.resize(1366, 768)
    window.file_actions.open_session(load_session("resources/the-filter-learns.cnnviz.json"), None)
    assert window.training_dock.choose_data()
    window.show_panel("backprop")
    window.document.select_layer(1)
    settle()
    view = window.backprop_view
    scroll = view.findChild(QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0  # the sums wrap beside the maps, nothing off to the right
    for key in ("x", "y", "dy", "w"):
        assert inside(view.maps[key], scroll.viewport()), key
    dw = view.maps["dw"]  # its last row may sit under the fold: the rest is in view
    assert dw.mapTo(scroll.viewport(), dw.rect().topRight()).x() <= scroll.viewport().width()
    for key in ("dy", "dw"):  # 26 px cells: room for two decimals
        heat = view.maps[key]
        assert heat.width() >= 26 * heat.shape[1] - 1, key


def learning_page(qtbot, tmp_path, size):
    """The filter that learns, its Training page in front, in a window of `size`."""
    from cnnviz.io import load_session

    window = make_window(qtbot, tmp_path, size=size)
    window.file_actions.open_session(load_session("resources/the-filter-learns.cnnviz.json"), None)
    window.show_panel("training")
    settle()
    return window, window.training_dock


def test_at_1366x768_a_run_hides_the_settings_and_gives_the_plot_its_height(qtbot, tmp_path):
    """The filter that learns at 1366×768: its maps take the window's height, and the plot under the run's
    buttons and progress was about 100 px tall. Train hides the settings (they cannot change during a run);
    the buttons and progress then sit beside a plot of the page's height, and Show settings brings them back."""
    window, dock = learning_page(qtbot, tmp_path, (1366, 768))
    assert dock.settings_box.isVisible() and dock.plot.height() < 180
    try:
        assert dock.train()
        settle()
        area = window.groups["learning"].current.widget
        assert area.verticalScrollBar().maximum() == 0 and area.horizontalScrollBar().maximum() == 0
        assert not dock.settings_box.isVisible() and dock.settings_button.text() == "Show settings"
        assert dock.plot.view.height() >= 180 and dock.plot.view.width() >= 300
        for widget in (dock.train_button, dock.pause_button, dock.reset_button, dock.status["loss"],
                       dock.status["left"], dock.plot, dock.settings_button):
            assert inside(widget, area.viewport()), widget
        dock.settings_button.click()
        settle()
        assert dock.settings_box.isVisible() and inside(dock.seed, area.viewport())
    finally:
        dock.run.stop()


def test_at_1920x1080_settings_run_and_plot_sit_side_by_side(qtbot, tmp_path):
    window, dock = learning_page(qtbot, tmp_path, (1920, 1080))
    assert not dock.settings_button.isVisible() and dock.settings_box.isVisible()
    left = [w.mapTo(dock, w.rect().topLeft()).x() for w in (dock.settings_box, dock.run_box, dock.plot)]
    assert left == sorted(left) and dock.plot.view.height() >= 180
