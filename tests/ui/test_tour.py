"""The lecture tour driving the real window: every step reachable, and each sets up what it says."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from ui_support import make_window

from cnnviz.io.tour import apply_edits, load_tour, step_session
from cnnviz.ui import settings

STEPS = load_tour()


class Dialogs:
    def __init__(self, changes="discard"):
        self.changes, self.errors = changes, []

    def save_changes(self, name):
        return self.changes

    def error(self, title, message):
        self.errors.append(message)


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    w.file_actions.dialogs = Dialogs()
    return w


def shown(dock) -> bool:
    """Visible and in front (a dock behind another tab has an empty visible region)."""
    QApplication.processEvents()
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def configs(pipeline):
    return [layer.get_config() for layer in pipeline.layers]


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[s.id for s in STEPS])
def test_every_step_sets_up_what_it_says(window, qtbot, index):
    tour, doc, step = window.tour, window.document, STEPS[index]
    assert tour.start(index)
    panel = tour.panel
    assert panel.number.text() == f"Step {index + 1} of {len(STEPS)}"
    assert (panel.title.text(), panel.text.text()) == (step.title, step.text)
    assert shown(tour.dock)
    assert window.isWindowModified() == bool(step.side_by_side)  # a fresh session; a comparison edits it
    expected = step_session(step)
    if step.side_by_side:  # the live side carries the step's "then" edits
        apply_edits(expected.pipeline, step.side_by_side["then"])
    assert configs(doc.pipeline) == configs(expected.pipeline)
    assert doc.input.tolist() == expected.input.tolist()
    assert doc.training == step.training
    if step.select is not None:
        assert doc.selected_layer == step.select
    if step.dock is not None:  # a dock, or a page of a panel group and that group
        group = window.panels.get(step.dock)
        assert shown(group.current.widget if group else window.docks[step.dock]), step.dock
    if step.probe is None:
        assert doc.probe is None
    else:
        assert doc.probe.pinned and (doc.probe.level, tuple(doc.probe.cell)) == step.probe
    if step.dock == "arithmetic_stepper":  # the step-through stands at the pinned cell's window
        stepper = window.arithmetic_views["stepper"]
        qtbot.waitUntil(lambda: stepper.layer_index == step.probe[0])
        level, (r, c, ch) = step.probe
        current = stepper.steps[stepper.step]
        if type(doc.layer(level)).__name__ != "Conv2DTranspose":
            assert (current.channel, current.cell) == (ch, (r, c))


def test_the_lecture_s_points_are_on_screen(window, qtbot):
    tour, doc = window.tour, window.document
    ids = [s.id for s in STEPS]
    tour.start(ids.index("inner-product"))
    assert window.arithmetic_views["stepper"].formula_lines()[0].endswith("= 3")
    tour.go(ids.index("stride"))
    assert window.side_by_side.labels == ("stride 1", "stride 2")
    assert doc.outputs[0][:, :, 0].tolist() == [[3, -3], [-3, 0]]
    tour.go(ids.index("pooling"))
    assert doc.outputs[1][:, :, 0].tolist() == [[3, 0], [3, 1]]
    tour.go(ids.index("summary"))
    qtbot.waitUntil(lambda: window.summary_view.table.rowCount() == 3)
    assert window.summary_view.table.item(0, 2).text() == "20" and window.summary_view.table.item(0, 5).text() == "1,184"
    tour.go(ids.index("3d-filter"))
    assert doc.input.shape == (6, 6, 5) and len(window.filter_editor.slices) == 10  # 2 filters × 5 slices
    tour.go(ids.index("ann"))
    assert window.arithmetic_views["neuron"].neuron == (0, 0, 0)
    tour.go(ids.index("flatten-dense"))  # the digits classifier: Flatten → Dense(10, softmax)
    assert [o.shape for o in doc.outputs][-2:] == [(72,), (10,)] and doc.selected_layer == 5
    tour.go(ids.index("training"))
    diagonal = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]  # what the student filter is to learn, not what it has
    assert doc.layer(1).kernel.shape[:2] == (3, 3) and doc.layer(1).kernel[:, :, 0, 0].tolist() != diagonal
    tour.go(ids.index("dropout"))
    assert doc.training and window.action_set.training.isChecked()
    tour.go(ids.index("padding"))
    assert doc.layer(1).padding == "same" and doc.outputs[0].shape == (6, 6, 2)
    tour.go(ids.index("transposed"))
    assert [o.shape for o in doc.outputs] == [(4, 4, 1), (2, 2, 1), (6, 6, 1)]


def test_next_back_keys_and_the_buttons(window, qtbot):
    tour = window.tour
    tour.start(0)
    assert not tour.panel.back.isEnabled()
    qtbot.mouseClick(tour.panel.next, Qt.MouseButton.LeftButton)
    assert tour.index == 1
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert tour.index == 2
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.mouseClick(tour.panel.back, Qt.MouseButton.LeftButton)
    assert tour.index == 0
    tour.go(len(STEPS) - 1)
    assert not tour.panel.next.isEnabled()
    tour.next()
    assert tour.index == len(STEPS) - 1
    window.tour.dock.close()  # keys do nothing while the panel is closed
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert tour.index == len(STEPS) - 1


def test_the_user_plays_and_comes_back(window, qtbot):
    tour, doc = window.tour, window.document
    tour.start([s.id for s in STEPS].index("inner-product"))
    doc.paint_cells([(0, 0, 0)], 0.0)  # play: the corner pixel off, the inner product drops to 2
    doc.flush()
    assert doc.outputs[0][0, 0, 0] == 2
    doc.clear_probe(pinned=True)
    qtbot.mouseClick(tour.panel.again, Qt.MouseButton.LeftButton)
    assert doc.outputs[0][0, 0, 0] == 3 and doc.probe is not None and doc.probe.pinned


def test_help_menu_starts_where_the_tour_was_left(window, qtbot, tmp_path):
    assert window.tour.action in window.menus["Help"].actions()
    window.tour.start(4)
    window.tour.dock.close()
    again = make_window(qtbot, tmp_path)
    again.file_actions.dialogs = Dialogs()
    again.tour.action.trigger()
    assert again.tour.index == 4 and shown(again.tour.dock)


def test_unsaved_work_is_offered_a_save_first(window):
    window.document.paint_cells([(0, 0, 0)], 7.0)
    window.document.flush()
    window.file_actions.dialogs.changes = "cancel"
    assert not window.tour.start(0)
    assert window.document.input[0, 0, 0] == 7 and not window.tour.dock.isVisible()


def test_the_first_launch_offers_the_tour_once(qtbot, tmp_path):
    first = make_window(qtbot, tmp_path)
    first.file_actions.dialogs = Dialogs()
    assert first.tour_offer is not None and first.tour_offer.isVisible()
    assert settings.preference("tour/offered")
    qtbot.mouseClick(first.tour_offer.take, Qt.MouseButton.LeftButton)
    assert first.tour.index == 0 and shown(first.tour.dock) and not first.tour_offer.isVisible()
    second = make_window(qtbot, tmp_path)
    assert second.tour_offer is None


def test_a_layout_restored_with_the_panel_open_shows_the_step_it_was_left_at(qtbot, tmp_path):
    first = make_window(qtbot, tmp_path)
    first.file_actions.dialogs = Dialogs()
    first.tour.start(6)
    first.close()
    second = make_window(qtbot, tmp_path)
    assert second._restored and shown(second.tour.dock)
    assert second.tour.panel.number.text() == f"Step 7 of {len(STEPS)}"
    assert second.tour.panel.title.text() == STEPS[6].title
    assert second.document.probe is None  # nothing set up behind the user's back: Again does that
    qtbot.mouseClick(second.tour.panel.again, Qt.MouseButton.LeftButton)
    assert (second.document.probe.level, tuple(second.document.probe.cell)) == STEPS[6].probe
