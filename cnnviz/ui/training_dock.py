"""The training dock: what to learn from, how (loss, optimizer, learning rate, batch, epochs, validation
share, seed, frozen layers), the run's buttons and progress, the live plot, and the validation confusion
matrix after a classifier's run. The run itself is ui/training_run.py.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import ConfigError
from cnnviz.core.training import LOSSES, OPTIMIZERS
from cnnviz.io import SessionError
from cnnviz.io.training_sets import DATA_KINDS, TrainingSettings, load_training_data, missing_head, teacher_pipeline
from cnnviz.ui.backprop_view import BackpropView
from cnnviz.ui.list_rows import take_all_rows
from cnnviz.ui.training_plot import TrainingPlot
from cnnviz.ui.training_run import TrainingRun

CLASSIFIER_LOSS, TEACHER_LOSS = "sparse_categorical_crossentropy", "mean_squared_error"
DEFAULT_RATES = {"SGD": 0.05, "Adam": 0.01, "RMSprop": 0.005}
ERROR_STYLE, NOTE_STYLE = "color: #b00020;", "color: #333;"


WIDE_PX = 1100  # from this page width the settings, the run and the plot sit side by side


class TrainingDock(QWidget):
    def __init__(self, document, blocked_actions=(), parent=None):
        super().__init__(parent)
        self.document = document
        self.run = TrainingRun(document, blocked_actions, self)
        self.data = None
        self.initial_weights = None  # the weights before the first run on this data: Reset goes back here
        self._optimizer_state = None  # Trainer.optimizer_state() where the last run on this data ended
        self.ask_folder = lambda: QFileDialog.getExistingDirectory(self, "A folder with one sub-folder per class")
        self.folder: str | None = None

        # ---- what to learn from
        self.data_box = QComboBox()
        for key, text in DATA_KINDS.items():
            self.data_box.addItem(text, key)
        self.use_data = QPushButton("Use this data")
        self.use_data.setToolTip("Load the data; the pipeline's input takes its shape and shows its first example")
        self.data_note = QLabel()
        self.data_note.setWordWrap(True)
        self.add_head = QPushButton()
        self.add_head.hide()
        # ---- how
        self.loss = QComboBox()
        self.loss.addItems(list(LOSSES))
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setCurrentText("Adam")
        self.learning_rate = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=1000.0, singleStep=0.001,
                                            value=DEFAULT_RATES["Adam"])
        self.momentum = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.99, singleStep=0.05, value=0.9)
        self.batch_size = QSpinBox(minimum=1, maximum=4096, value=32)
        self.epochs = QSpinBox(minimum=1, maximum=1000, value=5)
        self.validation = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.2)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.layers = QListWidget()
        self.layers.setToolTip("Unticked layers are frozen: training leaves their weights as they are")
        self.layers.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.layers.setMaximumHeight(90)
        # ---- the run
        self.train_button = QPushButton("Train")
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step one batch")
        self.resume_button = QPushButton("Resume")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the weights before training on this data (one undo step)")
        self.settings_button = QPushButton("Hide settings")  # on a narrow page: the plot takes their room
        self.settings_button.setCheckable(True)
        self.settings_button.setChecked(True)
        self.settings_button.setToolTip("The settings can change only while no run is open; Train hides them on a "
                                        "narrow screen so that the plot gets the height")
        self.status = {key: QLabel("–") for key in ("epoch", "step", "loss", "accuracy", "speed", "left")}
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("trainingMessage")
        self.plot = TrainingPlot()
        self.confusion = QTableWidget()
        self.confusion.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.confusion_title = QLabel("Confusion matrix of the validation set (after a classifier's run)")
        self.confusion_title.setWordWrap(True)
        self._layout()
        self._connect()
        self._redraw = QTimer(self)  # the plot and the progress are redrawn at the snapshot rate, not every step
        self._redraw.setInterval(100)
        self._redraw.timeout.connect(self._redraw_progress)
        self._latest = None  # the last step's Progress, until the labels show it
        self._update_layers()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def hasHeightForWidth(self):  # noqa: N802 (Qt name)
        """No: its scroll area would make it as tall as its wrapped labels ask for the narrowest widths (745 px
        in a 253 px dock at 1366×768, the plot pushed out of view); its layout wraps them in the room it has."""
        return False

    def _layout(self):
        """Settings on the left; on the right the run's buttons beside its progress, over the plot: on a
        1366×768 screen all of it is in view at once (three columns side by side left the plot no room)."""
        data = QGroupBox("Learn from")
        form = QGridLayout(data)
        form.addWidget(self.data_box, 0, 0)
        form.addWidget(self.use_data, 0, 1)
        form.addWidget(self.data_note, 1, 0, 1, 2)
        form.addWidget(self.add_head, 2, 0, 1, 2)
        form.setColumnStretch(0, 1)
        how = QGroupBox("How")
        f = QGridLayout(how)  # two settings a row: the dock is short on a small screen
        pairs = (("Loss", self.loss), ("Optimizer", self.optimizer), ("Learning rate η", self.learning_rate),
                 ("Momentum", self.momentum), ("Batch size", self.batch_size), ("Epochs", self.epochs),
                 ("Validation share", self.validation), ("Seed", self.seed))
        for k, (name, widget) in enumerate(pairs):
            f.addWidget(QLabel(name), k // 2, 2 * (k % 2))
            f.addWidget(widget, k // 2, 2 * (k % 2) + 1)
            widget.setMinimumWidth(70)  # narrower than their widest value: the labels keep their words
        f.addWidget(QLabel("Layers that learn"), 4, 0)
        f.addWidget(self.layers, 4, 1, 1, 3)
        f.setVerticalSpacing(2)
        self.layers.setFlow(QListView.Flow.LeftToRight)  # the trainable layers in one row that wraps
        self.layers.setWrapping(True)
        self.layers.setMaximumHeight(2 * self.layers.fontMetrics().height() + 8)
        run = QWidget()  # no box: the buttons say what it is, and the plot needs the height
        r = QVBoxLayout(run)
        r.setContentsMargins(0, 0, 0, 0)
        r.setSpacing(2)
        buttons = QGridLayout()  # two rows: Train, Pause, Resume over Step one batch, Reset
        buttons.setSpacing(2)
        for b, row, col, span in ((self.train_button, 0, 0, 1), (self.pause_button, 0, 1, 1),
                                  (self.resume_button, 0, 2, 1), (self.step_button, 1, 0, 1),
                                  (self.reset_button, 1, 2, 1)):
            buttons.addWidget(b, row, col, 1, span)
        self._settings_slot = (buttons, 1, 1)  # beside Step one batch, on a narrow page only
        r.addLayout(buttons)
        numbers = QGridLayout()  # in pairs; the loss and the accuracy (with their validation values) a row each
        numbers.setVerticalSpacing(1)
        for key, label, row, col, span in (("epoch", "Epoch", 0, 0, 1), ("step", "Step", 0, 2, 1),
                                           ("loss", "Loss", 1, 0, 3), ("accuracy", "Accuracy", 2, 0, 3),
                                           ("speed", "Examples/s", 3, 0, 1), ("left", "Time left", 3, 2, 1)):
            numbers.addWidget(QLabel(label), row, col)
            numbers.addWidget(self.status[key], row, col + 1, 1, span)
            # the numbers change every step: their width must not make the dock (and the window) re-lay out
            self.status[key].setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        numbers.setColumnStretch(1, 1)
        numbers.setColumnStretch(3, 1)
        r.addLayout(numbers)
        r.addWidget(self.message)
        link = QLabel("The weights being learned are the filter's numbers, shared by every window: each step "
                      "moves every weight against its gradient, w ← w − η·∂L/∂w.")
        link.setWordWrap(True)
        link.setObjectName("lectureLink")
        link.setStyleSheet("color: #444; font-style: italic;")
        for combo in (self.data_box, self.loss, self.optimizer):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.views = QTabWidget()
        plot_page = QWidget()
        p = QHBoxLayout(plot_page)
        p.setContentsMargins(0, 0, 0, 0)
        p.addWidget(self.plot)
        r.addWidget(link)  # under the progress
        self.link = link
        self.views.setDocumentMode(True)
        confusion_page = QWidget()
        c = QVBoxLayout(confusion_page)
        c.setContentsMargins(0, 0, 0, 0)
        c.addWidget(self.confusion_title)
        c.addWidget(self.confusion, 1)
        self.views.addTab(plot_page, "Loss and accuracy")
        self.views.addTab(confusion_page, "Confusion matrix")
        self.settings_box = QWidget()
        left = QVBoxLayout(self.settings_box)
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(2)
        left.addWidget(data)
        left.addWidget(how)
        left.addStretch(1)
        self.run_box = run
        self.views.setMinimumHeight(90)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(4, 2, 4, 2)
        self._grid.setSpacing(4)
        self.settings_box.setMaximumWidth(370)
        for box in (form, f):
            box.setContentsMargins(6, 2, 6, 2)
        self._arrangement = None
        self._arrange()

    def resizeEvent(self, event):  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self):
        """Wide (WIDE_PX and more): settings | buttons and progress | plot, side by side at full height. Narrow:
        the settings beside the buttons, progress and the plot under them; or, with the settings hidden
        (Train hides them), the buttons and progress beside a plot of the page's full height."""
        wide = self.width() >= WIDE_PX
        shown = wide or self.settings_button.isChecked()
        arrangement = "wide" if wide else "narrow" if shown else "hidden"
        if arrangement == self._arrangement:
            return
        self._arrangement = arrangement
        grid = self._grid
        for widget in (self.settings_box, self.run_box, self.views):
            grid.removeWidget(widget)
        for column in range(3):
            grid.setColumnStretch(column, 0)
        buttons, row, col = self._settings_slot
        self.settings_button.setVisible(not wide)
        if not wide and buttons.indexOf(self.settings_button) < 0:
            buttons.addWidget(self.settings_button, row, col)
        self.settings_box.setVisible(shown)
        # Narrow with the settings shown, the link has no room: beside the plot it squeezed the axes' ticks into
        # one another, under the progress it took the plot's height. The Backpropagation page states it too.
        self.link.setVisible(arrangement != "narrow")
        self.run_box.setMaximumWidth(420 if arrangement != "narrow" else 16777215)
        self.run_box.setMinimumWidth(320 if arrangement == "wide" else 0)  # "Step 540 (36/45)" whole
        if arrangement == "wide":
            grid.addWidget(self.settings_box, 0, 0)
            grid.addWidget(self.run_box, 0, 1, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(self.views, 0, 2)
            grid.setColumnStretch(2, 1)
        elif arrangement == "narrow":
            grid.addWidget(self.settings_box, 0, 0, 2, 1)
            grid.addWidget(self.run_box, 0, 1)
            grid.addWidget(self.views, 1, 1)
            grid.setColumnStretch(1, 1)
        else:
            grid.addWidget(self.run_box, 0, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(self.views, 0, 1)
            grid.setColumnStretch(1, 1)
        for r in range(2):
            grid.setRowStretch(r, 1 if arrangement == "narrow" and r == 1 else 0)

    def _toggle_settings(self, shown: bool):
        self.settings_button.setText("Hide settings" if shown else "Show settings")
        self._arrange()

    def _connect(self):
        self.use_data.clicked.connect(self.choose_data)
        self.add_head.clicked.connect(self.add_classifier_head)
        self.optimizer.currentTextChanged.connect(self._optimizer_changed)
        self.train_button.clicked.connect(self.train)
        self.settings_button.toggled.connect(self._toggle_settings)
        self.pause_button.clicked.connect(self.run.pause)
        self.step_button.clicked.connect(self.step)
        self.resume_button.clicked.connect(self.run.resume)
        self.reset_button.clicked.connect(self.reset)
        self.run.progressed.connect(self._on_progress)
        self.run.stateChanged.connect(self._on_state)
        self.run.ended.connect(self._on_ended)
        self.run.interrupted.connect(self.show_message)  # an edit paused the run: how to go on
        self.document.structureChanged.connect(self._update_layers)
        self.document.layerChanged.connect(lambda _: self._update_layers())

    # ------------------------------------------------------------------ settings
    def settings(self) -> TrainingSettings:
        frozen = tuple(i for i, item in self._layer_items() if item.checkState() != Qt.CheckState.Checked)
        return TrainingSettings(
            data=self.data_box.currentData(), folder=self.folder, loss=self.loss.currentText(),
            optimizer=self.optimizer.currentText(), learning_rate=float(self.learning_rate.value()),
            momentum=float(self.momentum.value()), batch_size=self.batch_size.value(), epochs=self.epochs.value(),
            validation_split=float(self.validation.value()), seed=self.seed.value(), frozen=frozen,
            class_names=self.document.class_names)

    def apply_settings(self, s: TrainingSettings):
        self.data_box.setCurrentIndex(max(0, self.data_box.findData(s.data)))
        self.folder = s.folder
        self.loss.setCurrentText(s.loss)
        self.optimizer.setCurrentText(s.optimizer)
        self.learning_rate.setValue(s.learning_rate)
        self.momentum.setValue(s.momentum)
        self.batch_size.setValue(s.batch_size)
        self.epochs.setValue(s.epochs)
        self.validation.setValue(s.validation_split)
        self.seed.setValue(s.seed)
        for i, item in self._layer_items():
            item.setCheckState(Qt.CheckState.Unchecked if i in s.frozen else Qt.CheckState.Checked)
        self.document.set_class_names(s.class_names)

    def _optimizer_changed(self, name):
        self.learning_rate.setValue(DEFAULT_RATES.get(name, self.learning_rate.value()))
        self.momentum.setEnabled(name in ("SGD", "RMSprop"))

    def _layer_items(self):
        for row in range(self.layers.count()):
            item = self.layers.item(row)
            yield item.data(Qt.ItemDataRole.UserRole), item

    def _update_layers(self):
        frozen = {i for i, item in self._layer_items() if item.checkState() != Qt.CheckState.Checked}
        take_all_rows(self.layers)
        for i, layer in enumerate(self.document.pipeline.layers, start=1):
            if not getattr(layer, "TRAINABLE", False):
                continue
            item = QListWidgetItem(f"{i}. {layer.label}", self.layers)  # owned by the list from the start
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if i in frozen else Qt.CheckState.Checked)

    # ------------------------------------------------------------------ data
    def choose_data(self) -> bool:
        """Load the chosen data; the input takes its shape (and shows its first example)."""
        kind = self.data_box.currentData()
        if kind == "folder":
            folder = self.ask_folder()
            if not folder:
                return False
            self.folder = folder
        self.run.stop("cancelled", "")
        doc = self.document
        try:
            data = load_training_data(kind, doc.pipeline, self.folder, seed=self.seed.value())
            if data.input_shape != doc.input.shape or not np.array_equal(data.x[0], doc.input):
                doc.set_input(data.x[0], text=f"Input from the {kind} data")
        except (ConfigError, SessionError) as e:
            self.show_message(f"The pipeline cannot take this data: {e}", error=True)
            return False
        self.data = data
        self.initial_weights = None
        doc.set_class_names(data.class_names)
        self._optimizer_state = None
        self.run.forget()
        self.plot.clear()
        self.loss.setCurrentText(CLASSIFIER_LOSS if data.classification else TEACHER_LOSS)
        self.data_note.setText(data.describe())
        self._check_head()
        self._show_confusion(None)
        return True

    def _check_head(self):
        why = missing_head(self.document.pipeline, len(self.data.class_names)) if (
            self.data is not None and self.data.classification) else None
        self.add_head.setVisible(why is not None)
        if why:
            classes = len(self.data.class_names)
            vector = len(self.document.level_shape(len(self.document.pipeline.layers))) == 1
            self.add_head.setText(f"Add {'' if vector else 'Flatten → '}Dense({classes}, softmax)")
            self.show_message(why, error=True)
        else:
            self.show_message("")
        return why

    def add_classifier_head(self):
        doc = self.document
        classes = len(self.data.class_names)
        end = len(doc.pipeline.layers)
        stack = doc.undo_stack
        stack.beginMacro(f"Add a classifier head of {classes} classes")
        try:
            if len(doc.level_shape(end)) != 1:
                end = doc.add_layer("Flatten", end)
            end = doc.add_layer("Dense", end)
            doc.set_layer_param(end, "units", classes)
            doc.set_layer_param(end, "activation", "softmax")
        finally:
            stack.endMacro()
        doc.flush()
        self._check_head()

    # ------------------------------------------------------------------ the run
    def train(self) -> bool:
        if self.data is None and not self.choose_data():
            return False
        if self._check_head():
            return False
        try:
            if self.initial_weights is None:
                self.initial_weights = self.document.all_weights()
            self.run.start(self.data, self.settings())
        except ConfigError as e:
            self.show_message(str(e), error=True)
            return False
        self.show_message("")
        self._redraw.start()
        self.settings_button.setChecked(False)  # on a narrow page the plot gets their room while it trains
        return True

    def step(self):
        if self.run.active:
            self.run.step()
        elif self.train():
            self.run.step()

    def reset(self):
        if self.initial_weights is None:
            return
        self.run.stop("cancelled", "")
        doc = self.document
        before = doc.all_weights()
        doc.show_trained_weights(self.initial_weights)
        doc.commit_training(before, "Reset to the weights before training")
        self._optimizer_state = None
        self.show_message("Back to the weights before training (Undo brings the trained ones back).")

    def optimizer_state(self) -> dict | None:
        """The optimizer's state (its step count and slots, by layer) where the open run last paused, else
        where the last run on this data ended, for the backward step-through's update; None before a run,
        after Reset or new data."""
        if self.run.active and self.run.optimizer_state is not None:
            return self.run.optimizer_state
        return self._optimizer_state

    def target_for(self, x):
        """What input `x` should give under the teacher task, chosen or already loaded: the teacher needs no
        examples to know it, so the filter that learns shows its gradients as it opens (None for other data:
        a classifier's target is a class the Backpropagation dock asks for)."""
        teacher = self.data_box.currentData() == "teacher" if self.data is None else not self.data.classification
        if not teacher:
            return None
        try:
            return teacher_pipeline(self.document.pipeline).run(x)[-1]
        except ConfigError:
            return None

    def show_message(self, text: str, error: bool = False):
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)

    def _on_progress(self, p):
        step = self.run.step_offset + p.step
        self.plot.add(step, p)
        self._latest = step, p

    def _redraw_progress(self):
        self.plot.redraw()
        self._show_status()

    def _show_status(self):
        """The labels of the last step (each text set re-lays the dock out: once a redraw, not once a step)."""
        latest, self._latest = self._latest, None
        if latest is None:
            return
        step, p = latest
        total = p.steps_per_epoch * self.epochs.value()
        self.status["epoch"].setText(f"{p.epoch} of {self.epochs.value()}")
        # short enough to read whole beside the plot at 1366 px ("540 (batch 45 of 45)" was cut); the tooltip says it
        self.status["step"].setText(f"{step} ({p.batch}/{p.steps_per_epoch})")
        self.status["step"].setToolTip(f"Step {step} of the run: batch {p.batch} of this epoch's {p.steps_per_epoch}")
        val = "" if p.val_loss is None else f"   validation {p.val_loss:.4g}"
        self.status["loss"].setText(f"{p.loss:.4g}{val}")
        acc = p.metrics.get("accuracy")
        val_acc = p.val_metrics.get("accuracy")
        self.status["accuracy"].setText("–" if acc is None else f"{100 * acc:.1f} %" + (
            "" if val_acc is None else f"   validation {100 * val_acc:.1f} %"))
        self.status["speed"].setText(f"{p.examples_per_second:,.0f}")
        done = (p.epoch - 1) * p.steps_per_epoch + p.batch
        left = p.elapsed / done * (total - done) if done else math.nan
        self.status["left"].setText("–" if not math.isfinite(left) else f"{left:.1f} s")

    def _on_state(self, state):
        self._show_status()  # a pause or a single step shows where it stopped at once
        self._update_buttons()

    def _update_buttons(self):
        state = self.run.state
        self.train_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.step_button.setEnabled(state != "running")
        self.reset_button.setEnabled(state != "running")
        for widget in (self.data_box, self.use_data, self.loss, self.optimizer, self.learning_rate, self.momentum,
                       self.batch_size, self.epochs, self.validation, self.seed, self.layers):
            widget.setEnabled(state == "idle")
        if state == "paused":
            self.show_message("Paused: Step runs one batch, Resume goes on.")

    def _on_ended(self, reason, message):
        self._redraw.stop()
        self._optimizer_state = self.run.optimizer_state  # Trainer.optimizer_state() where the run ended
        self._redraw_progress()
        if reason == "diverged":
            self.show_message(message, error=True)
        elif reason in ("interrupted", "error"):
            self.show_message(message, error=reason == "error")
        elif reason == "done":
            self.show_message(f"Done: {self.run.step_offset} steps. Undo takes the whole run back.")
        self._show_confusion(self.run.confusion)

    def _show_confusion(self, matrix):
        table = self.confusion
        if matrix is None:
            table.setRowCount(0)
            table.setColumnCount(0)
            return
        names = list(self.data.class_names)
        table.setRowCount(len(names))
        table.setColumnCount(len(names))
        table.setHorizontalHeaderLabels([f"→{n}" for n in names])
        table.setVerticalHeaderLabels(names)
        top = max(1, int(matrix.max()))
        for i in range(len(names)):
            for j in range(len(names)):
                item = QTableWidgetItem(str(int(matrix[i, j])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = matrix[i, j] / top
                colour = QColor(40, 120, 60) if i == j else QColor(190, 40, 40)
                colour.setAlphaF(0.15 + 0.6 * share if matrix[i, j] else 0.0)
                item.setBackground(colour)
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
        total = int(matrix.sum())
        right = int(np.trace(matrix))
        self.confusion_title.setText(f"Validation: {right} of {total} right ({100 * right / max(total, 1):.1f} %); "
                                     "rows: true class, columns: predicted")


def install_training_dock(window) -> TrainingDock:
    """The Training dock beside the arithmetic docks; closing the window during a run asks first."""
    from PySide6.QtWidgets import QMessageBox

    a = window.action_set
    dock = TrainingDock(window.document, (a.undo, a.redo))
    area = QScrollArea()  # the dock scrolls below its minimum instead of widening a small screen's window
    holder = QWidget()  # a scroll area asks its widget's own layout for a height for its width: not the dock's
    QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
    holder.layout().addWidget(dock)
    area.setWidget(holder)
    area.setWidgetResizable(True)
    area.setMinimumSize(320, 160)
    window.add_panel("learning", "training", "Training", area)  # the "Learning" group's pages (panel_groups.py)

    def ask() -> bool:
        buttons = QMessageBox.StandardButton
        return QMessageBox.question(window, "Training is running", "Stop training and close the window? What it "
                                    "learned so far stays in the weights.", buttons.Yes | buttons.No,
                                    buttons.No) == buttons.Yes

    dock.ask_stop = ask

    def keep_undo_off(*_):
        """The stack turns Undo and Redo back on with every step pushed (a paint stroke during a run): while a
        run is open they stay off, in the menu and on the toolbar (the run turns them on as it ends)."""
        if dock.run.active:
            a.undo.setEnabled(False)
            a.redo.setEnabled(False)

    stack = window.document.undo_stack
    for signal in (stack.canUndoChanged, stack.canRedoChanged, dock.run.stateChanged):
        signal.connect(keep_undo_off)  # after the actions' own connections: this one has the last word

    def guard() -> bool:
        if not dock.run.active:
            return True
        if not dock.ask_stop():
            return False
        dock.run.stop("cancelled", "")
        return True

    backprop = BackpropView(window.document, dock.settings, dock.target_for, dock.optimizer_state)
    window.add_panel("learning", "backprop", "Backpropagation", backprop)
    window.backprop_view = backprop
    dock.data_box.currentIndexChanged.connect(lambda _: backprop.mark_changed())  # the target follows the choice
    backprop.stepper.export_action.triggered.connect(lambda: window.file_actions.export_animation(backprop.stepper))

    window.close_guards.insert(0, guard)  # before the unsaved-work prompt: the run is then one saved edit
    window.training_dock = dock
    return dock
