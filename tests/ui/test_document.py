"""Document: edits, one undo step per stroke, coalesced recompute from the first changed layer, probes."""

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from cnnviz import core
from cnnviz.core import ConfigError
from cnnviz.ui.document import Document, new_stroke_id
from ui_support import lit


def expected_outputs(doc):
    return doc.pipeline.copy().run(doc.input, training=doc.training)


def assert_consistent(doc):
    exp = expected_outputs(doc)
    assert len(doc.outputs) == len(doc.pipeline.layers) == len(exp)
    for got, want in zip(doc.outputs, exp):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.fixture
def doc(qtbot):
    return Document()


def test_seed_session(doc):
    assert doc.input.shape == (6, 6, 1)
    assert [o.shape for o in doc.outputs] == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]
    assert len(doc.levels) == 4 and doc.levels[0] is doc.input
    assert doc.selected_layer == 1 and doc.error is None
    # the lecture's diagonal filter on its pattern: the top-left window gives 3, pooling keeps it
    x = doc.input[:, :, 0]
    k = doc.layer(1).kernel[:, :, 0, 0]
    assert doc.outputs[0][0, 0, 0] == float((x[0:3, 0:3] * k).sum()) == 3
    assert doc.outputs[1][:, :, 0].tolist() == [[3, 0], [3, 1]]


def test_stroke_is_one_undo_step_and_recompute_is_coalesced(doc, qtbot):
    before = doc.input.copy()
    recomputes = []
    doc.outputsChanged.connect(recomputes.append)
    sid = new_stroke_id()
    for c in range(6):
        doc.paint_cells([(0, c, 0)], 3.0, sid)
    assert doc.undo_stack.count() == 1
    assert recomputes == []  # nothing computed yet: the zero-timer has not fired
    qtbot.waitUntil(lambda: recomputes == [0], timeout=1000)
    assert np.all(doc.input[0, :, 0] == 3.0)
    assert_consistent(doc)
    doc.undo_stack.undo()
    doc.flush()
    np.testing.assert_array_equal(doc.input, before)
    assert_consistent(doc)
    doc.undo_stack.redo()
    doc.flush()
    assert np.all(doc.input[0, :, 0] == 3.0)
    # a second stroke is a second undo step
    doc.paint_cells([(5, 5, 0)], -1.0, new_stroke_id())
    assert doc.undo_stack.count() == 2


def test_recompute_starts_at_the_first_changed_layer(doc, monkeypatch):
    starts = []
    run = type(doc.pipeline).run

    def spy(self, x, training=False, start=0, previous=None):
        starts.append(start)
        return run(self, x, training=training, start=start, previous=previous)

    rerun_rows = type(doc.pipeline).rerun_rows

    def rows_spy(self, x, previous, rows):
        starts.append(rows)
        return rerun_rows(self, x, previous, rows)

    monkeypatch.setattr(type(doc.pipeline), "run", spy)
    monkeypatch.setattr(type(doc.pipeline), "rerun_rows", rows_spy)
    doc.paint_cells([(1, 1, 0)], 2.0)
    doc.paint_cells([(3, 0, 0)], 2.0)  # in the same event-loop turn: one recompute of rows 1..3
    doc.flush()
    doc.set_weights(3, [])  # upsampling has no weights: level 3 changes only
    doc.flush()
    kernel, bias = doc.layer(1).get_weights()
    doc.paint_weights(1, [(0, 0, 0, 1)], 5.0)
    doc.paint_cells([(0, 0, 0)], 2.0)  # with a weight edit: everything from the input
    doc.flush()
    assert starts == [(1, 4), 2, 0]
    assert_consistent(doc)


def test_paint_weight_and_set_weights_undo(doc):
    kernel0 = doc.layer(1).kernel.copy()
    sid = new_stroke_id()
    doc.paint_weights(1, [(0, 0, 0, 0)], 4.0, sid)
    doc.paint_weights(1, [(1, 1, 0, 0)], 4.0, sid)
    doc.flush()
    assert doc.undo_stack.count() == 1
    assert doc.layer(1).kernel[0, 0, 0, 0] == 4.0 and doc.layer(1).kernel[1, 1, 0, 0] == 4.0
    assert_consistent(doc)
    doc.undo_stack.undo()
    doc.flush()
    np.testing.assert_array_equal(doc.layer(1).kernel, kernel0)
    with pytest.raises(ConfigError):
        doc.set_weights(1, [np.zeros((2, 2, 1, 2)), np.zeros(2)])
    assert doc.undo_stack.count() == 1


