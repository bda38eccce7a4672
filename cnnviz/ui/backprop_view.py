"""Backpropagation made visible for the selected layer, on the current input: its input x, activations y,
dL/dy (diverging colours), the layer's weights and their gradients: a convolution's filter for one filter o
and input channel c (3×3 filters too), a Dense's whole matrix, a BatchNormalization's γ, and every bias (β);
then a backward step-through: click a weight to read its sum (dL/dw[a, b] = Σ x[i+a, j+b]·dy[i, j], a Dense's
x[i]·dz[j], a bias's Σ dy) with its numbers and the optimizer's update; click an input cell to read how its
gradient gathers from every output it fed. The sums are cnnviz/core/backprop.py's; the gradients the layers'
own backward passes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import ConfigError
from cnnviz.core.backprop import backward_pass
from cnnviz.core.layers import (
    BatchNormalization,
    Conv2DTranspose,
    Dense,
    DepthwiseConv2D,
)
from cnnviz.core.training import get_optimizer
from cnnviz.core.training.optimizers import slots_at
from cnnviz.ui.arithmetic.backward_stepper import BackwardStepper
from cnnviz.ui.arithmetic.backward_steps import (
    WEIGHTED,
    fmt,
    pick_grid,
    pick_steps,
)
from cnnviz.ui.colormaps import DIVERGING, GREYS, symmetric_levels
from cnnviz.ui.heatmap import Heatmap
from cnnviz.ui.optimizer_text import update_text

CELL_PX = 26
LONG = 16  # a map taller than this is drawn in smaller cells
ROW = 6  # a vector longer than this is drawn as a column: a row of it would push the sums off the dock
TALL_PX = 440  # the height such a map is fitted to (cells of 8 px at least: colours, the step-through has the numbers)
MAX_TERMS = 12  # a sum longer than this is written with its first terms, "…", and its total
LINK = ("The weights being learned are the filter's numbers, shared by every window: that is why dL/dw is a sum "
        "over all window positions.")


class BackpropView(QWidget):
    def __init__(self, document, settings=lambda: None, target=lambda x: None, optimizer_state=lambda: None,
                 parent=None):
        super().__init__(parent)
        self.document = document
        self.settings = settings  # the training dock's TrainingSettings (optimizer, learning rate, loss)
        self.optimizer_state = optimizer_state  # Trainer.optimizer_state() after the last run, or None
        self.target = target  # what the current input should give (None: no data chosen yet)
        self.weight_cell = (0, 0)
        self.bias_cell = 0
        self.input_cell = (0, 0)
        self.step_kind = "weight"  # which pick the backward step-through steps: "weight", "bias" or "input"
        self.lazy = True
        self._stale = True
        self.filter = QSpinBox(minimum=1, maximum=1)
        self.channel = QSpinBox(minimum=1, maximum=1)
        self.target_class = QSpinBox(minimum=0, maximum=0)
        self.target_class.setToolTip("For a classifier: the class the current input should be")
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.maps, self.titles = {}, {}
        self.columns = set()  # the maps drawn as a column: a long vector, shown row r for its element r
        # the input (the tallest map) on the left, y and dL/dy over W and dL/dW beside it: short enough for a
        # 1366×768 screen's dock, and the sums keep the room to their right
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        for key, title, row, col, rows in (("x", "input x", 0, 0, 3), ("y", "activations y", 0, 1, 1),
                                           ("dy", "dL/dy", 0, 2, 1), ("w", "weights W", 2, 1, 1),
                                           ("dw", "dL/dW", 2, 2, 1), ("b", "bias b", 4, 1, 1),
                                           ("db", "dL/db", 4, 2, 1)):
            label = self.titles[key] = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            heat = Heatmap()
            heat.set_show_values(True)
            self.maps[key] = heat
            grid.addWidget(label, row, col)
            grid.addWidget(heat, row + 1, col, rows, 1, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        grid.setRowStretch(6, 1)
        self.maps["w"].cellPressed.connect(lambda r, c, _: self.pick_weight(*self._clicked("w", r, c)))
        self.maps["dw"].cellPressed.connect(lambda r, c, _: self.pick_weight(*self._clicked("dw", r, c)))
        self.maps["b"].cellPressed.connect(lambda r, c, _: self.pick_bias(self._clicked("b", r, c)[1]))
        self.maps["db"].cellPressed.connect(lambda r, c, _: self.pick_bias(self._clicked("db", r, c)[1]))
        self.maps["x"].cellPressed.connect(lambda r, c, _: self.pick_input(*self._clicked("x", r, c)))
        self.weight_text = QLabel()
        self.input_text = QLabel()
        for text in (self.weight_text, self.input_text):
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.RichText)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setAlignment(Qt.AlignmentFlag.AlignTop)
        link = QLabel(LINK)
        link.setObjectName("lectureLink")
        link.setWordWrap(True)
        link.setStyleSheet("color: #444; font-style: italic;")
        controls = QHBoxLayout()
        for name, box in (("Filter o", self.filter), ("Input channel c", self.channel),
                          ("Target class", self.target_class)):
            controls.addWidget(QLabel(name))
            controls.addWidget(box)
            box.valueChanged.connect(self.refresh)
        controls.addStretch(1)
        texts = QVBoxLayout()
        texts.addWidget(self.weight_text)
        texts.addWidget(self.input_text)
        texts.addWidget(link)
        texts.addStretch(1)
        for text in (self.weight_text, self.input_text):
            text.setMinimumWidth(260)
        body = QHBoxLayout()
        body.addLayout(grid)
        body.addLayout(texts, 1)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addLayout(controls)
        layout.addLayout(body)
        self.stepper = BackwardStepper()  # the picked sum, window position by window position
        layout.addWidget(self.stepper, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        document.outputsChanged.connect(lambda _: self.mark_changed())
        document.selectionChanged.connect(lambda _: self.mark_changed())
        self.levels = None

    def mark_changed(self):
        self._stale = True
        if not self.lazy or (self.isVisible() and not self.visibleRegion().isEmpty()):  # a tab behind: "visible"
            self.refresh()

    def catch_up(self):
        if self._stale:
            self.refresh()

    def pick_weight(self, a: int, b: int):
        self.weight_cell = (a, b)
        self.step_kind = "weight"
        self.refresh()

    def pick_bias(self, o: int):
        """A bias (BatchNormalization: β) of the shown row, counted from 0."""
        self.bias_cell = o
        self.step_kind = "bias"
        self.refresh()

    def pick_input(self, r: int, q: int):
        self.input_cell = (r, q)
        self.step_kind = "input"
        self.refresh()

    # ------------------------------------------------------------------ the pass
    def _target(self, doc):
        out_shape = doc.outputs[-1].shape if doc.outputs else ()
        if len(out_shape) == 1:
            self.target_class.setMaximum(out_shape[0] - 1)
            return self.target_class.value(), "sparse_categorical_crossentropy"
        target = self.target(doc.input)
        if target is None or np.shape(target) != out_shape:
            return None, None
        return target, "mean_squared_error"

    def refresh(self):
        self._stale = False
        doc = self.document
        index = doc.selected_layer
        self.target_class.setEnabled(bool(doc.outputs) and doc.outputs[-1].ndim == 1)
        target, loss = self._target(doc)
        if target is None:
            self._say("Choose data in the Training dock (the teacher task gives every input its target), or end "
                      "the pipeline in class probabilities, to see the gradients of the loss.")
            return
        settings = self.settings()
        if settings is not None and settings.loss != loss and not (
                loss == "sparse_categorical_crossentropy" and "crossentropy" in settings.loss):
            loss = settings.loss
        try:
            value, self.levels = backward_pass(doc.pipeline, doc.input, target, loss, training=doc.training)
        except (ConfigError, ValueError) as e:
            self._say(f"No gradients here: {e}")
            return
        if index < 1:
            self._say(f"Loss {fmt(value)} ({loss}). Select a layer to see its gradients.")
            return
        g = self.levels[index - 1]
        layer = doc.layer(index)
        self.header.setText(f"<b>{layer.label}</b> on the current input, target "
                            f"{target if np.ndim(target) == 0 else 'the teacher’s output'}: loss L = {fmt(value)} "
                            f"({loss}).")
        x, y, dy = _as_map(g.x), _as_map(g.y), _as_map(g.dy)
        for box, top in ((self.filter, y.shape[2]), (self.channel, x.shape[2])):
            box.blockSignals(True)
            box.setMaximum(top)
            box.blockSignals(False)
        o = min(self.filter.value(), y.shape[2]) - 1
        if isinstance(layer, DepthwiseConv2D):  # output map o is channel o // M's filter: that channel is shown
            self.channel.blockSignals(True)
            self.channel.setValue(o // layer.depth_multiplier + 1)
            self.channel.blockSignals(False)
        c = min(self.channel.value(), x.shape[2]) - 1
        self._show("x", x[:, :, c], GREYS, (float(x.min()), float(max(x.max(), x.min() + 1e-9))))
        self._show("y", y[:, :, o], DIVERGING, symmetric_levels(y[:, :, o]))
        self._show("dy", dy[:, :, o], DIVERGING, symmetric_levels(dy[:, :, o]))
        kind = "bias" if self.step_kind == "bias" else "weight"
        weight_model = self._pick(layer, g, kind, self.weight_cell if kind == "weight" else (0, self.bias_cell), o, c)
        self._show_weights(layer, g, c, o)
        if weight_model is None and kind == "bias" and pick_grid(layer, g, "weight") is not None:
            self.weight_text.setText(f"{layer.label} has no bias (use_bias is off): click a weight of W instead.")
        elif weight_model is None:
            self.weight_text.setText(f"{layer.label} has no trainable weights: it only passes the gradient on.")
        else:
            text = weight_model.summary(MAX_TERMS)
            if settings is not None:
                wi, position = weight_model.weight
                w = float(layer.get_weights()[wi][position])
                text += "<br>" + self._update(settings, layer.index, wi, position, w, weight_model.total)
            self.weight_text.setText(text)
        input_model = self._pick(layer, g, "input", self.input_cell, o, c)
        if input_model is None:
            self.input_text.setText(f"{layer.label} works on a vector: its input gradient is not gathered number by "
                                    "number here (a Dense's is: select the Dense).")
        else:
            self.input_text.setText(input_model.summary(MAX_TERMS))
        self.stepper.set_model(input_model if self.step_kind == "input" else weight_model)

    def _show(self, key, values, lut, levels):
        heat = self.maps[key]
        heat.show()
        self.titles[key].show()
        values = np.asarray(values)
        if values.shape[0] == 1 and values.shape[1] > ROW:  # a long vector: a column, not a row off the screen
            values = values.T
            self.columns.add(key)
        else:
            self.columns.discard(key)
        big = float(np.finfo(np.float32).max)  # a diverging run's gradients can pass float32's range
        heat.set_data(np.clip(values, -big, big), levels, lut)
        heat.fit(CELL_PX if values.shape[0] <= LONG else max(8.0, min(CELL_PX, TALL_PX / values.shape[0])))

    def _clicked(self, key, r, c) -> tuple[int, int]:
        """The (row, col) of the array a click on map `key` at (r, c) picked (a column's row r is element r)."""
        return (0, r) if key in self.columns else (r, c)

    def _say(self, text):
        self.header.setText(text)
        for key, heat in self.maps.items():  # no empty frames left from the last layer
            heat.hide()
            self.titles[key].hide()
        self.weight_text.setText("")
        self.input_text.setText("")
        self.stepper.set_model(None)

    # ------------------------------------------------------------------ the sums of the picks
    def _pick(self, layer, g, kind, cell, o, c):
        """pick_steps at `cell` kept inside the grid it was clicked in (a pick outlives a smaller layer)."""
        grid = pick_grid(layer, g, kind)
        if grid is None:
            return None
        cell = tuple(min(v, n - 1) for v, n in zip(cell, grid))
        return pick_steps(layer, g, kind, cell, o, c, self.document.training)

    def _show_weights(self, layer, g, c, o):
        """W and dL/dW as the pick clicks them (a filter, a Dense's matrix, γ), and the bias row (β)."""
        shown = {}
        if isinstance(layer, BatchNormalization):
            for name, grad in zip([spec.name for spec in layer.weight_specs()], g.grads):
                if name in ("gamma", "beta"):
                    symbol = "γ" if name == "gamma" else "β"
                    value_key, grad_key = ("w", "dw") if name == "gamma" else ("b", "db")
                    shown[value_key] = (np.reshape(getattr(layer, name), (1, -1)), symbol)
                    shown[grad_key] = (np.reshape(grad, (1, -1)), f"dL/d{symbol}")
        elif isinstance(layer, WEIGHTED):
            kernel, dkernel = layer.get_weights()[0], g.grads[0]
            if isinstance(layer, Dense):
                sl = (slice(None), slice(None))
            elif isinstance(layer, DepthwiseConv2D):
                sl = (slice(None), slice(None), c, o % layer.depth_multiplier)
            elif isinstance(layer, Conv2DTranspose):
                sl = (slice(None), slice(None), o, c)
            else:
                sl = (slice(None), slice(None), c, o)
            what = "W (rows: inputs, cols: units)" if isinstance(layer, Dense) else "weights W"
            shown["w"], shown["dw"] = (kernel[sl], what), (dkernel[sl], "dL/dW")
            if len(g.grads) > 1:
                shown["b"] = (np.reshape(layer.get_weights()[1], (1, -1)), "bias b")
                shown["db"] = (np.reshape(g.grads[1], (1, -1)), "dL/db")
        for key in ("w", "dw", "b", "db"):
            if key in shown:
                values, title = shown[key]
                self.titles[key].setText(title)
                self.titles[key].show()
                self._show(key, values, DIVERGING, symmetric_levels(values))
            else:
                self.titles[key].hide()
                self.maps[key].hide()

    def _update(self, settings, layer_number, weight_index, position, w, grad) -> str:
        """The optimizer's next step for element `position` of weight array `weight_index` (0: the kernel or γ,
        1: the bias or β) of layer `layer_number`, from the state its last run left (or from zeros)."""
        optimizer = get_optimizer(settings.optimizer_config())
        state, slots = self.optimizer_state(), None
        if state is not None and "places" not in state:
            state = None  # a run that ended before its optimizer said where it stood
        if state is not None:
            if (layer_number, weight_index) not in state["places"]:
                return "This layer was frozen in the last run: training left its weights as they were."
            slots = slots_at(state, state["places"].index((layer_number, weight_index)), position)
            if slots is None and state["slots"] is not None:
                state = None  # the kernel changed shape since that run: its slots no longer fit
            else:
                optimizer.iterations = state["iterations"]
        return update_text(optimizer, optimizer.explain(w, grad, slots), state is not None)


def _as_map(a):
    a = np.asarray(a)
    return a.reshape(1, -1, 1) if a.ndim == 1 else a
