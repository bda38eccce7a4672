"""The input grid: paint the pixels the network sees, pick a channel, resize, load examples."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import INPUT_EXAMPLES, ConfigError, example_input
from cnnviz.ui import settings
from cnnviz.ui.cell_editing import CELL_EDIT_HELP, CellEditing
from cnnviz.ui.channel_change import SPREAD, ask_channel_change, first_kernel_layer, resized_input
from cnnviz.ui.colormaps import GREYS, format_value, input_levels
from cnnviz.ui.heatmap import ColorBar, Heatmap
from cnnviz.ui.texts import shape_text

MAX_SIDE = 256
MAX_CHANNELS = 8
RGB = -1  # channel selector value for the colour view of a 3-channel input


class InputGrid(QWidget):
    hoverText = Signal(str)

    ask_channels = staticmethod(ask_channel_change)  # tests answer it without a modal box

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("inputGrid")
        self.document = document
        self.channel = 0

        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.brush = QDoubleSpinBox(objectName="brushValue")
        self.brush.setRange(-1000.0, 1000.0)
        self.brush.setDecimals(3)
        self.brush.setSingleStep(0.1)
        self.brush.setValue(settings.preference("input/brush"))
        self.brush.setMaximumWidth(90)
        self.brush.setToolTip("Brush: the value a left-drag paints. Right-drag (or Shift+drag) paints 0.")
        self.brush.valueChanged.connect(lambda v: settings.set_preference("input/brush", v))
        self.channel_box = QComboBox(objectName="channelSelector")
        self.channel_box.setToolTip("Which channel of the input to show and paint (RGB: all three at once)")
        self.channel_box.activated.connect(self._channel_chosen)

        buttons = QHBoxLayout()
        for text, slot, tip in (
            ("Fill", self.fill, "Set every cell of the shown channel to the brush value"),
            ("Clear", self.clear, "Set every input cell to 0"),
            ("Invert", self.invert, "Black ↔ white: each value v becomes (max + min) − v, over at least 0..1"),
            ("Random", self.randomize, "Random values between 0 and 1"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setMaximumWidth(64)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        self.examples = QComboBox(objectName="exampleInputs")
        self.examples.addItem("Example…")
        self.examples.addItems([name.capitalize() for name in INPUT_EXAMPLES])
        self.examples.setToolTip("Load an example picture at the current size")
        self.examples.activated.connect(self._example_chosen)

        self.size_boxes = []
        sizes = QHBoxLayout()
        sizes.addWidget(QLabel("Size"))
        for name, top, tip in (
            ("rows", MAX_SIDE, "Rows (height) of the input"),
            ("cols", MAX_SIDE, "Columns (width) of the input"),
            ("channels", MAX_CHANNELS, "Channels (depth): 1 for grey, 3 for RGB"),
        ):
            box = QSpinBox(objectName=f"input_{name}")
            box.setRange(1, top)
            box.setKeyboardTracking(False)
            box.setToolTip(tip + ". Resizing keeps the values that still fit.")
            box.valueChanged.connect(self._resize_requested)
            self.size_boxes.append(box)
            if sizes.count() > 1:
                sizes.addWidget(QLabel("×"))
            sizes.addWidget(box)
        sizes.addStretch(1)
        sizes.addWidget(self.examples)
        self.message = QLabel(objectName="inputMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()

        self.heatmap = Heatmap()
        self.heatmap.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.heatmap.setMinimumSize(160, 160)
        self.heatmap.setToolTip(CELL_EDIT_HELP)
        self.colorbar = ColorBar()
        self.editing = CellEditing(self.heatmap, self._write, self.brush.value, self._read)
        self.heatmap.cellHovered.connect(self._hover)

        top = QGridLayout()
        top.addWidget(QLabel("Brush"), 0, 0)
        top.addWidget(self.brush, 0, 1)
        top.addWidget(QLabel("Channel"), 0, 2)
        top.addWidget(self.channel_box, 0, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.title)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addLayout(sizes)
        layout.addWidget(self.message)
        maps = QHBoxLayout()
        maps.addWidget(self.heatmap, 1)
        maps.addWidget(self.colorbar)
        layout.addLayout(maps, 1)

        document.inputChanged.connect(self.refresh)  # a new input shape comes with it: layer edits never touch the input
        document.probeChanged.connect(self._on_probe)
        self.refresh()

    # ------------------------------------------------------------------ view
    def refresh(self):
        x = self.document.input
        h, w, c = x.shape
        self.title.setText(f"Input image {shape_text(x.shape)}  (rows × cols × channels)")
        for box, v in zip(self.size_boxes, x.shape):
            if box.value() != v:
                box.blockSignals(True)
                box.setValue(v)
                box.blockSignals(False)
        self._fill_channel_box(c)
        levels = input_levels(x)
        if self.channel == RGB:
            self.heatmap.set_data(x[:, :, :3], levels, None)
        else:
            self.heatmap.set_data(x[:, :, self.channel], levels, GREYS)
        self.colorbar.set_levels(levels, GREYS)
        self.colorbar.setVisible(self.channel != RGB)  # a grey ramp says nothing about colours
        if self.editing.cursor is not None and not (self.editing.cursor[0] < h and self.editing.cursor[1] < w):
            self.editing.set_cursor(None)
        self._on_probe(self.document.probe)
        hovered = getattr(self, "_hovered", None)
        if hovered is not None and hovered[0] < h and hovered[1] < w:  # the status bar says the value just painted
            self._hover(*hovered)

    def _fill_channel_box(self, channels: int):
        wanted = [(f"{i + 1}" + (f" ({'RGB'[i]})" if channels == 3 else ""), i) for i in range(channels)]
        if channels == 3:
            wanted.append(("RGB", RGB))  # the colour view of all three (the tooltip says so)
        box = self.channel_box
        current = [(box.itemText(i), box.itemData(i)) for i in range(box.count())]
        if current != wanted:
            self.channel_box.blockSignals(True)
            self.channel_box.clear()
            for text, data in wanted:
                self.channel_box.addItem(text, data)
            self.channel_box.blockSignals(False)
        if self.channel != RGB and self.channel >= channels or (self.channel == RGB and channels != 3):
            self.channel = 0
        self.channel_box.setCurrentIndex(self.channel_box.findData(self.channel))
        self.channel_box.setEnabled(channels > 1)

    def set_channel(self, channel: int):
        self.channel = channel
        self.refresh()

    def _channel_chosen(self, index: int):
        self.set_channel(self.channel_box.itemData(index))

    def set_show_values(self, show: bool):
        self.heatmap.set_show_values(show)

    def _on_probe(self, probe):
        mask = probe.fields.get(0) if probe is not None else None
        if mask is not None and mask.shape == self.document.input.shape:
            mask = mask.any(axis=2) if self.channel == RGB else mask[:, :, self.channel]
        else:
            mask = None
        self.heatmap.set_highlight(mask)

    def _hover(self, r, c):
        self._hovered = (r, c) if r >= 0 else None
        if r < 0:
            self.hoverText.emit("")
            return
        if self.channel == RGB:
            rgb = ", ".join(format_value(v) for v in self.document.input[r, c, :3])
            self.hoverText.emit(f"Input: row {r + 1}, col {c + 1}: R, G, B = {rgb}    (array index [{r}, {c}, :])")
            return
        ch = self.channel
        v = self.document.input[r, c, ch]
        self.hoverText.emit(
            f"Input: row {r + 1}, col {c + 1}, channel {ch + 1} = {format_value(v)}    (array index [{r}, {c}, {ch}])"
        )

    # ------------------------------------------------------------------ edits
    def _channels(self):
        return range(self.document.input.shape[2]) if self.channel == RGB else (self.channel,)

    def _write(self, cells, value, stroke_id):
        self.document.paint_cells([(r, c, ch) for r, c in cells for ch in self._channels()], value, stroke_id)

    def _read(self, r, c):
        return self.document.input[r, c, 0 if self.channel == RGB else self.channel]

    def fill(self):
        x = self.document.input.copy()
        for ch in self._channels():
            x[:, :, ch] = self.brush.value()
        self.document.set_input(x, "Fill input")

    def clear(self):
        self.document.set_input(np.zeros_like(self.document.input), "Clear input")

    def invert(self):
        """Flip within the greys' range (at least 0..1): black ↔ white, also for a blank image."""
        x = self.document.input
        lo, hi = input_levels(x)
        self.document.set_input((lo + hi - x).astype(np.float32), "Invert input")

    def randomize(self):
        x = np.random.default_rng().random(self.document.input.shape, dtype=np.float32)
        self.document.set_input(x, "Random input")

    def load_example(self, name: str):
        self.document.set_input(example_input(name, self.document.input.shape), f"Example input: {name}")

    def _example_chosen(self, index: int):
        if index > 0:
            self.load_example(INPUT_EXAMPLES[index - 1])
        self.examples.setCurrentIndex(0)

    def resize_input(self, shape, answer: str | None = None):
        """New (H, W, C) keeping the values that fit; refused with a message if a layer cannot take it.

        A new channel count asks first (or takes `answer`) whether the first filters keep their weights or
        spread them; cancelled, nothing changes."""
        old = self.document.input
        layer = first_kernel_layer(self.document)
        spread = False
        if shape[2] != old.shape[2] and layer is not None:
            answer = answer or self.ask_channels(layer, old.shape[2], shape[2], self)
            if answer is None:
                self.refresh()  # the size boxes go back to the input's shape
                return False
            spread = answer == SPREAD
        new = resized_input(old, shape, copy_picture=spread)
        try:
            self.document.set_input(new, f"Resize input to {shape_text(shape)}", spread=spread)
        except ConfigError as exc:
            self.message.setText(f"Size {shape_text(shape)} refused: {exc}")
            self.message.show()
            self.refresh()
            return False
        self.message.hide()
        return True

    def _resize_requested(self):
        shape = tuple(box.value() for box in self.size_boxes)
        if shape != self.document.input.shape:
            self.resize_input(shape)
