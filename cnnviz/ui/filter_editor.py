"""The filter editor: every filter of the selected Conv2D / Conv2DTranspose / DepthwiseConv2D, every slice.

A Conv2D filter is kh×kw×C (the lecture's "a filter is 3-D"): one row per filter shows its C slices side
by side joined by "+", then its bias, because the layer adds the per-channel inner products and the bias.
A DepthwiseConv2D is the other side of that idea: one 2-D filter per input channel (depth_multiplier of
them), each making its own map, nothing added across channels; each row shows one slice and the channel it
reads. Slices are painted like the input grid; hovering a weight lights every input cell it multiplies.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import FILTER_PRESETS, ConfigError, Conv2D, filter_preset
from cnnviz.ui.cell_editing import CELL_EDIT_HELP, CellEditing
from cnnviz.ui.colormaps import DIVERGING, format_value, symmetric_levels
from cnnviz.ui.heatmap import ColorBar, Heatmap
from cnnviz.ui.pipeline_panel import PairEdit
from cnnviz.ui.texts import pair_text

READABLE_CELL_PX = 24.0  # below this a cell has no room for its number: the slices wrap instead


def sliding_kernel(layer):
    """The layer's kernel description when it has filters to draw (rows × cols × two channel axes), else None."""
    specs = layer.weight_specs()
    return specs[0] if specs and specs[0].name == "kernel" and len(specs[0].axes) == 4 else None


def is_depthwise(layer) -> bool:
    """One 2-D filter per input channel: the kernel's last axis counts filters per channel (Keras's layout)."""
    return sliding_kernel(layer).axes[3] == "multiplier"


def weight_index(layer, filt: int, channel: int, r, c) -> tuple:
    """Kernel index (Keras layout) of cell (r, c) of input-channel slice `channel` of filter (output map) `filt`:
    Conv2D (kh, kw, in, out), Conv2DTranspose (kh, kw, out, in), DepthwiseConv2D (kh, kw, in, multiplier)
    whose map in·m + k is made by filter k of channel in."""
    return kernel_indexer(layer)(filt, channel, r, c)


def kernel_indexer(layer):
    """weight_index for one layer, its kernel layout read once: (filt, channel, r=all, c=all) -> index."""
    in_axis = sliding_kernel(layer).in_axis
    multiplier = layer.depth_multiplier if is_depthwise(layer) else None

    def index(filt: int, channel: int, r=slice(None), c=slice(None)) -> tuple:
        parts = [r, c, None, None]
        parts[in_axis] = channel
        parts[5 - in_axis] = filt if multiplier is None else filt % multiplier
        return tuple(parts)

    return index


def filter_slice(kernel: np.ndarray, layer, filt: int, channel: int) -> np.ndarray:
    return kernel[weight_index(layer, filt, channel, slice(None), slice(None))]


