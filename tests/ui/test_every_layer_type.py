"""Every registered layer type in the real window: added through the menu where the shape allows, every view
draws it (layer views, form, filter editor, arithmetic tabs, figures) without an error or a blank."""

import logging

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from cnnviz.core import LAYER_TYPES
from cnnviz.ui.figure import layer_figure, pipeline_figure, render_bytes
from cnnviz.ui.vector_view import VectorCard
from cnnviz.ui import settings
from cnnviz.ui.document import Document

# after the input (6×6×1), after the Conv2D (4×4×2), after the last layer (6×6×2): wherever the type fits;
# a type that takes vectors also after a Flatten
POSITIONS = (0, 1, 3)


def drawn(widget) -> bool:
    """Whether a widget shows anything but its background."""
    image = widget.grab().toImage()
    pixels = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return pixels.size > 0 and len(np.unique(pixels.reshape(-1, 4)[::7], axis=0)) > 2


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """One window for every type (a window costs seconds): each test starts it over on the seed session."""
    from cnnviz.ui.main_window import MainWindow

    settings.use_file(tmp_path_factory.mktemp("settings") / "settings.ini")
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    yield window
    window.close()


@pytest.mark.parametrize("kind", sorted(LAYER_TYPES))
def test_every_type_is_shown_by_every_view(window, caplog, kind):
    doc = window.document
    seed = Document()
    doc.set_pipeline(seed.pipeline, seed.input)
    panel = window.pipeline_panel
    placed = []
    for position in POSITIONS:
        before = len(doc.pipeline.layers)
        doc.select_layer(position + len(placed))
        panel.add_layer(kind)  # a refusal (the shape does not allow it) is shown in the panel, never raised
        if len(doc.pipeline.layers) == before + 1:
            placed.append(doc.selected_layer)
    if 1 in LAYER_TYPES[kind].INPUT_RANKS:  # and after a Flatten, on a vector
        doc.add_layer("Flatten", len(doc.pipeline.layers))
        panel.add_layer(kind)
        assert panel.error.isHidden(), panel.error.text()
        placed.append(doc.selected_layer)
    assert placed, f"{kind} fits nowhere in the seed session"
    doc.flush()
    QApplication.processEvents()
    caplog.set_level(logging.WARNING, logger="cnnviz")
    views = window.layer_views
    assert len(views.columns) == len(doc.levels)
    for level, column in enumerate(views.columns):
        shape = doc.levels[level].shape
        assert len(column.cards) == (1 if len(shape) == 1 else shape[2])
        if len(shape) == 1:
            assert isinstance(column.cards[0], VectorCard)
        assert drawn(column.cards[0])
    for index in placed:
        doc.select_layer(index)
        QApplication.processEvents()
        assert panel.form_box.title().startswith(doc.layer(index).label)
        assert panel.error.isHidden(), panel.error.text()
        assert drawn(window.filter_editor)
        for key, view in window.arithmetic_views.items():
            window.show_panel(f"arithmetic_{key}")
            QApplication.processEvents()
            assert drawn(view.canvas), key
        for figure in (pipeline_figure(doc.input, doc.pipeline, doc.outputs),
                       layer_figure(doc.input, doc.pipeline, doc.outputs, index)):
            assert render_bytes(figure, "png")[:4] == b"\x89PNG"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