def test_refused_edits_change_nothing(doc):
    config = doc.pipeline.get_config()
    outputs = [o.copy() for o in doc.outputs]
    labels = [l.label for l in doc.pipeline.layers]
    with pytest.raises(ConfigError, match="Conv2D #1"):
        doc.replace_layer(1, doc.layer(1).replace(kernel_size=7))
    with pytest.raises(ConfigError):
        doc.insert_layer(1, core.MaxPooling2D(8))
    with pytest.raises(ConfigError):
        doc.set_input(np.zeros((2, 2, 1)))
    assert doc.pipeline.get_config() == config
    assert [l.label for l in doc.pipeline.layers] == labels
    assert doc.undo_stack.count() == 0
    for got, want in zip(doc.outputs, outputs):
        np.testing.assert_array_equal(got, want)


def test_structure_edits_and_undo_restore_weights(doc):
    k = doc.layer(1).kernel.copy()
    doc.insert_layer(0, core.UpSampling2D(2))  # the conv now sees 12×12
    assert [o.shape for o in doc.outputs] == [(12, 12, 1), (10, 10, 2), (5, 5, 2), (15, 15, 2)]
    assert_consistent(doc)
    doc.move_layer(1, 2)
    labels = [l.label for l in doc.pipeline.layers]
    assert labels == ["Conv2D #1", "UpSampling2D #2", "MaxPooling2D #3", "UpSampling2D #4"]
    assert [o.shape for o in doc.outputs] == [(4, 4, 2), (8, 8, 2), (4, 4, 2), (12, 12, 2)]
    assert_consistent(doc)
    doc.remove_layer(2)
    assert [o.shape for o in doc.outputs] == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]
    for _ in range(3):
        doc.undo_stack.undo()
    assert [o.shape for o in doc.outputs] == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]
    np.testing.assert_array_equal(doc.layer(1).kernel, k)
    assert_consistent(doc)


def test_resize_input_through_set_input_rebuilds_the_pipeline(doc):
    x = np.zeros((8, 10, 3), np.float32)
    x[2, 3] = 1
    doc.set_input(x)
    assert doc.pipeline.input_shape == (8, 10, 3)
    assert doc.outputs[0].shape == (6, 8, 2)
    assert doc.layer(1).kernel.shape == (3, 3, 3, 2)
    assert_consistent(doc)
    doc.undo_stack.undo()
    assert doc.input.shape == (6, 6, 1) and doc.layer(1).kernel.shape == (3, 3, 1, 2)
    assert_consistent(doc)


def test_training_and_dropout_mask(doc):
    doc.insert_layer(1, core.Dropout(0.5, seed=1))
    doc.set_training(True)
    doc.flush()
    assert_consistent(doc)
    mask = doc.layer(2).mask.copy()
    doc.new_dropout_mask(2)
    doc.flush()
    assert not np.array_equal(mask, doc.layer(2).mask)
    assert_consistent(doc)
    doc.undo_stack.undo()
    doc.flush()
    np.testing.assert_array_equal(mask, doc.layer(2).mask)
    doc.undo_stack.undo()
    doc.flush()
    assert not doc.training
    np.testing.assert_array_equal(doc.outputs[1], doc.outputs[0])  # inference: identity


def test_probes(doc):
    seen = []
    doc.probeChanged.connect(seen.append)
    doc.set_probe(2, (0, 1, 0))  # max pooling cell: window rows 0-1, cols 2-3 of the conv output
    p = doc.probe
    assert lit(p.fields[2]) == {(0, 1, 0)}
    assert lit(p.fields[1]) == {(r, c, 0) for r in (0, 1) for c in (2, 3)}
    assert lit(p.fields[0]) == {(r, c, 0) for r in range(4) for c in range(2, 6)}
    assert {k: lit(v) for k, v in p.fields.items()} == core.receptive_field(doc.pipeline, doc.levels, 2, (0, 1, 0))
    doc.set_probe(1, (1, 1, 1), pinned=True)
    assert lit(doc.probe.weights[1]) == {(a, b, 0, 1) for a in range(3) for b in range(3)}
    doc.set_probe(3, (0, 0, 0))  # hover does not replace a pinned probe
    assert doc.probe.level == 1 and doc.probe.pinned
    doc.clear_probe()
    assert doc.probe is not None
    doc.set_probe(1, (1, 1, 1), pinned=True)  # click again: unpin
    assert doc.probe is None
    doc.set_weight_probe(1, (0, 0, 0, 0))
    assert lit(doc.probe.fields[0]) == core.weight_footprint(doc.layer(1), (6, 6, 1), (0, 0, 0, 0))
    assert {k: lit(v) for k, v in doc.probe.weights.items()} == {1: {(0, 0, 0, 0)}}
    doc.clear_probe()
    assert doc.probe is None and seen[-1] is None


