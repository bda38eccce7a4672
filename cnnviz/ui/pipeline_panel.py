"""The pipeline panel: the layers with their output shapes, and a form for the selected layer.

Every edit goes through a Document intent (`set_layer_param`, `add_layer`, `duplicate_layer`, ...); a value
the core refuses leaves the pipeline untouched and its ConfigError message is shown under the form, with
the field marked and the output-size arithmetic of the attempted setting, until a valid value is entered.
The list follows structureChanged (rebuilt) and layerChanged (the changed layer's row and the shapes after
it); weight edits do not touch it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import LAYER_TYPES, ConfigError
from cnnviz.ui.list_rows import take_all_rows
from cnnviz.ui.texts import TRAINING_HELP, describe_layer, shape_text

STILL_IN_USE = "still in use (the refused value changed nothing):"  # heads the old arithmetic
ERROR_FILL = QColor("#ffd2d2")  # a refused field's background (a palette tint keeps the native spin arrows)


def mark_refused(widget: QWidget, refused: bool):
    """Tint a field (and the boxes inside a PairEdit) that holds a refused value; unmarked it inherits again.
    Only a change of the mark touches the palette: a new palette repaints the field and every box in it."""
    if bool(widget.property("refused")) == refused:
        return
    widget.setProperty("refused", refused)
    palette = QPalette()  # an empty palette: the widget follows its parent's again
    if refused:
        palette.setColor(QPalette.ColorRole.Base, ERROR_FILL)
    widget.setPalette(palette)


def set_quietly(box, value):
    """Show `value` in a spin box without its signal; a box that already shows it is left alone (setValue
    repaints the box even when nothing changes)."""
    if box.value() != value:
        box.blockSignals(True)
        box.setValue(value)
        box.blockSignals(False)


class PairEdit(QWidget):
    """rows × cols as two spin boxes; emits `edited` with the pair when either is committed."""

    edited = Signal(object)

    def __init__(self, minimum=0, maximum=999, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.boxes = []
        for i, tip in enumerate(("rows", "cols")):
            box = QSpinBox()
            box.setRange(minimum, maximum)
            box.setKeyboardTracking(False)
            box.setFixedWidth(58)  # every pair as wide, whatever its range
            box.setToolTip(tip)
            box.valueChanged.connect(lambda _v: self.edited.emit(self.value()))
            self.boxes.append(box)
            row.addWidget(box)
            if i == 0:
                row.addWidget(QLabel("×"))

    def value(self):
        return tuple(b.value() for b in self.boxes)

    def set_value(self, pair):
        for box, v in zip(self.boxes, pair):
            set_quietly(box, int(v))

    def setToolTip(self, text):  # noqa: N802 (Qt name)
        super().setToolTip(text)
        for box, axis in zip(self.boxes, ("rows", "cols")):
            box.setToolTip(f"{text}\n({axis})")


class SidesEdit(QWidget):
    """Rows and cols added or removed on each side (top, bottom, left, right) as four spin boxes; emits `edited`
    with ((top, bottom), (left, right)), Keras's normalised form, when any is committed."""

    edited = Signal(object)
    SIDES = (("↑", "top rows"), ("↓", "bottom rows"), ("←", "left columns"), ("→", "right columns"))

    def __init__(self, maximum=999, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.boxes = []
        for arrow, tip in self.SIDES:
            row.addWidget(QLabel(arrow))
            box = QSpinBox()
            box.setRange(0, maximum)
            box.setKeyboardTracking(False)
            box.setMaximumWidth(52)
            box.setToolTip(tip)
            box.valueChanged.connect(lambda _v: self.edited.emit(self.value()))
            self.boxes.append(box)
            row.addWidget(box)

    def value(self):
        t, b, l, r = (box.value() for box in self.boxes)
        return ((t, b), (l, r))

    def set_value(self, sides):
        (t, b), (l, r) = sides
        for box, v in zip(self.boxes, (t, b, l, r)):
            set_quietly(box, int(v))

    def setToolTip(self, text):  # noqa: N802 (Qt name)
        super().setToolTip(text)
        for box, (_, side) in zip(self.boxes, self.SIDES):
            box.setToolTip(f"{text}\n({side})")


def field_for(param) -> QWidget:
    """The widget a parameter's kind asks for (docs/architecture.md, "How the UI builds a layer's form").

    Whole numbers reach down to 0 even where the layer needs 1 or more: a typed 0 is refused by the layer in
    words, with the arithmetic that rules it out, instead of a spin box silently not taking it."""
    if param.nullable and param.kind in ("int", "pair"):  # empty = None, Keras's default
        edit = QLineEdit()
        edit.setPlaceholderText(param.placeholder or "default")
        return edit
    if param.kind == "int":
        box = QSpinBox()
        box.setRange(int(min(param.minimum, 0) if param.minimum is not None else -(2**31)),
                     int(param.maximum if param.maximum is not None else 2**31 - 1))
        box.setKeyboardTracking(False)
        return box
    if param.kind == "float":
        box = QDoubleSpinBox()
        small = isinstance(param.initial, float) and 0 < abs(param.initial) < 0.01  # an epsilon: 0.001
        box.setDecimals(6 if small else 3)
        box.setSingleStep(abs(param.initial) if small else 0.05)
        box.setRange(param.minimum if param.minimum is not None else -1e6,
                     param.maximum if param.maximum is not None else 1e6)
        box.setKeyboardTracking(False)
        return box
    if param.kind == "bool":
        return QCheckBox()
    if param.kind == "choice":
        box = QComboBox()
        for choice in param.choices:
            box.addItem(str(choice), choice)
        return box
    if param.kind == "pair":
        return PairEdit(0, int(param.maximum if param.maximum is not None else 999))
    return SidesEdit(int(param.maximum if param.maximum is not None else 999))


class LayerList(QListWidget):
    """The layer list; a drag within it asks for a move (the Document does it, the list then follows)."""

    layerDropped = Signal(int, int)  # from row, to row (0-based, the row the layer ends up in)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)

    def sizeHint(self):  # noqa: N802 (Qt name)
        """As tall as its rows (within 90..240 px): the form below keeps its room on a small screen."""
        hint = super().sizeHint()
        rows = sum(self.sizeHintForRow(i) for i in range(self.count())) + 2 * self.frameWidth() + 4
        hint.setHeight(min(max(rows, self.minimumHeight()), 240))
        return hint

    def drop_row(self, pos) -> int:
        """The row a layer dropped at `pos` lands in: before the item under the upper half, after the lower."""
        index = self.indexAt(pos)
        if not index.isValid():
            return self.count()
        rect = self.visualRect(index)
        return index.row() + (1 if pos.y() > rect.center().y() else 0)

    def dropEvent(self, ev):
        source = self.currentRow()
        target = self.drop_row(ev.position().toPoint())
        if target > source:
            target -= 1  # the gap the layer leaves
        ev.setDropAction(Qt.DropAction.IgnoreAction)  # the list is rebuilt from the pipeline instead
        ev.accept()
        if source >= 0 and target != source:
            self.layerDropped.emit(source, target)


class PipelinePanel(QWidget):
    hoverText = Signal(str)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("pipelinePanel")
        self.document = document
        self.fields: dict[str, QWidget] = {}
        self._extras_refresh = None
        self._form_key = None

        self.chain = QLabel(objectName="shapeChain")
        self.chain.setWordWrap(True)
        self.chain.setStyleSheet("font-weight: bold;")
        self.chain.setToolTip("The shape of the data after each layer: rows × cols × channels")
        self.list = LayerList()
        self.list.setObjectName("layerList")
        self.list.setToolTip("The layers in order, input at the top. Drag a layer to move it.")
        self.list.setMinimumHeight(90)  # three two-line rows; as tall as its rows (the spare room goes below)
        self.list.currentRowChanged.connect(self._row_selected)
        self.list.layerDropped.connect(lambda i, j: self._move(i + 1, j + 1))

        self.add_button = QToolButton(objectName="addLayer")
        self.add_button.setText("Add layer")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        for name in LAYER_TYPES:
            action = menu.addAction(name)
            action.setToolTip(LAYER_TYPES[name].HELP)
            action.triggered.connect(lambda checked=False, n=name: self.add_layer(n))
        self.add_button.setMenu(menu)
        self.add_button.setToolTip("Insert a new layer after the selected one")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        for text, slot, tip in (
            ("Duplicate", self.duplicate_selected, "Insert a copy of the selected layer after it"),
            ("Remove", self.remove_selected, "Remove the selected layer"),
            ("↑", lambda: self.move_selected(-1), "Move the selected layer earlier"),
            ("↓", lambda: self.move_selected(+1), "Move the selected layer later"),
        ):
            button = QToolButton()  # as wide as its text (a push button takes 80 px): the dock stays narrow
            button.setText(text)
            button.setToolTip(tip)
            button.setMinimumWidth(32)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.form_box = QGroupBox()
        self._pages = QVBoxLayout(self.form_box)  # one form per layer type, built once; the selected one shown
        self._forms: dict = {}  # form key -> (page, its QFormLayout, its fields, its extras' refresh)
        self._page: QWidget | None = None
        self.form: QFormLayout | None = None
        self.error = QLabel(objectName="layerError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020; font-weight: bold;")
        self.error.hide()
        self.arithmetic = QLabel(objectName="layerArithmetic")
        self.arithmetic.setWordWrap(True)
        self.arithmetic.setTextFormat(Qt.TextFormat.PlainText)
        self.arithmetic.setStyleSheet("font-family: monospace; background: #f4f4f4; padding: 4px;")
        self.arithmetic.setToolTip("How the output size follows from the input size and the settings")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.chain)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.form_box)
        layout.addWidget(self.error)
        layout.addWidget(self.arithmetic)
        # Spare room at the bottom, not in the list: an error line or a shorter form then moves only what is
        # below it, never the fields above (a second click landed on the wrong field).
        layout.addStretch(1)

        document.structureChanged.connect(self.refresh)
        document.layerChanged.connect(self._on_layer)
        document.trainingChanged.connect(self._on_training)
        document.selectionChanged.connect(self._on_selection)
        self.refresh()

    def minimumSizeHint(self):  # noqa: N802 (Qt name)
        """Never shorter than it wants to be: in the window's scroll area it scrolls instead of squeezing."""
        hint = super().minimumSizeHint()
        hint.setHeight(max(hint.height(), self.sizeHint().height()))
        return hint

    # ------------------------------------------------------------------ list
    def refresh(self):
        doc = self.document
        self.list.blockSignals(True)
        take_all_rows(self.list)
        for _ in doc.pipeline.layers:
            item = QListWidgetItem(self.list)  # owned by the list from the start
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
        self._update_rows(1)
        self.list.setCurrentRow(doc.selected_layer - 1)
        self.list.blockSignals(False)
        self.list.updateGeometry()
        self._refresh_form()

    def _update_rows(self, first: int):
        """The texts of rows first.. (their output shapes follow the layers before them) and the chain."""
        doc = self.document
        shapes = [doc.level_shape(i) for i in range(len(doc.levels))]
        self.chain.setText(" → ".join(shape_text(s) for s in shapes))
        for i in range(first, len(doc.pipeline.layers) + 1):
            layer = doc.layer(i)
            item = self.list.item(i - 1)
            item.setText(f"{layer.label}   → {shape_text(shapes[i])}\n    {describe_layer(layer)}")
            item.setToolTip(type(layer).HELP)

    def _on_layer(self, index: int):
        if self.list.count() != len(self.document.pipeline.layers):
            self.refresh()
            return
        self._update_rows(index)
        if self.document.selected_layer >= index:  # its input shape may have changed too
            self._refresh_form()

    def _on_training(self, training: bool):
        box = self.fields.get("training")
        if box is not None and box.isChecked() != training:
            box.blockSignals(True)
            box.setChecked(training)
            box.blockSignals(False)

    def _row_selected(self, row: int):
        self.document.select_layer(row + 1 if row >= 0 else 0)

    def _on_selection(self, index: int):
        if self.list.currentRow() != index - 1:
            self.list.blockSignals(True)
            self.list.setCurrentRow(index - 1)
            self.list.blockSignals(False)
        self._refresh_form()

    # ------------------------------------------------------------------ layer edits
    def add_layer(self, class_name: str):
        """A new layer after the selected one (after the input when none is selected)."""
        self._try(lambda: self.document.add_layer(class_name))

    def duplicate_selected(self):
        i = self.document.selected_layer
        if i > 0:
            self._try(lambda: self.document.duplicate_layer(i))

    def remove_selected(self):
        i = self.document.selected_layer
        if i > 0:
            self._try(lambda: self.document.remove_layer(i))

    def move_selected(self, delta: int):
        i = self.document.selected_layer
        j = i + delta
        if i > 0 and 1 <= j <= len(self.document.pipeline.layers):
            self._move(i, j)

    def _move(self, i: int, j: int):
        if self._try(lambda: self.document.move_layer(i, j)):
            self.document.select_layer(j)
        else:
            message = self.error.text()
            self.refresh()  # put the dragged row back (this clears the form's message) ...
            self._show_error(message)  # ... and say why it did not move

    def _try(self, edit) -> bool:
        try:
            edit()
        except ConfigError as exc:
            self._show_error(str(exc))
            return False
        self._clear_error()
        return True

    # ------------------------------------------------------------------ form
    def _refresh_form(self):
        i = self.document.selected_layer
        if i == 0 or i > len(self.document.pipeline.layers):
            self._show_form(None)
            return
        layer = self.document.layer(i)
        key = (i, type(layer).__name__)
        if key != self._form_key:
            self._show_form(layer)
            self._form_key = key
            self._keep_form_height()
        self._clear_error()  # the pipeline changed since the refused value: its message is stale
        self._load_values(layer)
        self._show_arithmetic(layer)

    def _form_of(self, layer):
        """Which form shows `layer`: one per layer type (its fields take the values of whichever layer of that
        type is selected), but the app's own rows may name the layer and its input (FORM_EXTRAS): those forms
        are one per layer and input shape. None: the input's (or an empty pipeline's) note."""
        doc = self.document
        if layer is None:
            return ("input", not doc.pipeline.layers)
        name = type(layer).__name__
        if name in FORM_EXTRAS:
            i = doc.selected_layer
            return (name, i, doc.level_shape(i - 1))
        return (name,)

    def _show_form(self, layer):
        """Show the form for `layer` (None: the input), built the first time it is needed. Selecting a layer
        of a type seen before builds no widget: each spin box built and polished cost about a millisecond."""
        key = self._form_of(layer)
        if key not in self._forms:
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(0, 0, 0, 0)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
            self.form, self.fields, self._extras_refresh = form, {}, None
            self._build_form(form, layer)
            for stale in [k for k in self._forms if k[0] == key[0] and key[0] in FORM_EXTRAS]:
                self._forms.pop(stale)[0].deleteLater()  # another place or input: never shown again
            self._forms[key] = (page, form, self.fields, self._extras_refresh)
            page.hide()
            self._pages.addWidget(page)
        page, self.form, self.fields, self._extras_refresh = self._forms[key]
        if page is not self._page:
            if self._page is not None:
                self._page.hide()
            page.show()
            self._page = page
        self._clear_error()
        if layer is None:
            self._form_key = None
            self.form_box.setTitle("Input")
            self.arithmetic.setText(f"input {shape_text(self.document.input.shape)}")
            return
        self.form_box.setTitle(f"{layer.label} settings")
        self.form_box.setToolTip(type(layer).HELP)

    def _build_form(self, form: QFormLayout, layer):
        if layer is None:
            empty = not self.document.pipeline.layers
            form.addRow(QLabel("No layers yet: Add layer puts one after the input." if empty
                               else "Select a layer to change its settings."))
            return
        cls = type(layer)
        for param in cls.PARAMS:
            self._add(param, field_for(param))
        extras = FORM_EXTRAS.get(cls.__name__)
        if extras is not None:
            extras(self, layer)
        if not cls.PARAMS and extras is None:
            note = QLabel(f"Nothing to set. {cls.HELP}")
            note.setWordWrap(True)
            self.form.addRow(note)

    # ---- rows only the app has (the layer's parameters are all above, from its description) ----------
    def _dropout_rows(self, layer):
        training = QCheckBox("training (dropout acts)")
        training.setToolTip(TRAINING_HELP)
        training.toggled.connect(self.document.set_training)
        self.fields["training"] = training
        self.form.addRow("Mode", training)
        mask = QPushButton("New mask")
        mask.setToolTip("Draw a new random mask of dropped cells")
        mask.clicked.connect(lambda: self.document.new_dropout_mask(self.document.selected_layer))
        self.form.addRow("", mask)

    def _dense_rows(self, layer):
        """A Dense on a map acts on each cell's channels (Keras's Dense on the last axis): say so and offer
        the Flatten a classifier needs in front of it."""
        i = self.document.selected_layer
        shape = self.document.level_shape(i - 1)
        if len(shape) != 3:
            return
        note = QLabel()

        def say(layer):
            note.setText(f"On a {shape_text(shape)} map a Dense acts on each cell's {shape[2]} channels separately "
                         f"(a 1×1 convolution): every cell gets {layer.units} numbers. A classifier flattens the "
                         f"map first, so that every output sees all {shape[0] * shape[1] * shape[2]} numbers.")

        say(layer)
        self._extras_refresh = say
        note.setObjectName("denseOnMapNote")
        note.setWordWrap(True)
        note.setStyleSheet("color: #7a4b00;")
        self.form.addRow(note)
        flatten = QPushButton(f"Insert Flatten before {layer.label}")
        flatten.setObjectName("insertFlatten")
        flatten.setToolTip("One click: a Flatten right before this Dense, turning the map into one vector")
        flatten.clicked.connect(lambda: self._try(lambda: self.document.add_layer("Flatten", i - 1)))
        self.form.addRow(flatten)

    def _add(self, param, widget: QWidget):
        key = param.name
        widget.setToolTip(param.help)
        widget.setObjectName(f"param_{key}")
        self.fields[key] = widget
        if isinstance(widget, (PairEdit, SidesEdit)):
            widget.edited.connect(lambda v, k=key: self.set_param(k, v))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            widget.valueChanged.connect(lambda v, k=key: self.set_param(k, v))
        elif isinstance(widget, QComboBox):
            widget.activated.connect(lambda _i, k=key, w=widget: self.set_param(k, w.currentData()))
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda v, k=key: self.set_param(k, bool(v)))
        elif isinstance(widget, QLineEdit):
            widget.editingFinished.connect(lambda p=param, w=widget: self._text_param(p, w.text()))
        label_widget = QLabel(param.label)
        label_widget.setToolTip(widget.toolTip())
        self.form.addRow(label_widget, widget)

    def _load_values(self, layer):
        if self._extras_refresh is not None:
            self._extras_refresh(layer)
        config = layer.get_config()
        for key, widget in self.fields.items():
            widget.blockSignals(True)
            mark_refused(widget, False)
            if key == "training":
                widget.setChecked(self.document.training)
            elif isinstance(widget, (PairEdit, SidesEdit)):
                widget.set_value(config[key])
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                set_quietly(widget, config[key])
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(widget.findData(config[key]))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(config[key]))
            elif isinstance(widget, QLineEdit):
                value = config.get(key)
                text = "" if value is None else ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
                if widget.text() != text:
                    widget.setText(text)
            widget.blockSignals(False)

    def _text_param(self, param, text: str):
        """Line edits (parameters that may be None): empty means None (Keras's default); else one or two
        whole numbers."""
        text = text.strip()
        if not text:
            value = None
        else:
            try:
                numbers = [int(part) for part in text.replace("×", ",").replace("x", ",").split(",") if part.strip()]
            except ValueError:
                numbers = []
            if not 1 <= len(numbers) <= (2 if param.kind == "pair" else 1):
                expected = "one or two whole numbers" if param.kind == "pair" else "a whole number"
                layer = self.document.layer(self.document.selected_layer)
                self._show_error(f"{layer.label}: {param.name} must be {expected} (or empty), got {text!r}",
                                 param.name)
                self._show_arithmetic(layer, note=STILL_IN_USE)
                return
            value = numbers[0] if len(numbers) == 1 else tuple(numbers)
        self.set_param(param.name, value)

    def set_param(self, key: str, value):
        """Apply one parameter to the selected layer; refused settings change nothing.

        A valid value clears the message of an earlier refusal, also when it is the value already in use
        (nothing to apply then, but the refused value is gone from the form).
        """
        i = self.document.selected_layer
        layer = self.document.layer(i)
        try:
            changed = self.document.set_layer_param(i, key, value)
        except ConfigError as exc:
            self._show_error(str(exc), key)
            try:  # the arithmetic of the attempted setting when the layer takes it, else the one in use
                self._show_arithmetic(layer.replace(**{key: value}))
            except ConfigError:
                self._show_arithmetic(layer, note=STILL_IN_USE)
            return
        if not changed:  # no layerChanged follows: the form forgets the refusal here
            self._clear_error()
            self._show_arithmetic(layer)

    def _keep_form_height(self) -> None:
        """The form box never shrinks: switching to a layer with fewer settings leaves what is below in place."""
        self.form_box.setMinimumHeight(max(self.form_box.minimumHeight(), self.form_box.sizeHint().height()))

    def _show_arithmetic(self, layer, note: str = ""):
        """The output-size arithmetic of `layer` on its input; `note` heads it when `layer` is not the edit."""
        doc = self.document
        i = doc.selected_layer
        in_shape = doc.level_shape(i - 1)
        try:
            lines = layer.explain_output_shape(in_shape)
        except ConfigError as exc:
            lines = [str(exc)]
        try:
            out = f"output {shape_text(layer.compute_output_shape(in_shape))}"
        except ConfigError:
            out = "no valid output"
        text = f"input {shape_text(in_shape)}\n" + "\n".join(lines) + f"\n→ {out}"
        self.arithmetic.setText(f"{note}\n{text}" if note else text)

    def _show_error(self, message: str, key: str | None = None):
        self.error.setText(message)
        self.error.show()
        widget = self.fields.get(key)
        if widget is not None:
            mark_refused(widget, True)

    def _clear_error(self):
        self.error.hide()
        self.error.setText("")
        for widget in self.fields.values():
            mark_refused(widget, False)


# The rows a type's form has besides its parameters: actions of the app, not settings of the layer.
FORM_EXTRAS = {"Dropout": PipelinePanel._dropout_rows, "Dense": PipelinePanel._dense_rows}
