"""Backpropagation made visible for the selected layer, on the current input: its input x, activations y,
dL/dy (diverging colours), the filter's weights and dL/dW, for one filter o and input channel c (3×3 filters
too); then a backward step-through: click a weight to read dL/dw[a, b] = Σ x[i+a, j+b]·dy[i, j] with its
numbers and the optimizer's update; click an input cell to read how its gradient gathers from every output
it fed. The sums are cnnviz/core/backprop.py's; the gradients the layers' own backward passes."""

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
from cnnviz.core.backprop import backward_pass, input_gradient_terms, weight_gradient_terms
from cnnviz.core.layers import Conv2D
from cnnviz.core.training import get_optimizer
from cnnviz.core.training.optimizers import slots_at
from cnnviz.ui.arithmetic.backward_stepper import BackwardStepper
from cnnviz.ui.arithmetic.backward_steps import contributions, fmt, gather_rule, input_steps, weight_steps
from cnnviz.ui.colormaps import DIVERGING, GREYS, symmetric_levels
from cnnviz.ui.heatmap import Heatmap
from cnnviz.ui.optimizer_text import update_text

CELL_PX = 26
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
        self.input_cell = (0, 0)
        self.step_kind = "weight"  # which pick the backward step-through steps: "weight" or "input"
        self.lazy = True
        self._stale = True
        self.filter = QSpinBox(minimum=1, maximum=1)
        self.channel = QSpinBox(minimum=1, maximum=1)
        self.target_class = QSpinBox(minimum=0, maximum=0)
        self.target_class.setToolTip("For a classifier: the class the current input should be")
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.maps = {}
        # the input (the tallest map) on the left, y and dL/dy over W and dL/dW beside it: short enough for a
        # 1366×768 screen's dock, and the sums keep the room to their right
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        for key, title, row, col, rows in (("x", "input x", 0, 0, 3), ("y", "activations y", 0, 1, 1),
                                           ("dy", "dL/dy", 0, 2, 1), ("w", "weights W", 2, 1, 1),
                                           ("dw", "dL/dW", 2, 2, 1)):
            label = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            heat = Heatmap()
            heat.set_show_values(True)
            self.maps[key] = heat
            grid.addWidget(label, row, col)
            grid.addWidget(heat, row + 1, col, rows, 1, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        grid.setRowStretch(4, 1)
        self.maps["w"].cellPressed.connect(lambda r, c, _: self.pick_weight(r, c))
        self.maps["dw"].cellPressed.connect(lambda r, c, _: self.pick_weight(r, c))
        self.maps["x"].cellPressed.connect(lambda r, c, _: self.pick_input(r, c))
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
        document.outputsChanged.connect(lambda _: self._changed())
        document.selectionChanged.connect(lambda _: self._changed())
        self.levels = None

    def _changed(self):
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
        kernel = layer.get_weights()[0] if isinstance(layer, Conv2D) else None
        o = min(self.filter.value(), y.shape[2]) - 1
        c = min(self.channel.value(), x.shape[2]) - 1
        for box, top in ((self.filter, y.shape[2]), (self.channel, x.shape[2])):
            box.blockSignals(True)
            box.setMaximum(top)
            box.blockSignals(False)
        self._show("x", x[:, :, c], GREYS, (float(x.min()), float(max(x.max(), x.min() + 1e-9))))
        self._show("y", y[:, :, o], DIVERGING, symmetric_levels(y[:, :, o]))
        self._show("dy", dy[:, :, o], DIVERGING, symmetric_levels(dy[:, :, o]))
        if kernel is not None:
            self._show("w", kernel[:, :, c, o], DIVERGING, symmetric_levels(kernel[:, :, c, o]))
            self._show("dw", g.grads[0][:, :, c, o], DIVERGING, symmetric_levels(g.grads[0][:, :, c, o]))
            self.weight_text.setText(self._weight_sum(layer, g, x, dy, c, o, kernel, settings))
        else:
            for key in ("w", "dw"):
                self.maps[key].hide()
            self.weight_text.setText(f"{layer.label} has no filter weights: it only passes the gradient on.")
        gathered = None if isinstance(layer, Conv2D) else self._contributions(layer, g, *self._picked_input(x), c)
        self.input_text.setText(self._input_sum(layer, g, x, dy, c, kernel, gathered))
        self.stepper.set_model(self._steps(layer, g, x, dy, c, o, kernel, gathered))

    def _show(self, key, values, lut, levels):
        heat = self.maps[key]
        heat.show()
        heat.set_data(values, levels, lut)
        heat.fit(CELL_PX)

    def _say(self, text):
        self.header.setText(text)
        self.weight_text.setText("")
        self.input_text.setText("")
        self.stepper.set_model(None)

    # ------------------------------------------------------------------ the written-out sums
    def _weight_sum(self, layer, g, x, dy, c, o, kernel, settings) -> str:
        a, b = (min(v, k - 1) for v, k in zip(self.weight_cell, layer.kernel_size))
        terms = weight_gradient_terms(layer, x, dy, a, b, c, o)
        total = sum(xv * d for *_, xv, d in terms)
        shown = [f"{fmt(xv)}·{fmt(d)}" for *_, xv, d in terms if xv != 0 and d != 0]
        body = " + ".join(shown[:MAX_TERMS]) + (" + …" if len(shown) > MAX_TERMS else "")
        grad = float(g.grads[0][a, b, c, o])
        w = float(kernel[a, b, c, o])
        lines = [f"<b>dL/dw[{a},{b}]</b> (filter {o + 1}, channel {c + 1}) = Σ<sub>i,j</sub> x[i·s+{a}, j·s+{b}] · "
                 f"dy[i,j] over the {len(terms)} window positions",
                 f"= {body or '0'} = <b>{fmt(total)}</b> (the backward pass: {fmt(grad)})"]
        if settings is not None:
            lines.append(self._update(settings, layer.index, (a, b, c, o), w, grad))
        return "<br>".join(lines)

    def _update(self, settings, layer_number, position, w, grad) -> str:
        """The optimizer's next step for kernel weight `position` of layer `layer_number`, from the state its
        last run left (or from zeros)."""
        optimizer = get_optimizer(settings.optimizer_config())
        state, slots = self.optimizer_state(), None
        if state is not None and "places" not in state:
            state = None  # a run that ended before its optimizer said where it stood
        if state is not None:
            if (layer_number, 0) not in state["places"]:
                return "This layer was frozen in the last run: training left its weights as they were."
            slots = slots_at(state, state["places"].index((layer_number, 0)), position)
            if slots is None and state["slots"] is not None:
                state = None  # the kernel changed shape since that run: its slots no longer fit
            else:
                optimizer.iterations = state["iterations"]
        return update_text(optimizer, optimizer.explain(w, grad, slots), state is not None)

    def _picked_input(self, x) -> tuple[int, int]:
        r, q = (min(v, n - 1) for v, n in zip(self.input_cell, x.shape[:2]))
        return r, q

    def _steps(self, layer, g, x, dy, c, o, kernel, gathered):
        """The backward step-through of the last pick: a weight's sum (a Conv2D's), or an input cell's."""
        if self.step_kind == "weight" and kernel is not None:
            a, b = (min(v, k - 1) for v, k in zip(self.weight_cell, layer.kernel_size))
            return weight_steps(layer, x, dy, g.grads[0], a, b, c, o)
        if np.asarray(g.dx).ndim != 3 or (kernel is None and np.asarray(g.dy).ndim != 3):
            return None  # a vector's gradient is not gathered cell by cell here
        return input_steps(layer, x, dy, _as_map(g.dx), *self._picked_input(x), c, gather_rule(layer), gathered)

    def _input_sum(self, layer, g, x, dy, c, kernel, gathered) -> str:
        r, q = self._picked_input(x)
        dx = _as_map(g.dx)
        value = float(dx[r, q, c])
        head = f"<b>dL/dx[{r},{q}]</b> (channel {c + 1}) gathers from every output it fed: {gather_rule(layer)}."
        if isinstance(layer, Conv2D):
            terms = [t for t in input_gradient_terms(layer, x.shape, kernel, dy, r, q, c)]
            shown = [f"w[{a},{b}]·dy[{i},{j}] = {fmt(w)}·{fmt(d)}" for i, j, o, a, b, w, d in terms]
        else:
            shown = [f"from y[{i},{j}]: {fmt(v)}" for i, j, _, v in gathered]
        body = " + ".join(shown[:MAX_TERMS]) + (" + …" if len(shown) > MAX_TERMS else "")
        return f"{head}<br>= {body or '0 (no output read this cell)'} = <b>{fmt(value)}</b>"

    def _contributions(self, layer, g, r, q, c):
        """For a layer without weights: what each output cell's dy sends to input cell (r, q, c)."""
        return contributions(layer, g.x, g.dy, r, q, c, self.document.training)




def _as_map(a):
    a = np.asarray(a)
    return a.reshape(1, -1, 1) if a.ndim == 1 else a
