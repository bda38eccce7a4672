"""Step the window of a sliding layer across its input, one output number at a time (the lecture's walk).

Conv2D and pooling: step k fills output cell k (filter by filter, row-major); the window is drawn on the
(padded) input and the sum is written out with the real numbers from the core's provenance.
Conv2DTranspose runs the other way round: step k takes ONE INPUT cell, multiplies it by the kernel and adds
the products into the output canvas, where overlapping contributions pile up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton

from cnnviz.core import ConfigError, ops
from cnnviz.core.arithmetic import conv_padding, transpose_crop
from cnnviz.core.layers import AveragePooling2D, Conv2D, Conv2DTranspose, MaxPooling2D
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, draw_symbol, find_layer, split_column, split_row
from cnnviz.ui.colormaps import DIVERGING, GREYS, input_levels, symmetric_levels
from cnnviz.ui.grid_painter import Grid, fitted_font, layout_grid, paint_grids, pixel_font

SLIDING_KINDS = (Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D)
MAX_CHANNEL_ROWS = 3  # input channels drawn (stacked or side by side); the formula lists every channel
BIG_GRID_COLUMNS = 20  # a wider input or output gets no more width than 20 cells: the filter keeps its share
MIN_SHARED_CELL = 12.0  # below this the filter and products get cells of their own instead of the input's
BLOCK_GAP = 14.0  # between input channels' blocks side by side


def grid_weight(cells: int) -> float:
    """Width share of a grid `cells` wide, capped so that a 256-wide input leaves room for a 3×3 filter."""
    return float(min(cells, BIG_GRID_COLUMNS))


def shared_cell(placed) -> float:
    """The cell size `paint_grids` would give every grid in `placed`."""
    return min(layout_grid(r, np.shape(g.values), g.pad, g.title, g.colorbar, g.max_cell).cell for _, r, g in placed)


@dataclass(frozen=True)
class Step:
    """One animation step: output channel and cell (Conv2D, pooling) or the input cell scattered (transpose)."""

    channel: int  # output channel (filter)
    cell: tuple[int, int]  # output cell (Conv2D, pooling) or input cell (Conv2DTranspose)
    in_channel: int = 0  # Conv2DTranspose: the input channel of the scattered cell


class Steps(Sequence):
    """The window positions in animation order, computed from the index (a 128×128 map with 8 filters has
    131 072 steps: no list of them is ever built).

    Conv2D and pooling: filter by filter, then output cells row-major. Conv2DTranspose: filter by filter,
    then input channel, then input cells row-major.
    """

    def __init__(self, transpose: bool, filters: int, channels: int, rows: int, cols: int):
        self.transpose = transpose
        self._dims = (filters, channels if transpose else 1, rows, cols)

    def __len__(self) -> int:
        return int(np.prod(self._dims))

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if not -len(self) <= k < len(self):
            raise IndexError(k)
        o, ch, i, j = (int(v) for v in np.unravel_index(k % len(self), self._dims))
        return Step(o, (i, j), ch)

    def index(self, step: Step, *_) -> int:
        try:
            return int(np.ravel_multi_index((step.channel, step.in_channel, *step.cell), self._dims))
        except ValueError:
            raise ValueError(f"{step} is not a step") from None


def steps_for(layer, input_shape, output_shape) -> Steps:
    h, w, c = input_shape
    oh, ow, f = output_shape
    if isinstance(layer, Conv2DTranspose):
        return Steps(True, f, c, h, w)
    return Steps(False, f, 1, oh, ow)


def level_style(level: int, array: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Greys for the input image, the diverging map centred on 0 for every computed map."""
    return (GREYS, input_levels(array)) if level == 0 else (DIVERGING, symmetric_levels(array))


def product_grids(prov, kernel_shape) -> np.ndarray:
    """(kh, kw, C): each term's x·w placed at its kernel tap, the inner product before it is summed."""
    out = np.zeros(kernel_shape[:3])
    for term in prov.terms:
        a, b, c, _ = term.weight
        out[a, b, c] = term.value * term.coefficient
    return out


