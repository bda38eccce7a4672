"""The layer form is the layer's description: one field per Param, of the widget its kind asks for, with its
label, its help as tooltip and the layer's value in it; an edit goes through the Document's intent."""

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from cnnviz.core import LAYER_TYPES
from cnnviz.ui.pipeline_panel import PairEdit, SidesEdit, field_for
from cnnviz.ui.texts import describe_layer
from ui_support import make_window

WIDGETS = {"int": QSpinBox, "float": QDoubleSpinBox, "bool": QCheckBox, "choice": QComboBox, "pair": PairEdit,
           "sides": SidesEdit}


def value_of(widget):
    if isinstance(widget, (PairEdit, SidesEdit)):
        return widget.value()
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.value()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    return widget.text() or None


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


@pytest.mark.parametrize("kind", sorted(LAYER_TYPES))
def test_the_form_of_every_type_is_its_description(window, kind):
    doc, panel = window.document, window.pipeline_panel
    doc.select_layer(len(doc.pipeline.layers))
    panel.add_layer(kind)
    if not panel.error.isHidden():  # refused after the 6×6×2 map: right after the input instead
        doc.select_layer(0)
        panel.add_layer(kind)
    assert panel.error.isHidden(), panel.error.text()
    layer = doc.layer(doc.selected_layer)
    cls = type(layer)
    assert type(layer).__name__ == kind
    assert panel.form_box.toolTip() == cls.HELP
    config = layer.get_config()
    params = [p.name for p in cls.PARAMS]
    assert [k for k in panel.fields if k in params] == params  # in Keras's order
    for p in cls.PARAMS:
        widget = panel.fields[p.name]
        expected = QLineEdit if p.nullable and p.kind in ("int", "pair") else WIDGETS[p.kind]
        assert isinstance(widget, expected), p.name
        assert widget.toolTip().startswith(p.help)
        label = panel.form.labelForField(widget)
        assert label is not None and label.text() == p.label
        value = config[p.name]
        shown = value_of(widget)
        if isinstance(widget, QLineEdit):
            assert shown == (None if value is None else ", ".join(map(str, value)) if isinstance(value, tuple)
                             else str(value))
        else:
            assert shown == value, p.name
    assert describe_layer(layer)  # every type has a one-line summary in the list


def test_an_edit_in_a_described_field_goes_through_the_document(window):
    doc, panel = window.document, window.pipeline_panel
    doc.select_layer(2)  # MaxPooling2D #2
    panel.fields["padding"].setCurrentIndex(panel.fields["padding"].findData("same"))
    panel.fields["padding"].activated.emit(1)
    assert doc.layer(2).padding == "same"
    doc.undo_stack.undo()
    assert doc.layer(2).padding == "valid"


def test_field_for_follows_the_parameter_range(qapp):
    from cnnviz.core.layers.description import Param

    rate = field_for(Param("rate", "float", "Rate", "help", default=0.5, minimum=0.0, maximum=1.0))
    assert (rate.minimum(), rate.maximum()) == (0.0, 1.0)
    eps = field_for(Param("epsilon", "float", "Epsilon", "help", default=0.001, minimum=0.0))
    assert eps.decimals() >= 5  # 0.001 is not shown as 0.00
    units = field_for(Param("units", "int", "Units", "help", default=None, suggested=10, minimum=1, maximum=4096,
                            nullable=False))
    assert (units.minimum(), units.maximum()) == (0, 4096)  # a typed 0 reaches the layer, which says why not
    sides = field_for(Param("padding", "sides", "Padding", "help", default=((1, 1), (1, 1))))
    sides.set_value(((1, 2), (3, 4)))
    assert sides.value() == ((1, 2), (3, 4))
    assert isinstance(field_for(Param("seed", "int", "Seed", "h", default=None, nullable=True)), QLineEdit)
