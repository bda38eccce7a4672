"""The "a CNN is an ANN with few, shared weights" view: exact counts and synapses from the core."""

import numpy as np

from cnnviz import core
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic.neuron_view import NeuronView, weight_counts
from cnnviz.ui.document import Document


def test_seed_counts_20_weights_against_a_dense_36_by_32_plus_32(qtbot):
    document = Document()
    view = NeuronView(document)
    qtbot.addWidget(view)
    assert view.counts() == {"per_filter": 10, "conv": 20, "dense": 36 * 32 + 32, "n_in": 36, "n_out": 32}
    text = view.formula.text()
    assert "3·3·1 + 1 = 10 weights per filter × 2 filters = <b>20 weights</b>" in text
    assert "36·32 + 32 = <b>1,184 weights</b>" in text


def test_synapses_are_the_window_cells_with_their_filter_weights_and_follow_the_probe(qtbot):
    document = Document()
    view = NeuronView(document)
    qtbot.addWidget(view)
    document.set_probe(1, (2, 1, 1))
    assert view.neuron == (2, 1, 1)
    kernel = document.layer(1).kernel
    expected = [((2 + a, 1 + b, 0), float(kernel[a, b, 0, 1])) for a in range(3) for b in range(3)]
    assert view.synapses() == expected
    assert view.provenance() == cell_provenance(document.layer(1), document.input, (2, 1, 1))
    view.resize(900, 500)
    view.grab()


def test_counts_for_multichannel_no_bias_and_padding_drops_padding_synapses(qtbot):
    layer = core.Conv2D(4, (3, 2), padding="same", use_bias=False)
    x = np.ones((5, 5, 3), np.float32)
    document = Document(core.Pipeline(x.shape, [layer]), x)
    view = NeuronView(document)
    qtbot.addWidget(view)
    assert weight_counts(document.layer(1), x.shape, (5, 5, 4)) == {
        "per_filter": 3 * 2 * 3,
        "conv": 72,
        "dense": 75 * 100 + 100,
        "n_in": 75,
        "n_out": 100,
    }
    # the corner neuron: its window hangs over the padding, those taps carry no synapse
    # same padding, kernel 3×2: rows −1..1 (row −1 is padding), cols 0..1 (left padding 0): 2·2 cells · 3 channels
    assert len(view.synapses()) == 12
    assert all(0 <= r < 5 and 0 <= c < 5 for (r, c, _), _ in view.synapses())


def weight_labels(view, tmp_path, size):
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    svg = QSvgGenerator()
    svg.setFileName(str(tmp_path / "neuron.svg"))
    svg.setSize(QSize(*size))
    painter = QPainter(svg)
    view.canvas.paint_scene(painter, QRectF(0, 0, *size))
    painter.end()
    return (tmp_path / "neuron.svg").read_text().count("w=")


def test_weight_labels_are_thinned_when_they_would_pile_up(qtbot, tmp_path):
    """27 synapses in a 220 px canvas stacked 27 'w=' labels 8 px apart into an unreadable block."""
    from cnnviz.ui.arithmetic.neuron_view import label_stride

    assert label_stride(spacing=30.0, label_height=16.0) == 1
    assert label_stride(spacing=8.0, label_height=16.0) == 3  # labels sit 0.7·spacing apart where drawn
    document = Document()
    view = NeuronView(document)
    qtbot.addWidget(view)
    assert weight_labels(view, tmp_path, (900, 400)) == 9  # the seed's nine synapses all keep their label
    x = np.ones((8, 8, 3), np.float32)
    document.set_pipeline(core.Pipeline(x.shape, [core.Conv2D(2, 3)]), x)
    document.flush()
    assert len(view.synapses()) == 27
    assert 0 < weight_labels(view, tmp_path, (760, 220)) < 27