class StepperView(ArithmeticView):
    """Play / pause / step / scrub through the window positions of the selected sliding layer."""

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticStepper", parent=parent)
        self._steps: Sequence[Step] = []
        self._canvas_cache: dict = {}  # Conv2DTranspose canvases by step, valid until the next refresh
        self._prov_cache: dict = {}  # the current step's provenance, valid until the next refresh
        self._step = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

        self.header = QLabel()
        self.header.setWordWrap(True)

        icon = QStyle.StandardPixmap
        self.play_action = self._action(
            "Play", "Ctrl+Space", self.toggle_play, "Play or pause the animation", icon.SP_MediaPlay
        )
        self.back_action = self._action(
            "Step back", "Ctrl+Left", lambda: self.step_by(-1), "One window position back", icon.SP_MediaSeekBackward
        )
        self.forward_action = self._action(
            "Step forward", "Ctrl+Right", lambda: self.step_by(1), "One window position on", icon.SP_MediaSeekForward
        )
        self.restart_action = self._action(
            "Restart", "Ctrl+Home", self.restart, "Back to the first window position", icon.SP_MediaSkipBackward
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub through the window positions")
        self.slider.valueChanged.connect(self._scrubbed)
        self.position = QLabel()
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(1, 20)
        self.speed.setValue(2)
        self.speed.setFixedWidth(56)
        self.speed.setToolTip("Animation speed in steps per second")
        self.speed.valueChanged.connect(self._speed_changed)
        self.speed_label = QLabel()

        controls = QHBoxLayout()
        for action in (self.restart_action, self.back_action, self.play_action, self.forward_action):
            button = QToolButton()
            button.setDefaultAction(action)
            controls.addWidget(button)
        self.slider.setMinimumWidth(60)  # a narrow dock squeezed the scrub slider to a dot
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position)
        controls.addSpacing(6)
        controls.addWidget(QLabel("speed"))
        controls.addWidget(self.speed)
        controls.addWidget(self.speed_label)
        self.layout().insertWidget(0, self.header)
        self.layout().addLayout(controls)
        self._speed_changed(self.speed.value())
        self.start()

    def _action(self, text, shortcut, slot, tip, icon) -> QAction:
        action = QAction(self.style().standardIcon(icon), text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{tip} ({shortcut})")
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # ------------------------------------------------------------------ state read from the document
    @property
    def layer(self):
        return self.document.layer(self._index) if self._index else None

    @property
    def step(self) -> int:
        return self._step

    @property
    def steps(self) -> Sequence[Step]:
        return self._steps

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def _arrays(self):
        levels = self.document.levels
        return levels[self._index - 1], levels[self._index]

    def refresh(self) -> None:
        index = find_layer(self.document, SLIDING_KINDS)
        try:
            if index:
                x, y = self.document.levels[index - 1], self.document.levels[index]
                steps = steps_for(self.document.layer(index), x.shape, y.shape)
            else:
                steps = []
        except IndexError:  # outputs not computed for this pipeline (an error is shown elsewhere)
            index, steps = 0, []
        if index != self._index:
            self._step = 0
        self._index, self._steps = index, steps
        self._canvas_cache, self._prov_cache = {}, {}
        if not steps:
            self.pause()
        self._step = max(0, min(self._step, len(steps) - 1))
        self._show()

    def _show(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(self._steps) - 1, 0))
        self.slider.setValue(self._step)
        self.slider.blockSignals(False)
        self._show_play_state()
        for action in (self.play_action, self.back_action, self.forward_action, self.restart_action):
            action.setEnabled(bool(self._steps))
        self.slider.setEnabled(bool(self._steps))
        self.position.setText(f"step {self._step + 1} / {len(self._steps)}" if self._steps else "")
        self.header.setText(self._header_text())
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def _header_text(self) -> str:
        layer = self.layer
        if layer is None:
            return "Add a Conv2D, pooling or Conv2DTranspose layer to step through it."
        x, y = self._arrays()
        shape = lambda s: "×".join(map(str, s))  # noqa: E731
        text = f"<b>{layer.label}</b>: input {shape(x.shape)} → output {shape(y.shape)}"
        if self._index != self.document.selected_layer:
            text += "  <i>(the selected layer does not slide a window; showing this one)</i>"
        try:
            text += "<br>" + "; ".join(layer.explain_output_shape(x.shape))
        except ConfigError:
            pass
        return text

    # ------------------------------------------------------------------ controls
    def set_step(self, step: int) -> None:
        if self._steps:
            self._step = max(0, min(int(step), len(self._steps) - 1))
            self._show()

    def step_by(self, delta: int) -> None:
        self.pause()
        self.set_step(self._step + delta)

    def restart(self) -> None:
        self.pause()
        self.set_step(0)

    def play(self) -> None:
        if not self._steps:
            return
        if self._step >= len(self._steps) - 1:
            self._step = 0
        self._timer.start()
        self._show()

    def pause(self) -> None:
        self._timer.stop()
        self._show_play_state()

    def _show_play_state(self) -> None:
        playing = self.playing
        if self.play_action.text() == ("Pause" if playing else "Play"):
            return
        self.play_action.setText("Pause" if playing else "Play")
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.style().standardIcon(pixmap))

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def _tick(self) -> None:
        if self._step >= len(self._steps) - 1:
            self.pause()
            self._show()
            return
        self.set_step(self._step + 1)

    def _scrubbed(self, value: int) -> None:
        self.pause()
        self.set_step(value)

    def _speed_changed(self, per_second: int) -> None:
        self._timer.setInterval(int(1000 / per_second))
        self.speed_label.setText(f"{per_second}/s")

    # ------------------------------------------------------------------ linking
    def probe_changed(self, probe) -> None:
        """A hovered or pinned cell of this layer's output (or a transpose's input) pauses and moves there."""
        if probe is None or probe.cell is None or not self._steps:
            return
        step = self.step_for_cell(probe.level, tuple(probe.cell))
        if step is not None:
            self.pause()
            self.set_step(step)

    def step_for_cell(self, level: int, cell: tuple) -> int | None:
        layer = self.layer
        r, c, ch = cell
        if isinstance(layer, Conv2DTranspose):
            if level == self._index - 1:
                return self._steps.index(Step(self._steps[self._step].channel, (r, c), ch))
            if level == self._index:  # the step after which this output cell is complete
                x, _ = self._arrays()
                prov = cell_provenance(layer, x, cell)
                done = [self._steps.index(Step(ch, t.cell[:2], t.cell[2])) for t in prov.terms if not t.padding]
                return max(done) if done else None
            return None
        if level == self._index:
            return self._steps.index(Step(ch, (r, c)))
        return None

    def probe_target(self, key, cell):
        """Grid keys are ("output", channel) or ("input", channel): the level and cell they stand for."""
        if not isinstance(key, tuple) or key[0] not in ("input", "output"):
            return None
        level = self._index if key[0] == "output" else self._index - 1
        return level, (cell[0], cell[1], key[1])

    # ------------------------------------------------------------------ what one step shows
    def provenance(self):
        """The core's provenance of the output cell the current step fills (Conv2D and pooling)."""
        if self._step not in self._prov_cache:  # the formula and the picture both need it
            step = self._steps[self._step]
            x, _ = self._arrays()
            self._prov_cache = {self._step: cell_provenance(self.layer, x, (*step.cell, step.channel))}
        return self._prov_cache[self._step]

    def formula_text(self) -> str:
        lines = self.formula_lines()
        return "<br>".join(line.replace("  ", "&nbsp;&nbsp;") for line in lines)

    def formula_lines(self) -> list[str]:
        if not self._steps:
            return []
        layer = self.layer
        x, _ = self._arrays()
        if isinstance(layer, Conv2DTranspose):
            return self._scatter_lines()
        prov = self.provenance()
        if isinstance(layer, Conv2D):
            return formulas.conv_lines(prov, x.shape[2])
        if isinstance(layer, MaxPooling2D):
            h, w, _ = x.shape
            ch = prov.cell[2]
            window = [float(x[i, j, ch]) if 0 <= i < h and 0 <= j < w else None for i, j in prov.window]
            return formulas.max_pool_lines(prov, window)
        return formulas.average_pool_lines(prov)

    def _paddings(self, x_shape):
        """(top, bottom, left, right) padding cells drawn around the input of a Conv2D or pooling layer."""
        layer = self.layer
        if isinstance(layer, Conv2D):
            k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
        else:
            k, s, d = layer.pool_size, layer.strides, (1, 1)
        top, bottom = conv_padding(x_shape[0], k[0], s[0], layer.padding, d[0])
        left, right = conv_padding(x_shape[1], k[1], s[1], layer.padding, d[1])
        return top, bottom, left, right

    # ------------------------------------------------------------------ Conv2DTranspose geometry
    def transpose_canvas(self, upto: int | None = None):
        """The output canvas of filter `step.channel` after scattering every input cell up to step `upto`.

        Returns (canvas, touched, (top, left), (O_h, O_w)): the canvas is the full scatter-add size, grown
        with zero rows/cols when the crop window reaches past it; `touched` marks cells that got a product.
        """
        upto = self._step if upto is None else upto
        if upto not in self._canvas_cache:
            if len(self._canvas_cache) >= 4:  # a step needs itself and the one before: keep a few
                self._canvas_cache.pop(next(iter(self._canvas_cache)))
            self._canvas_cache[upto] = self._scatter_canvas(upto)
        return self._canvas_cache[upto]

    def _scatter_canvas(self, upto: int):
        layer = self.layer
        x, y = self._arrays()
        step = self._steps[upto]
        # scattered so far (this filter): every earlier input channel, and this channel up to this cell
        reached = np.zeros(x.shape, bool)
        reached[:, :, : step.in_channel] = True
        flat = reached[:, :, step.in_channel].reshape(-1)
        flat[: step.cell[0] * x.shape[1] + step.cell[1] + 1] = True
        reached[:, :, step.in_channel] = flat.reshape(x.shape[:2])
        kernel = layer.kernel[:, :, step.channel : step.channel + 1, :]
        geometry = dict(strides=layer.strides, padding="valid", output_padding=(0, 0), dilation=layer.dilation_rate)
        canvas = ops.conv2d_transpose(np.where(reached, x, 0), kernel, None, **geometry)[:, :, 0]
        touched = ops.conv2d_transpose(reached.astype(np.float32), np.ones_like(kernel), None, **geometry)[:, :, 0] > 0
        crops = [
            transpose_crop(
                x.shape[a],
                layer.kernel_size[a],
                layer.strides[a],
                layer.padding,
                None if layer.output_padding is None else layer.output_padding[a],
                layer.dilation_rate[a],
            )
            for a in (0, 1)
        ]
        out = y.shape[:2]
        size = [max(canvas.shape[a], crops[a] + out[a]) for a in (0, 1)]
        grown = np.zeros(size, np.float32)
        grown[: canvas.shape[0], : canvas.shape[1]] = canvas
        grown_touched = np.zeros(size, bool)
        grown_touched[: canvas.shape[0], : canvas.shape[1]] = touched
        return grown, grown_touched, tuple(crops), out

    def scatter_targets(self, upto: int | None = None):
        """(tap, weight, output cell, cropped?) for the input cell of step `upto`, in kernel order."""
        layer = self.layer
        step = self._steps[self._step if upto is None else upto]
        _, _, (top, left), (oh, ow) = self.transpose_canvas(upto)
        (i, j), (sh, sw), (dh, dw) = step.cell, layer.strides, layer.dilation_rate
        kh, kw = layer.kernel_size
        out = []
        for a in range(kh):
            for b in range(kw):
                r, c = i * sh + a * dh - top, j * sw + b * dw - left
                cropped = not (0 <= r < oh and 0 <= c < ow)
                out.append(((a, b), float(layer.kernel[a, b, step.channel, step.in_channel]), (r, c), cropped))
        return out

    def _scatter_lines(self) -> list[str]:
        layer = self.layer
        x, _ = self._arrays()
        step = self._steps[self._step]
        previous = (
            self.transpose_canvas(self._step - 1)[0]
            if self._step and self._steps[self._step - 1].channel == step.channel
            else None
        )
        _, _, (top, left), _ = self.transpose_canvas()
        contributions = []
        for tap, w, (r, c), cropped in self.scatter_targets():
            before = 0.0 if previous is None else float(previous[r + top, c + left])
            contributions.append((tap, w, (r, c), before, cropped))
        value = float(x[step.cell[0], step.cell[1], step.in_channel])
        cell = step.cell if x.shape[2] == 1 else (*step.cell, step.in_channel)
        lines = formulas.scatter_lines(value, cell, contributions)
        bias = 0.0 if layer.bias is None else float(layer.bias[step.channel])
        lines.append(
            f"When every input cell has been scattered: output = canvas (cropped) + bias {formulas.num(bias)}."
        )
        return lines

    # ------------------------------------------------------------------ painting
    def empty_message(self) -> str:
        return "" if self._steps else self._header_text().replace("<b>", "").replace("</b>", "")

    def paint_layer(self, painter, rect: QRectF) -> dict:
        if isinstance(self.layer, Conv2DTranspose):
            return self._paint_transpose(painter, rect)
        return self._paint_sliding(painter, rect)

    def _paint_sliding(self, painter, rect: QRectF) -> dict:
        layer = self.layer
        x, _ = self._arrays()
        is_conv = isinstance(layer, Conv2D)
        channels = list(range(x.shape[2])) if is_conv else [self._steps[self._step].channel]
        shown = channels[:MAX_CHANNEL_ROWS]
        hidden = len(channels) - len(shown)
        # channel blocks stacked, side by side or in between: whichever gives the smallest grid the
        # largest cells (a short wide dock puts three channels side by side; a tall one stacks them)
        arrangements = [self._sliding_arrangement(rect, shown, across, hidden) for across in range(1, len(shown) + 1)]
        placed, symbols, headings, note_rect = max(arrangements, key=lambda a: shared_cell(a[0]))
        # One cell size per group. One channel: everything shares the input's cells, as the lecture draws
        # it, unless a large input or output cannot give the 3×3 grids readable cells: then the filter and
        # products get their own. Several channels share the canvas, so the inputs, the filter slices with
        # their products, and the output each get the largest cells their places allow.
        inputs = [p for p in placed if p[0][0] == "input"]
        groups = [inputs, [p for p in placed if p not in inputs]] if len(inputs) > 1 else [placed]
        if len(inputs) > 1 or shared_cell(placed) < MIN_SHARED_CELL:
            small = [p for p in placed if p[0][0] in ("filter", "products")]
            groups = [[p for p in group if p not in small] for group in groups] + [small]
        geometries = {}
        for group in groups:
            geometries.update(paint_grids(painter, group) if group else {})
        for sym_rect, sym in symbols:
            draw_symbol(painter, sym_rect, sym)
        painter.save()
        painter.setPen(QColor(20, 20, 20))
        if headings:  # one font for every channel's heading
            px = min(fitted_font(text, r, bold=True).pixelSize() for r, text in headings)
            painter.setFont(pixel_font(px, bold=True))
            for heading_rect, text in headings:
                painter.drawText(heading_rect, Qt.AlignmentFlag.AlignCenter, text)
        if hidden:
            painter.setPen(QColor(70, 70, 70))
            note = f"+ {hidden} more channels (in the sum)"
            painter.setFont(fitted_font(note, note_rect))
            painter.drawText(note_rect, Qt.AlignmentFlag.AlignCenter, note)
        painter.restore()
        return geometries

    def _sliding_arrangement(self, rect: QRectF, shown: list[int], across: int, hidden: int):
        """The grids of a Conv2D or pooling step with the input channels' blocks (input ⊙ filter slice =
        products) `across` to a row: (placed grids, (rect, symbol)s, (rect, heading)s, note rect).

        Stacked blocks title each grid; side by side a block is too narrow for that and gets one heading."""
        layer = self.layer
        x, y = self._arrays()
        step = self._steps[self._step]
        prov = self.provenance()
        pad = self._paddings(x.shape)
        in_lut, in_levels = level_style(self._index - 1, x)
        out_lut, out_levels = level_style(self._index, y)
        is_conv = isinstance(layer, Conv2D)
        side = across > 1
        shape = lambda a: "×".join(map(str, a))  # noqa: E731
        out_map = y[:, :, step.channel]
        order = np.arange(out_map.size).reshape(out_map.shape)
        not_yet = order > step.cell[0] * out_map.shape[1] + step.cell[1]

        in_w = x.shape[1] + pad[2] + pad[3]
        if is_conv:
            kw = layer.kernel_size[1]
            block_weights = [grid_weight(in_w) + 1, 1.0, kw + 1.5, 1.0, kw + 1.5]
            tail = [3.0 if across > 1 else 1.4, grid_weight(y.shape[1]) + 3]
        else:
            block_weights = [grid_weight(in_w) + 1]
            tail = [1.2, grid_weight(y.shape[1]) + 3]
        blocks_rect, sum_rect, out_rect = split_row(rect, [sum(block_weights) * across, *tail])
        note_px = 18.0 if hidden else 0.0  # a line under the input channels for those not drawn
        block_area = blocks_rect.adjusted(0, 0, 0, -note_px)
        rows = split_column(block_area, [1] * math.ceil(len(shown) / across), gap=6)
        blocks = [b for row in rows for b in split_row(row, [1] * across, gap=BLOCK_GAP)][: len(shown)]
        heading_h = max(10.0, min(20.0, block_area.height() * 0.1)) if side else 0.0
        # side by side the input is as tall as a block allows: the width it cannot use goes to the filter
        cells_h = (blocks[0].height() - heading_h) / (x.shape[0] + pad[0] + pad[1]) if side else None

        kernel = layer.kernel[:, :, :, step.channel] if is_conv else None
        products = product_grids(prov, kernel.shape) if is_conv else None
        bias = 0.0 if not is_conv or layer.bias is None else float(layer.bias[step.channel])
        marked = prov.terms[0].cell[:2] if isinstance(layer, MaxPooling2D) else None
        placed, symbols, headings = [], [], []
        for block, c in zip(blocks, shown):
            bias_note = f"  (b = {formulas.format_value(bias)})" if is_conv and c == shown[-1] else ""
            if side:
                heading = f"Channel {c + 1}: x·w sum {formulas.format_value(products[:, :, c].sum())}"
                headings.append((QRectF(block.left(), block.top(), block.width(), heading_h), heading + bias_note))
            cells = split_row(block.adjusted(0, heading_h, 0, 0), self._block_weights(block_weights, cells_h, block))
            title = "" if side else f"Input {shape(x.shape)}" + (f", channel {c + 1}" if x.shape[2] > 1 else "")
            if any(pad) and not side:
                title += " + padding"
            placed.append(
                (
                    ("input", c),
                    cells[0],
                    Grid(
                        x[:, :, c],
                        in_levels,
                        in_lut,
                        title=title,
                        pad=pad,
                        pad_text="0" if is_conv else "",
                        highlights=prov.window,
                        marked=marked,
                    ),
                )
            )
            if not is_conv:
                continue
            title = "" if side else f"Filter {step.channel + 1}" + (f", ch {c + 1}" if x.shape[2] > 1 else "")
            placed.append(
                (
                    ("filter", c),
                    cells[2],
                    Grid(kernel[:, :, c], symmetric_levels(kernel), DIVERGING, title=title + bias_note * (not side)),
                )
            )
            title = "" if side else f"x·w, sum {formulas.format_value(products[:, :, c].sum())}"
            placed.append(
                (("products", c), cells[4], Grid(products[:, :, c], symmetric_levels(products), DIVERGING, title=title))
            )
            symbols += [(cells[1], "⊙"), (cells[3], "=")]
        out_title = f"Output {shape(y.shape)}" + (
            f", {'filter' if is_conv else 'channel'} {step.channel + 1}" if y.shape[2] > 1 else ""
        )
        placed.append(
            (
                ("output", step.channel),
                out_rect,
                Grid(
                    out_map,
                    out_levels,
                    out_lut,
                    title=out_title,
                    blank=not_yet,
                    dimmed=not_yet,
                    marked=step.cell,
                    colorbar=True,
                ),
            )
        )
        symbols.append((sum_rect, "Σ+b→" if is_conv else "→"))
        note_rect = QRectF(blocks_rect.left(), block_area.bottom(), blocks_rect.width(), note_px)
        return placed, symbols, headings, note_rect

    @staticmethod
    def _block_weights(weights: list[float], input_cell: float | None, block: QRectF) -> list[float]:
        """`weights` of a channel block's pieces, the input's cut to the width `input_cell`-sized cells need
        (its weight counts one cell of margin) and the rest shared by the others as before."""
        if input_cell is None or len(weights) == 1:
            return weights
        unit = block.width() / sum(weights)
        need = weights[0] * input_cell / unit
        if need >= weights[0]:
            return weights
        rest = sum(weights[1:])
        return [need] + [w * (sum(weights) - need) / rest for w in weights[1:]]

    def _paint_transpose(self, painter, rect: QRectF) -> dict:
        layer = self.layer
        x, y = self._arrays()
        step = self._steps[self._step]
        canvas, touched, (top, left), (oh, ow) = self.transpose_canvas()
        targets = self.scatter_targets()
        in_lut, in_levels = level_style(self._index - 1, x)
        out_lut, out_levels = level_style(self._index, y)
        kernel = layer.kernel[:, :, step.channel, step.in_channel]
        shape = lambda a: "×".join(map(str, a))  # noqa: E731
        region = canvas[top : top + oh, left : left + ow]
        region_touched = touched[top : top + oh, left : left + ow]
        pad = (top, canvas.shape[0] - top - oh, left, canvas.shape[1] - left - ow)
        columns = split_row(
            rect, [grid_weight(x.shape[1]) + 1, 1.2, layer.kernel_size[1] + 1, 1.2, grid_weight(canvas.shape[1]) + 3]
        )
        in_title = f"INPUT {shape(x.shape)}" + (f", channel {step.in_channel + 1}" if x.shape[2] > 1 else "")
        k_title = f"Kernel (filter {step.channel + 1}" + (f", in-ch {step.in_channel + 1})" if x.shape[2] > 1 else ")")
        out_title = f"OUTPUT {shape(y.shape)} being built" + (f", filter {step.channel + 1}" if y.shape[2] > 1 else "")
        if any(pad):
            out_title += " (hatched: cropped)"
        placed = [
            (
                ("input", step.in_channel),
                columns[0],
                Grid(x[:, :, step.in_channel], in_levels, in_lut, title=in_title, marked=step.cell),
            ),
            (
                ("kernel", 0),
                columns[2],
                Grid(
                    kernel,
                    symmetric_levels(kernel),
                    DIVERGING,
                    title=k_title,
                    highlights=[(a, b) for a in range(kernel.shape[0]) for b in range(kernel.shape[1])],
                ),
            ),
            (
                ("output", step.channel),
                columns[4],
                Grid(
                    region,
                    out_levels,
                    out_lut,
                    title=out_title,
                    blank=~region_touched,
                    dimmed=~region_touched,
                    pad=pad,
                    pad_text="",
                    highlights=[t[2] for t in targets],
                    colorbar=True,
                ),
            ),
        ]
        # the kernel is stamped onto the output, so they share a scale while its cells stay readable; the
        # small input gets its own cells
        groups = [placed[:1], placed[1:]] if shared_cell(placed[1:]) >= MIN_SHARED_CELL else [[p] for p in placed]
        geometries = {}
        for group in groups:
            geometries.update(paint_grids(painter, group))
        draw_symbol(painter, columns[1], "×")
        draw_symbol(painter, columns[3], "→")
        return geometries