@hsettings(max_examples=30, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.floats(-3, 3, allow_nan=False, width=32)),
        min_size=1, max_size=12,
    ),
    weight=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1), st.floats(-2, 2, width=32)),
)
def test_random_edit_sequences_match_a_full_recompute(qapp, edits, weight):
    doc = Document()
    sid = new_stroke_id()
    for r, c, v in edits:
        doc.paint_cells([(r, c, 0)], v, sid)
    a, b, o, w = weight
    doc.paint_weights(1, [(a, b, 0, o)], w)
    doc.flush()
    assert_consistent(doc)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    doc.flush()
    np.testing.assert_array_equal(doc.input, core.seed_input())
    assert_consistent(doc)


def test_more_channels_spread_the_first_filters_over_them(doc):
    grey = np.repeat(doc.input, 3, axis=2)
    before = [o.copy() for o in doc.outputs]
    old_kernel = doc.layer(1).kernel.copy()  # (3, 3, 1, 2)
    doc.set_input(grey)
    kernel = doc.layer(1).kernel
    assert kernel.shape == (3, 3, 3, 2)
    for c in range(3):
        np.testing.assert_allclose(kernel[:, :, c, :], old_kernel[:, :, 0, :] / 3, atol=1e-7)
    for got, want in zip(doc.outputs, before):  # a grey picture in every channel: same numbers
        np.testing.assert_allclose(got, want, atol=1e-5)
    doc.undo_stack.undo()
    assert doc.layer(1).kernel.shape == (3, 3, 1, 2)
    for got, want in zip(doc.outputs, before):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_session_that_overflows_opens_with_the_message_and_outputs_of_its_own_shapes(doc):
    pipeline = core.Pipeline((5, 5, 1), [core.Conv2D(1, 3, use_bias=False), core.MaxPooling2D(3),
                                         core.UpSampling2D(2)])
    pipeline.build()
    pipeline.layers[0].set_weights([np.full((3, 3, 1, 1), 1e38, np.float32)])  # 9 of them overflow float32
    doc.set_pipeline(pipeline, np.ones((5, 5, 1), np.float32))
    assert doc.error.startswith("Conv2D #1: output overflows float32")
    assert [o.shape for o in doc.outputs] == [(3, 3, 1), (1, 1, 1), (2, 2, 1)]  # not the seed's old maps
    doc.set_weights(1, [np.ones((3, 3, 1, 1), np.float32)])
    doc.flush()
    assert doc.error is None and doc.outputs[0][0, 0, 0] == 9


def test_input_paints_recompute_by_rows_to_the_whole_runs_numbers_also_after_an_error(qtbot):
    layers = [core.Conv2D(3, 3, padding="same", use_bias=False), core.ReLU(), core.MaxPooling2D(2),
              core.Conv2D(2, 3, padding="same"), core.UpSampling2D(2, "bilinear")]
    pipeline = core.Pipeline((12, 12, 2), layers)
    pipeline.build()
    layers[0].set_weights([np.random.default_rng(4).uniform(0.5, 2, (3, 3, 2, 3)).astype(np.float32)])
    doc = Document(pipeline, np.random.default_rng(5).random((12, 12, 2), np.float32))
    rng = np.random.default_rng(6)
    for _ in range(6):
        r, c = (int(v) for v in rng.integers(0, 12, 2))
        doc.paint_cells([(r, c, 0), (min(r + 2, 11), c, 1)], float(rng.standard_normal()))
        doc.flush()
        for got, want in zip(doc.outputs, expected_outputs(doc)):
            np.testing.assert_array_equal(got, want)  # bit for bit
        assert doc.changed_rows(0, doc._change[0][0]) == (r, min(r + 2, 11) + 1)
    doc.paint_cells([(4, 4, 0)], 3e38)  # the first convolution overflows: an error, the last outputs stay
    doc.flush()
    assert "overflows" in doc.error
    doc.paint_cells([(4, 4, 0)], 1.0)  # the outputs shown are not this input's: recomputed whole
    doc.flush()
    assert doc.error is None and doc._change == {}
    for got, want in zip(doc.outputs, expected_outputs(doc)):
        np.testing.assert_array_equal(got, want)
