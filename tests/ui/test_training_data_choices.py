"""Choosing the patterns or a folder of images in the training dock and training on them; the classes the
data names label the probability bars, and a saved session keeps them."""

from __future__ import annotations

import numpy as np
from PIL import Image
from test_training_dock import idle
from ui_support import make_window

from cnnviz.core import Pipeline
from cnnviz.core.layers import Conv2D, ReLU
from cnnviz.core.training import PATTERNS
from cnnviz.ui.document import Document

SHAPES = {"ring": lambda y, x: abs(np.hypot(y - 4.5, x - 4.5) - 3) < 1, "plus": lambda y, x: (abs(y - 4.5) < 1)
          | (abs(x - 4.5) < 1), "slash": lambda y, x: abs(y - x) < 1.2}


def image_folder(root):
    """root/<class>/<n>.png: three classes of 10×10 grey shapes with a little noise, 12 of each."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:10, 0:10]
    for name, shape in SHAPES.items():
        (root / name).mkdir(parents=True)
        for n in range(12):
            pixels = np.clip(shape(y, x) * 220 + rng.integers(0, 35, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(root / name / f"{n}.png")
    return root


def bars_labels(window):
    card = window.layer_views.columns[-1].cards[0]
    assert card.heatmap.bars
    return card.heatmap.labels


def test_a_folder_of_images_is_chosen_trained_on_and_names_the_bars(qtbot, tmp_path):
    folder = image_folder(tmp_path / "shapes")
    doc = Document(Pipeline((6, 6, 1), [Conv2D(2, 3, name="conv"), ReLU()]), np.zeros((6, 6, 1), np.float32))
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    dock.data_box.setCurrentIndex(dock.data_box.findData("folder"))
    dock.ask_folder = lambda: str(folder)
    dock.use_data.click()
    assert dock.data is not None and dock.data.class_names == ("plus", "ring", "slash")
    assert dock.data_note.text() == "36 images of 6×6×1, 3 classes"  # resized into the pipeline's input
    assert doc.input.shape == (6, 6, 1) and np.array_equal(doc.input, dock.data.x[0])
    assert dock.add_head.text() == "Add Flatten → Dense(3, softmax)"
    dock.add_head.click()
    assert bars_labels(window) == ["plus", "ring", "slash"]
    dock.epochs.setValue(3)
    dock.batch_size.setValue(8)
    before = doc.layer(1).get_weights()[0].copy()
    assert dock.train()
    idle(qtbot, dock)
    # 36 images, 20 % for validation: 28 to train on, 4 batches of 8 per epoch
    assert dock.run.step_offset == 12 and dock.plot.count("loss") == 12
    assert not np.array_equal(doc.layer(1).get_weights()[0], before)
    assert dock.confusion.rowCount() == 3 and dock.confusion.verticalHeaderItem(0).text() == "plus"
    assert bars_labels(window) == ["plus", "ring", "slash"]
    # the session keeps the folder and its class names; a reopened session labels its bars with them
    path = tmp_path / "shapes.cnnviz.json"
    assert window.file_actions._write(str(path))
    from cnnviz.io import load_session

    section = load_session(path).training
    assert section["data"] == {"source": "image_folder", "folder": str(folder)}
    assert section["class_names"] == ["plus", "ring", "slash"]
    (tmp_path / "other").mkdir()
    other = make_window(qtbot, tmp_path / "other")
    assert other.file_actions.open(str(path))
    assert other.document.class_names == ("plus", "ring", "slash")
    assert bars_labels(other) == ["plus", "ring", "slash"]
    assert other.training_dock.settings().folder == str(folder)


def test_the_patterns_are_chosen_and_trained_on(qtbot, tmp_path):
    doc = Document(Pipeline((6, 6, 1), [Conv2D(2, 3, name="conv"), ReLU()]), np.zeros((6, 6, 1), np.float32))
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    dock.data_box.setCurrentIndex(dock.data_box.findData("patterns"))
    assert dock.choose_data()
    assert dock.data.class_names == PATTERNS and doc.class_names == PATTERNS
    dock.add_head.click()
    assert bars_labels(window) == list(PATTERNS)
    dock.epochs.setValue(1)
    dock.validation.setValue(0.0)
    dock.batch_size.setValue(100)
    assert dock.train()
    idle(qtbot, dock)
    assert dock.run.step_offset == 6  # 600 patterns, batches of 100
    assert "Done: 6 steps" in dock.message.text()


def test_a_session_without_class_names_labels_by_index_and_digits_name_theirs(qtbot, tmp_path):
    import os

    window = make_window(qtbot, tmp_path)
    resources = os.path.join(os.path.dirname(__file__), "..", "..", "resources")
    assert window.file_actions.open(os.path.join(resources, "digits.cnnviz.json"))
    assert bars_labels(window) == [str(d) for d in range(10)]  # its training section names the digits
    assert window.file_actions.open(os.path.join(resources, "the-filter-learns.cnnviz.json"))
    assert window.document.class_names == ()  # the teacher task names no classes