def filter_channels(layer, kernel) -> list[list[int]]:
    """The input channels each filter (output map) has a slice for: all of them, or (depthwise) its own one."""
    in_axis = sliding_kernel(layer).in_axis
    if is_depthwise(layer):
        return [[o // kernel.shape[3]] for o in range(kernel.shape[2] * kernel.shape[3])]
    return [list(range(kernel.shape[in_axis]))] * kernel.shape[5 - in_axis]


def held_preset(layer, o: int) -> str | None:
    """The preset every channel slice of filter `o` equals ("random" is no shape to recognise), or None."""
    slices = np.take(layer.get_weights()[0], o, axis=5 - sliding_kernel(layer).in_axis)  # (kh, kw, channels)
    for name in FILTER_PRESETS:
        if name != "random" and np.array_equal(slices, np.broadcast_to(
                _preset(name, tuple(layer.kernel_size))[:, :, None], slices.shape)):
            return name
    return None


@lru_cache(maxsize=64)
def _preset(name: str, size: tuple) -> np.ndarray:
    """filter_preset made once a size: a training run asks after every snapshot (ten presets, 1 ms a time)."""
    kernel = filter_preset(name, size)
    kernel.setflags(write=False)
    return kernel


class SliceView(QWidget):
    """One kh×kw slice: caption and heatmap."""

    def __init__(self, filt: int, channel: int, caption: str, parent=None):
        super().__init__(parent)
        self.filt, self.channel = filt, channel
        self.heatmap = Heatmap()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        if caption:
            label = QLabel(caption)
            label.setStyleSheet("color: #555; font-size: 11px;")
            box.addWidget(label)
        box.addWidget(self.heatmap)


class FilterEditor(QWidget):
    hoverText = Signal(str)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("filterEditor")
        self.document = document
        self.selected_filter = 0
        self.show_values = True
        self.slices: list[SliceView] = []
        self.bias_boxes: list[QDoubleSpinBox] = []
        self._key = None
        self._shown = None  # what the editor last showed (_showing): a layer edit that keeps it refreshes nothing
        self._values_shown = None  # (kernel, levels) the slices were last given
        self._lines_key = None  # (channels, slices per line) the grid was built for
        # (key, slices, bias boxes) of the grid hidden while a layer without filters is selected: selecting the
        # same convolution again shows it instead of building it anew (its widgets took two thirds of a selection)
        self._hidden_grid = None

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold;")
        self.brush = QDoubleSpinBox(objectName="weightBrush")
        self.brush.setRange(-1000, 1000)
        self.brush.setDecimals(3)
        self.brush.setSingleStep(0.5)
        self.brush.setValue(1.0)
        self.brush.setMaximumWidth(90)
        self.brush.setToolTip("The weight a left-drag paints into a filter; right-drag paints 0")
        self.preset = QComboBox(objectName="filterPreset")
        self.preset.addItems([name.capitalize() for name in FILTER_PRESETS])
        self.preset.setMaximumWidth(130)
        # It names a preset only while the selected filter holds one; a painted or trained filter reads "custom"
        self.preset.setPlaceholderText("custom: pick…")
        self.preset.setToolTip("A ready-made filter for the selected filter (every channel slice). It names the "
                               "preset the filter holds, if any; pick one and Apply to put it in.")
        apply_preset = self.apply_button = QPushButton("Apply")
        apply_preset.setMaximumWidth(60)
        apply_preset.setToolTip("Put the chosen preset into the selected filter")
        apply_preset.clicked.connect(lambda: self.apply_preset(FILTER_PRESETS[self.preset.currentIndex()]))
        self.preset.currentIndexChanged.connect(lambda i: apply_preset.setEnabled(i >= 0))
        self.kernel_size = PairEdit(minimum=0, maximum=64)
        self.kernel_size.setObjectName("kernelSize")
        self.kernel_size.setToolTip(Conv2D.param("kernel_size").help)
        self.kernel_size.edited.connect(self.set_kernel_size)

        tools = QGridLayout()
        tools.addWidget(QLabel("Kernel"), 0, 0)
        tools.addWidget(self.kernel_size, 0, 1)
        tools.addWidget(QLabel("Brush"), 1, 0)
        tools.addWidget(self.brush, 1, 1)
        preset_label = QLabel("Preset")
        tools.addWidget(preset_label, 2, 0)
        tools.addWidget(self.preset, 2, 1)
        tools.addWidget(apply_preset, 2, 2)
        self.preset_widgets = (preset_label, self.preset, apply_preset)  # presets fill a Conv2D filter's slices
        tools.setColumnStretch(3, 1)
        self.filter_tools = QWidget()  # filter count edits: not for a depthwise layer (its depth_multiplier sets it)
        filter_buttons = QHBoxLayout(self.filter_tools)
        filter_buttons.setContentsMargins(0, 0, 0, 0)
        filter_buttons.addWidget(QLabel("Filter"))
        for text, slot, tip in (
            ("Add", self.add_filter, "Add a filter (one more output map)"),
            ("Remove", self.remove_filter, "Remove the selected filter"),
            ("↑", lambda: self.move_filter(-1), "Move the selected filter up (its map moves too)"),
            ("↓", lambda: self.move_filter(+1), "Move the selected filter down"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setMaximumWidth(60 if len(text) > 1 else 30)
            button.clicked.connect(slot)
            filter_buttons.addWidget(button)
        filter_buttons.addStretch(1)
        self.controls = QWidget()
        controls = QVBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(tools)
        controls.addWidget(self.filter_tools)

        self.message = QLabel(objectName="filterMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        self.grid_widget = QWidget()
        self.grid = QGridLayout(self.grid_widget)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.grid.setHorizontalSpacing(6)
        self.grid_scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.grid_widget)
        self.colorbar = ColorBar()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.controls)
        layout.addWidget(self.message)
        body = QHBoxLayout()
        body.addWidget(scroll, 1)
        self.colorbar.setFixedHeight(200)
        body.addWidget(self.colorbar, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(body, 1)

        document.selectionChanged.connect(self.refresh)
        document.structureChanged.connect(self.refresh)
        document.layerChanged.connect(self._on_layer)
        document.weightsChanged.connect(self._on_weights)
        document.probeChanged.connect(self._on_probe)
        self.refresh()

    # ------------------------------------------------------------------ state
    @property
    def layer_index(self) -> int:
        return self.document.selected_layer

    def layer(self):
        i = self.layer_index
        if i < 1 or i > len(self.document.pipeline.layers):
            return None
        layer = self.document.layer(i)
        return layer if sliding_kernel(layer) is not None and layer.built else None

    def _on_layer(self, index: int):
        """Layer `index`'s config changed: the selected layer's own, or an earlier one's that may give it other
        input channels (and so other filters). A stride, padding or activation leaves the filters as they were:
        then nothing here is refreshed (the filters, the title, the kernel size and the preset stay right)."""
        if index > self.layer_index:
            return
        self.message.hide()  # a refusal of the edit before is stale
        if self._shown != self._showing(self.layer()):
            self.refresh()

    def _showing(self, layer):
        """What the editor shows of `layer`: its filters' layout, title and kernel size, and its weights."""
        if layer is None:
            return None
        return (self.layer_index, layer.label, self._key_of(layer), layer.kernel_size,
                getattr(layer, "depth_multiplier", None), [(w.shape, w.tobytes()) for w in layer.get_weights()])

    def _key_of(self, layer):
        return (self.layer_index, type(layer).__name__, layer.get_weights()[0].shape, layer.use_bias)

    def _on_weights(self, index: int):
        """A weight edit: the same slices get new values (nothing is rebuilt, the message stays)."""
        layer = self.layer()
        if index == self.layer_index and layer is not None and self.slices:
            self._update_values(layer, layer.get_weights()[0], self._values_shown)
            self._shown = self._showing(layer)
            self._rehover()
            self._show_preset()

    def refresh(self):
        self.message.hide()  # the pipeline or the selection changed since a refusal: its message is stale
        layer = self.layer()
        if layer is None:
            self._show_nothing()
            return
        kernel = layer.get_weights()[0]
        channels = filter_channels(layer, kernel)
        n_filters, n_channels = len(channels), kernel.shape[2] if is_depthwise(layer) else len(channels[0])
        self.selected_filter = min(self.selected_filter, n_filters - 1)
        key = self._key_of(layer)
        if key != self._key and not self._show_hidden_grid(key, layer, len(channels[0])):
            self._build(layer, kernel, channels)
            self._key = key
        self.controls.show()
        self.filter_tools.setVisible(not is_depthwise(layer))
        for widget in self.preset_widgets:
            widget.setVisible(not is_depthwise(layer))
        self._show_preset()
        self.kernel_size.set_value(layer.kernel_size)
        kh, kw = layer.kernel_size
        plural = "s" if n_filters > 1 else ""
        if is_depthwise(layer):
            m = layer.depth_multiplier
            text = (f"{n_filters} filter{plural}, each {kh}×{kw}×1: one 2-D filter per input channel "
                    f"({m} per channel), map k reads input channel ⌊k/{m}⌋ only, and nothing is added across channels. "
                    f"(A Conv2D filter is {kh}×{kw}×{n_channels}: its {n_channels} slices' inner products are added "
                    f"into one map.)")
        elif sliding_kernel(layer).in_axis == 2:  # a Conv2D filter: its slices are added
            text = f"{n_filters} filter{plural}, each {kh}×{kw}×{n_channels} (rows × cols × input channels)"
        else:
            text = (f"{n_filters} output map{plural}; each input cell scatters a {kh}×{kw} kernel slice per "
                    f"input channel ({n_channels}) into each output map")
        self.title.setText(f"{layer.label}: {text}")
        self._update_values(layer, kernel)
        self._shown = self._showing(layer)
        self._rehover()

    def _rehover(self):
        hovered = getattr(self, "_hovered", None)
        if hovered is not None and hovered[0] in self.slices:  # the status bar says the value just painted
            self._hover(*hovered)

    def _show_hidden_grid(self, key, layer, n_channels: int) -> bool:
        """Show the grid hidden for a layer without filters if it was built for `key` and still wraps alike."""
        hidden, self._hidden_grid = self._hidden_grid, None
        if hidden is None or hidden[0] != key or self._lines_key != (n_channels, self._per_line(layer, n_channels)):
            return False
        self._key, self.slices, self.bias_boxes = hidden
        px = self._cell_px(layer, self._lines_key[1])  # the dock may have been resized meanwhile
        for view in self.slices:
            view.heatmap.fit(px)
        self.grid_scroll.show()
        return True

    def _show_nothing(self):
        if self.slices:  # kept hidden: selecting this layer again shows it as it was
            self._hidden_grid = (self._key, self.slices, self.bias_boxes)
            self.grid_scroll.hide()  # with its scroll bar: the hidden grid keeps its size
            self.slices, self.bias_boxes = [], []
        self._key = self._shown = None
        self.controls.hide()
        self.colorbar.hide()
        i = self.layer_index
        if i == 0:
            self.title.setText("Select a Conv2D or Conv2DTranspose layer to see and edit its filters.")
        else:
            layer = self.document.layer(i)
            specs = layer.weight_specs()
            if specs:  # weights that are not sliding filters (a Dense kernel, batch-norm statistics)
                layouts = "; ".join(spec.layout for spec in specs)
                self.title.setText(f"{layer.label}'s weights are not filters ({layouts}): its tab under the maps "
                                   "writes them out. Select a convolution to see and edit its filters.")
            else:
                self.title.setText(f"{layer.label} has no weights: nothing to edit here. "
                                   "Select a Conv2D or Conv2DTranspose layer to see its filters.")

    def _clear_grid(self):
        self._hidden_grid = None
        self.grid_scroll.show()
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # gone from the screen now, not at the next event-loop turn
                item.widget().deleteLater()
        self.slices, self.bias_boxes = [], []

    def _build(self, layer, kernel, channels: list[list[int]]):
        self._clear_grid()
        n_filters, n_channels = len(channels), len(channels[0])
        kh, kw = layer.kernel_size
        per_line = self._per_line(layer, n_channels)
        cell_px = self._cell_px(layer, per_line)
        transpose = sliding_kernel(layer).in_axis == 3  # (kh, kw, out, in): each input scatters its slice
        # rows per filter below its name: slices `per_line` to a row, a "+" after each but the last (one per
        # line: the "+" gets a row of its own between the slices)
        lines = 2 * n_channels - 1 if per_line == 1 else -(-n_channels // per_line)
        for o in range(n_filters):
            top = (lines + 1) * o  # the filter's name and bias
            name = QPushButton(f"Filter {o + 1}" if not transpose else f"Output {o + 1}")
            name.setFlat(True)
            name.setStyleSheet("font-weight: bold; text-align: left; padding: 0 2px;")
            name.setToolTip("Select this filter (presets, remove and move act on it). "
                            f"It makes map {o + 1} of {layer.label}'s output.")
            name.clicked.connect(lambda checked=False, o=o: self.select_filter(o))
            head_widget = QWidget()  # a widget, not a bare layout, so that _clear_grid removes it whole
            head = QHBoxLayout(head_widget)
            head.setContentsMargins(0, 4, 0, 0)
            head.addWidget(name)
            if layer.use_bias:
                head.addWidget(QLabel("+ bias"))
                box = QDoubleSpinBox(objectName=f"bias_{o}")
                box.setRange(-1e6, 1e6)
                box.setDecimals(3)
                box.setSingleStep(0.5)
                box.setKeyboardTracking(False)
                box.setMaximumWidth(72)
                box.setToolTip(f"The bias of filter {o + 1}: added to every cell of map {o + 1}")
                box.valueChanged.connect(lambda v, o=o: self.set_bias(o, v))
                self.bias_boxes.append(box)
                head.addWidget(box)
            head.addStretch(1)
            self.grid.addWidget(head_widget, top, 0, 1, 2 * per_line)
            for k, c in enumerate(channels[o]):
                row, col = (top + 1 + 2 * k, 0) if per_line == 1 else (top + 1 + k // per_line, 2 * (k % per_line))
                if k + 1 < n_channels:
                    plus = QLabel("+")
                    plus.setStyleSheet("font-size: 16px; color: #555;")
                    where = (row + 1, 0) if per_line == 1 else (row, col + 1)
                    self.grid.addWidget(plus, *where, Qt.AlignmentFlag.AlignCenter)
                caption = f"input ch {c + 1} only" if is_depthwise(layer) else f"ch {c + 1}" if n_channels > 1 else ""
                view = SliceView(o, c, caption)
                view.setToolTip(f"The slice of filter {o + 1} that multiplies input channel {c + 1}"
                                if not transpose else f"What input channel {c + 1} scatters into output {o + 1}")
                view.heatmap.set_data(np.zeros((kh, kw), np.float32), (-1, 1), DIVERGING)
                view.heatmap.fit(cell_px)
                view.heatmap.set_show_values(self.show_values)
                self._connect(view)
                self.slices.append(view)
                self.grid.addWidget(view, row, col, Qt.AlignmentFlag.AlignTop)
        self._lines_key = (n_channels, per_line)

    def _cell_px(self, layer, per_line: int) -> float:
        """Kernel cells as big as fit: `per_line` channel slices of a filter side by side in the dock's width."""
        kh, kw = layer.kernel_size
        # margins (12 + 18), colour bar and its spacing (48), a vertical scroll bar (18); per "+": sign and spacing
        room = self.width() - 96 - 28 * per_line
        return max(10.0, min(28.0, 140.0 / max(kh, kw), room / (per_line * kw)))

    def _per_line(self, layer, n_channels: int) -> int:
        """Slices side by side: all of them, or as many as keep cells large enough for their numbers."""
        return next((k for k in range(n_channels, 1, -1) if self._cell_px(layer, k) >= READABLE_CELL_PX), 1)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        layer = self.layer()
        if layer is not None and self.slices:
            n_channels = len(filter_channels(layer, layer.get_weights()[0])[0])
            per_line = self._per_line(layer, n_channels)
            if self._lines_key != (n_channels, per_line):
                self._key = None  # another wrap: lay the slices out again
                self.refresh()
                return
            px = self._cell_px(layer, per_line)
            for view in self.slices:
                view.heatmap.fit(px)

    def _connect(self, view: SliceView):
        hm = view.heatmap

        def write(cells, value, stroke_id, view=view):
            layer = self.layer()
            self.document.paint_weights(self.layer_index, [weight_index(layer, view.filt, view.channel, r, c)
                                                           for r, c in cells], value, stroke_id)

        def read(r, c, view=view):
            return filter_slice(self.layer().get_weights()[0], self.layer(), view.filt, view.channel)[r, c]

        view.editing = CellEditing(hm, write, self.brush.value, read)
        hm.setToolTip(CELL_EDIT_HELP + "\nHover a weight: every input cell it multiplies lights up.")
        hm.cellPressed.connect(lambda *_a, o=view.filt: self.select_filter(o, refresh=False))
        hm.cellHovered.connect(lambda r, c, view=view: self._hover(view, r, c))

    def _update_values(self, layer, kernel, shown=None):
        """The slices show `kernel`; `shown`: the (kernel, levels) they show now, when the grid is the same (a weight
        edit): then only the slices that differ are given theirs (64 slices' set_data took 1.7 ms at 8×8)."""
        levels = symmetric_levels(kernel)
        index = kernel_indexer(layer)
        kept = shown is not None and shown[0].shape == kernel.shape and shown[1] == levels
        changed = kernel != shown[0] if kept else None
        for view in self.slices:
            at = index(view.filt, view.channel)
            if changed is None or changed[at].any():
                view.heatmap.set_data(kernel[at], levels, DIVERGING)
        self._values_shown = (np.array(kernel), levels)
        self._mark_selected()
        weights = layer.get_weights()
        for o, box in enumerate(self.bias_boxes):
            box.blockSignals(True)
            box.setValue(float(weights[1][o]))
            box.blockSignals(False)
        self.colorbar.show()
        self.colorbar.set_levels(levels, DIVERGING)
        if not kept:  # new slices: lit as the probe says (on the same slices a probe that changes says so itself)
            self._on_probe(self.document.probe)

    def set_show_values(self, show: bool):
        self.show_values = show
        for view in self.slices:
            view.heatmap.set_show_values(show)

    def select_filter(self, o: int, refresh: bool = True):
        self.selected_filter = o
        self._mark_selected()
        self._show_preset()

    def _show_preset(self):
        """The box shows the preset the selected filter holds, or its placeholder when it holds none."""
        layer = self.layer()
        name = None if layer is None or is_depthwise(layer) else held_preset(layer, self.selected_filter)
        self.preset.setCurrentIndex(-1 if name is None else FILTER_PRESETS.index(name))

    def _mark_selected(self):
        """Tint the selected filter's slices; a style sheet is set only where the state changes (each one
        re-polishes the widget: on every weight paint that cost more than the paint)."""
        for view in self.slices:
            selected = view.filt == self.selected_filter
            if getattr(view, "marked", None) != selected:
                view.marked = selected
                view.setStyleSheet("background: #e8f1fb;" if selected else "")

    # ------------------------------------------------------------------ probes
    def _hover(self, view: SliceView, r: int, c: int):
        if r < 0:
            self._hovered = None
            self.document.clear_probe()
            self.hoverText.emit("")
            return
        self._hovered = (view, r, c)
        layer = self.layer()
        index = weight_index(layer, view.filt, view.channel, r, c)
        self.document.set_weight_probe(self.layer_index, index)
        value = layer.get_weights()[0][index]
        self.hoverText.emit(
            f"{layer.label} filter {view.filt + 1}, input channel {view.channel + 1}, row {r + 1}, col {c + 1}: "
            f"weight {format_value(value)}    (kernel index {list(index)})"
        )

    def _on_probe(self, probe):
        layer = self.layer()
        used = probe.weights.get(self.layer_index) if probe is not None and layer is not None else None
        if used is not None and used.shape != np.shape(getattr(layer, sliding_kernel(layer).name)):
            used = None
        index = None if used is None else kernel_indexer(layer)  # 64 slices at 8×8: the layout read once
        lit = None if used is None else used.any(axis=(0, 1))  # per slice, in one pass (the slices' axes follow)
        for view in self.slices:
            at = None if used is None else index(view.filt, view.channel)
            view.heatmap.set_highlight(used[at] if at is not None and lit[at[2:]] else None)

    # ------------------------------------------------------------------ edits
    def _edit(self, action) -> bool:
        """Run a Document intent; a refusal is said above the filters, a success clears it."""
        try:
            action()
        except ConfigError as exc:
            self.message.setText(str(exc))
            self.message.show()
            return False
        self.message.hide()
        return True

    def set_bias(self, o: int, value: float):
        self._edit(lambda: self.document.set_bias(self.layer_index, o, value))

    def apply_preset(self, name: str):
        if self.layer() is not None:
            self._edit(lambda: self.document.apply_filter_preset(self.layer_index, self.selected_filter, name))

    def set_kernel_size(self, size):
        if self.layer() is None:
            return
        refused = not self._edit(lambda: self.document.set_layer_param(
            self.layer_index, "kernel_size", tuple(size), f"{self.layer().label}: kernel {pair_text(size)}"))
        self.kernel_size.setStyleSheet("border: 2px solid #b00020;" if refused else "")

    def add_filter(self):
        if self.layer() is not None:
            self._edit(lambda: self.document.add_filter(self.layer_index))

    def remove_filter(self):
        if self.layer() is None:
            return
        o = self.selected_filter
        if self._edit(lambda: self.document.remove_filter(self.layer_index, o)):
            self.selected_filter = max(0, o - 1)
            self.refresh()

    def move_filter(self, delta: int):
        layer = self.layer()
        if layer is None:
            return
        o, p = self.selected_filter, self.selected_filter + delta
        if not 0 <= p < layer.filters:
            return
        if self._edit(lambda: self.document.move_filter(self.layer_index, o, p)):
            self.selected_filter = p
            self._mark_selected()
