"""After a structural edit (a stride change, a layer added or removed, and their undo and redo) the layer views
show exactly what views freshly opened on the same document show: the same pixels on screen (read from the
window's backing store, so a map that kept stale pixels or a level left at its old size fails), the same
shapes, titles and captions, and one map per channel with none left over."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from cnnviz.core.layers import layer_from_config, layer_to_config
from cnnviz.core.pipeline import Pipeline
from cnnviz.ui.document import Document
from cnnviz.ui.layer_views import LayerViews, MapCard
from cnnviz.ui.map_layout import LevelCard
from ui_support import make_window, on_screen


def settle():
    for _ in range(3):
        QApplication.processEvents()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def copy_document(doc) -> Document:
    """The same input, layers, weights, mode and selection in a new Document (nothing shared)."""
    layers = []
    for layer in doc.pipeline.layers:
        copy = layer_from_config(layer_to_config(layer))
        layers.append(copy)
    pipeline = Pipeline(doc.input.shape, layers, seed=doc.pipeline.seed)
    pipeline.build()
    for copy, layer in zip(layers, doc.pipeline.layers):
        if layer.built and layer.get_weights():
            copy.set_weights(layer.get_weights())
    fresh = Document(pipeline, doc.input.copy())
    fresh.select_layer(doc.selected_layer)
    return fresh


def assert_views_match_a_fresh_drawing(qtbot, window):
    doc, views = window.document, window.layer_views
    settle()
    levels = doc.levels
    # one map per channel, each the level's shape and values, no widget left over from an earlier structure
    assert [column.level for column in views.columns] == list(range(len(levels)))
    channels = [a.shape[2] if a.ndim == 3 else 1 for a in levels]  # a vector level has one card
    assert [len(column.cards) for column in views.columns] == channels
    spare = [card for column in views._spare for card in column.cards]  # removed levels', hidden, for reuse
    assert all(not column.isVisible() for column in views._spare)
    assert len(views.findChildren(LevelCard)) == sum(channels) + len(spare)
    for card in views.cards():
        if isinstance(card, MapCard):
            assert card.heatmap.shape == levels[card.level].shape[:2]
            np.testing.assert_array_equal(card.heatmap.image.image, levels[card.level][:, :, card.channel])
    fresh_doc = copy_document(doc)
    fresh = LayerViews(fresh_doc)
    fresh_doc.setParent(fresh)
    qtbot.addWidget(fresh)
    fresh.resize(views.size())
    fresh.show()
    qtbot.waitExposed(fresh)
    settle()
    assert [(c.title.text(), c.subtitle.text(), c.detail.text()) for c in views.columns] == [
        (c.title.text(), c.subtitle.text(), c.detail.text()) for c in fresh.columns]
    assert [card.caption.text() for card in views.cards()] == [card.caption.text() for card in fresh.cards()]
    assert (views._arrangement, views._fitted) == (fresh._arrangement, fresh._fitted)
    assert [card.heatmap.size() for card in views.cards()] == [card.heatmap.size() for card in fresh.cards()]
    assert [card.mapTo(views, card.rect().topLeft()) for card in views.cards()] == [
        card.mapTo(fresh, card.rect().topLeft()) for card in fresh.cards()]
    assert on_screen(window, views) == fresh.grab().toImage()
    fresh.close()


def press_stride(window, up: bool):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    box = window.pipeline_panel.fields["strides"].boxes[1]
    QTest.keyClick(box, Qt.Key.Key_Up if up else Qt.Key.Key_Down)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_stride_changes_and_their_undo_draw_what_a_fresh_window_draws(qtbot, tmp_path, size):
    window = make_window(qtbot, tmp_path, size=size)
    settle()
    doc = window.document
    doc.select_layer(1)
    for up in (True, True, False):  # strides (1, 2), (1, 3), (1, 2)
        press_stride(window, up)
        assert_views_match_a_fresh_drawing(qtbot, window)
    assert doc.layer(1).strides == (1, 2)
    doc.undo_stack.undo()
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.layer(1).strides == (1, 1)
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.redo()
    assert_views_match_a_fresh_drawing(qtbot, window)


def test_layers_added_removed_undone_and_redone_draw_what_a_fresh_window_draws(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    settle()
    doc, actions = window.document, window.action_set
    doc.select_layer(1)
    actions.add_layer["ReLU"].trigger()  # a level of the same shape after the Conv2D
    assert doc.layer(2).__class__.__name__ == "ReLU"
    assert_views_match_a_fresh_drawing(qtbot, window)
    actions.remove_layer.trigger()
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.select_layer(1)
    actions.add_layer["Conv2D"].trigger()  # another channel count for every level after it
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.select_layer(1)
    actions.remove_layer.trigger()  # the first Conv2D: every later level changes shape
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.undo()
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.undo()
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.redo()
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.select_layer(len(doc.pipeline.layers))
    actions.add_layer["Flatten"].trigger()  # a vector level at the end
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.undo()
    assert_views_match_a_fresh_drawing(qtbot, window)


def test_edits_of_a_session_that_scrolls_draw_what_a_fresh_window_draws(qtbot, tmp_path):
    """Eight maps a level over six levels: the views scroll, and the fit takes its other branches."""
    from cnnviz import core

    window = make_window(qtbot, tmp_path, size=(1366, 768))
    doc = window.document
    layers = [core.Conv2D(8, 3, padding="same"), core.ReLU(), core.MaxPooling2D(2), core.Conv2D(8, 3, padding="same"),
              core.Activation("tanh"), core.UpSampling2D(2, "bilinear")]
    doc.set_pipeline(core.Pipeline((32, 32, 3), layers), np.random.default_rng(0).random((32, 32, 3), np.float32))
    doc.select_layer(1)
    assert_views_match_a_fresh_drawing(qtbot, window)
    assert window.layer_views.verticalScrollBar().maximum() > 0
    press_stride(window, True)
    assert_views_match_a_fresh_drawing(qtbot, window)
    window.action_set.add_layer["ReLU"].trigger()
    assert_views_match_a_fresh_drawing(qtbot, window)
    window.action_set.remove_layer.trigger()
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert_views_match_a_fresh_drawing(qtbot, window)


def test_a_stride_change_gives_each_map_its_values_once_and_leaves_the_input_alone(qtbot, tmp_path, monkeypatch):
    """The views followed the layer change with the values, then the outputs that came next set them again."""
    from cnnviz.ui.heatmap import Heatmap

    window = make_window(qtbot, tmp_path, size=(1366, 768))
    settle()
    window.document.select_layer(1)
    settle()
    given = []
    set_data = Heatmap.set_data
    monkeypatch.setattr(Heatmap, "set_data", lambda self, *a, **k: given.append(self) or set_data(self, *a, **k))
    press_stride(window, True)
    maps = [card.heatmap for card in window.layer_views.cards()]
    assert sorted(maps.index(m) for m in given if m in maps) == list(range(1, len(maps)))
    assert_views_match_a_fresh_drawing(qtbot, window)


class ResizeCounter:
    """Counts the Resize events each widget of `widgets` receives while it is installed on the application."""

    def __init__(self, widgets):
        from PySide6.QtCore import QObject

        self.counts = {id(w): 0 for w in widgets}
        counts = self.counts

        class Filter(QObject):
            def eventFilter(self, obj, ev):  # noqa: N802 (Qt name)
                if ev.type() == QEvent.Type.Resize and id(obj) in counts:
                    counts[id(obj)] += 1
                return False

        self.filter = Filter()
        QApplication.instance().installEventFilter(self.filter)

    def remove(self):
        QApplication.instance().removeEventFilter(self.filter)


@pytest.mark.parametrize("session", ["seed", "scrolled"])
def test_a_stride_change_resizes_each_map_at_most_once(qtbot, tmp_path, session):
    """The levels are laid out top-down: a level laid out in its old size before the content grew resized every
    map in it twice (once to a wrong size that was never seen)."""
    from cnnviz import core

    window = make_window(qtbot, tmp_path, size=(1366, 768))
    doc = window.document
    if session == "scrolled":
        layers = [core.Conv2D(8, 3, padding="same"), core.ReLU(), core.MaxPooling2D(2),
                  core.Conv2D(8, 3, padding="same"), core.Activation("tanh"), core.UpSampling2D(2, "bilinear")]
        doc.set_pipeline(core.Pipeline((32, 32, 3), layers), np.random.default_rng(0).random((32, 32, 3), np.float32))
    doc.select_layer(1)
    settle()
    views = window.layer_views
    for up in (True, False):
        widgets = [w for card in views.cards() for w in (card, card.heatmap)]
        counter = ResizeCounter(widgets)
        press_stride(window, up)
        settle()
        counter.remove()
        assert max(counter.counts.values()) == 1  # the maps after the Conv2D have new shapes: resized, once
        assert_views_match_a_fresh_drawing(qtbot, window)


def test_a_stride_changed_back_fits_as_before_without_searching_and_a_new_shape_searches(qtbot, tmp_path, monkeypatch):
    """The fit of levels measured as before (the same texts, shapes and room) is the one found then: a stride
    changed back, or undone, lays the levels out without the search, and the same as a fresh window."""
    window = make_window(qtbot, tmp_path, size=(1366, 768))
    doc, views = window.document, window.layer_views
    doc.select_layer(1)
    settle()
    searches = []
    search = views._search_fit
    monkeypatch.setattr(views, "_search_fit", lambda *args: searches.append(args) or search(*args))
    press_stride(window, True)  # (1, 2): levels never measured so
    settle()
    assert len(searches) == 1
    press_stride(window, False)  # (1, 1): as at the start
    settle()
    assert len(searches) == 1
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.undo_stack.undo()  # (1, 2) again
    settle()
    assert len(searches) == 1
    assert_views_match_a_fresh_drawing(qtbot, window)
    doc.set_layer_param(1, "padding", "same")  # 6×3 maps: new shapes
    settle()
    assert len(searches) == 2
    assert_views_match_a_fresh_drawing(qtbot, window)
    window.resize(1300, 740)  # another room
    settle()
    assert len(searches) == 3
    assert_views_match_a_fresh_drawing(qtbot, window)


def test_removing_a_layer_before_the_pinned_prediction_keeps_it_pinned(qtbot, tmp_path):
    """The digits classifier's Dense level is kept beside levels that scroll. Removing a layer drops the last
    column and hands the prediction to the one before it: that one is pinned, not put back among the levels,
    and the views look as they did before the layer was added."""
    from cnnviz.io.session import load_session

    window = make_window(qtbot, tmp_path, size=(1366, 768))
    window.file_actions.open_session(load_session("resources/digits.cnnviz.json"), None)
    doc, views = window.document, window.layer_views
    doc.select_layer(1)
    settle()
    assert views.pinned is views.columns[-1]
    opened, place = on_screen(window, views), views.pinned.geometry()
    window.action_set.add_layer["ReLU"].trigger()
    settle()
    window.action_set.remove_layer.trigger()
    doc.select_layer(1)
    settle()
    assert views.pinned is views.columns[-1] and views.pinned.parent() is views
    assert views.pinned not in views._content.columns and views.pinned.geometry() == place
    assert on_screen(window, views) == opened
    window.file_actions._unsaved_edits = False


def test_adding_and_removing_a_layer_again_builds_no_map_and_probes_the_right_level(qtbot, tmp_path):
    """A removed level's column waits hidden; the next added level takes it (its maps now that level's): the
    views equal a fresh drawing, and hovering a reused map probes the level it now shows."""
    import shiboken6

    from ui_support import hover

    window = make_window(qtbot, tmp_path, size=(1366, 768))
    doc, views, actions = window.document, window.layer_views, window.action_set

    def widgets():
        return {shiboken6.getCppPointer(w)[0] for w in views.findChildren(LevelCard)}

    doc.select_layer(1)
    actions.add_layer["ReLU"].trigger()
    actions.remove_layer.trigger()
    settle()
    built = widgets()
    for kind in ("ReLU", "Conv2D"):  # a level of the last one's shape, then one whose levels get other channels
        doc.select_layer(1)
        actions.add_layer[kind].trigger()
        assert_views_match_a_fresh_drawing(qtbot, window)
        if kind == "ReLU":
            assert widgets() == built  # the same maps, no new one
        last = views.columns[-1]
        hover(qtbot, last.cards[-1].heatmap, (0, 0))
        assert doc.probe is not None and doc.probe.level == last.level == len(doc.pipeline.layers)
        actions.remove_layer.trigger()
        assert_views_match_a_fresh_drawing(qtbot, window)
