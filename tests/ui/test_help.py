"""Help says what a newcomer needs: every key and mouse gesture (from the window's own actions), the guide,
and a place kept for the lecture tour; undo/redo do not look like back/forward navigation."""

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QStyle

from cnnviz.ui import help as help_module
from ui_support import make_window


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def test_keys_and_mouse_lists_the_real_shortcuts_and_the_paint_convention(window):
    text = help_module.keys_html(window)
    for needed in ("Paint with the brush", "Ctrl+B", "Undo", "Ctrl+Z", "Zoom in", "Double-click", "Escape",
                   "Select mode"):
        assert needed in text, needed
    box = help_module.show_keys(window)
    assert box.isVisible() and box.objectName() == "keysHelp"
    box.close()


def test_the_guide_opens_the_readme(window, monkeypatch):
    opened = []
    monkeypatch.setattr(help_module.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.action_set.guide.trigger()
    assert opened == [QUrl.fromLocalFile(str(help_module.README))] and help_module.README.name == "README.md"


def test_the_help_menu_keeps_a_place_for_the_lecture_tour(window):
    actions = window.menus["Help"].actions()
    names = [a.text().replace("&", "") for a in actions]
    assert names[:2] == ["Keys and mouse", "Guide (README)"] and names[-1] == "About cnnviz"
    assert window.help_tour_anchor in actions and window.help_tour_anchor.isSeparator()


def test_undo_and_redo_are_curved_arrows_not_navigation(window):
    style = window.style()
    for action, arrow in ((window.action_set.undo, QStyle.StandardPixmap.SP_ArrowBack),
                          (window.action_set.redo, QStyle.StandardPixmap.SP_ArrowForward)):
        ours = action.icon().pixmap(24, 24).toImage()
        navigation = style.standardIcon(arrow).pixmap(24, 24).toImage()
        assert not ours.isNull() and ours != navigation
    undo = window.action_set.undo.icon().pixmap(32, 32).toImage()
    redo = window.action_set.redo.icon().pixmap(32, 32).toImage()
    assert redo != undo
