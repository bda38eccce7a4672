"""The tour file: every step reads and sets up without Qt; a broken file is refused with the place named."""

import json

import pytest

from cnnviz.io.errors import SessionError
from cnnviz.io.tour import RESOURCES, TOUR_FILE, load_tour, step_session

LECTURE_ORDER = ["data", "filters", "corner", "inner-product", "stride", "map", "depth", "pooling", "summary",
                 "3d-filter", "ann", "flatten-dense", "training", "dropout", "padding", "upsampling", "transposed"]


def test_the_tour_has_the_lecture_s_steps_in_its_order():
    assert [s.id for s in load_tour()] == LECTURE_ORDER


def test_every_step_builds_its_session():
    for step in load_tour():
        session = step_session(step)
        outputs = session.pipeline.run(session.input, training=step.training)
        assert len(outputs) == len(session.pipeline.layers)
        if step.select is not None:
            assert 1 <= step.select <= len(session.pipeline.layers)
        if step.probe is not None:  # the pinned cell exists
            level, cell = step.probe
            shape = ([session.input] + outputs)[level].shape
            assert all(0 <= v < n for v, n in zip(cell, shape)), step.id


def test_the_3d_filter_step_uses_the_five_channel_example():
    step = {s.id: s for s in load_tour()}["3d-filter"]
    session = step_session(step)
    assert session.input.shape == (6, 6, 5)
    assert session.pipeline.layers[0].kernel.shape == (3, 3, 5, 2)
    # one number from five inner products: 3 − 1 − 1 + 3 + 1
    assert session.pipeline.run(session.input)[0][0, 0, 0] == 5


def write(tmp_path, data):
    for name in ("lecture.cnnviz.json",):
        (tmp_path / name).write_bytes((RESOURCES / name).read_bytes())
    path = tmp_path / "tour.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("data, message", [
    ({"steps": []}, "tour.json: a tour is an object with a non-empty list of steps"),
    ({"steps": [{"id": "a", "title": "A"}]}, "tour.json: steps[0].text: expected a non-empty text"),
    ({"steps": [{"id": "a", "title": "A", "text": "t", "colour": 1}]}, "tour.json: steps[0]: unknown keys ['colour']"),
    ({"steps": [{"id": "a", "title": "A", "text": "t"}, {"id": "a", "title": "B", "text": "t"}]},
     "tour.json: step ids must be unique"),
    ({"steps": [{"id": "a", "title": "A", "text": "t", "edits": [{"layer": 1, "set": {"strides": 0}}]}]},
     "tour.json: steps[0] (a): Conv2D #1: strides must be ≥ 1"),
    ({"steps": [{"id": "a", "title": "A", "text": "t", "edits": [{"layer": 9, "set": {}}]}]},
     "tour.json: steps[0] (a): edit of layer 9: the pipeline has layers 1 to 3"),
    ({"steps": [{"id": "a", "title": "A", "text": "t", "session": "gone.cnnviz.json"}]},
     "tour.json: steps[0] (a): gone.cnnviz.json"),
    ({"steps": [{"id": "a", "title": "A", "text": "t", "probe": {"level": 1}}]}, "tour.json: steps[0].probe: expected"),
])
def test_a_broken_tour_is_refused_naming_the_place(tmp_path, data, message):
    with pytest.raises(SessionError) as err:
        load_tour(write(tmp_path, data))
    assert str(err.value).startswith(message), str(err.value)


def test_the_tour_file_is_where_the_examples_are():
    assert TOUR_FILE.parent == RESOURCES and (RESOURCES / "lecture.cnnviz.json").exists()
