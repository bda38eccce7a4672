"""The live plot of a training run: loss (left) and accuracy (right) against steps, training and validation,
with the point nearest the mouse read out under it."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QBoxLayout, QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

# (key, plot, colour, dashed): training solid, validation dashed with dots at each epoch's end
CURVES = (
    ("loss", "loss", "#1f5fbf", False),
    ("val_loss", "loss", "#1f5fbf", True),
    ("accuracy", "accuracy", "#c25400", False),
    ("val_accuracy", "accuracy", "#c25400", True),
)
NAMES = {"loss": "training loss", "val_loss": "validation loss", "accuracy": "training accuracy",
         "val_accuracy": "validation accuracy"}
READOUT_ROOM = "step 00000: validation accuracy −0.0000"  # as wide as a readout gets (show_point's format)


def nice_end(value: float, now: float) -> float:
    """`now` while `value` fits under it, else the first of 1, 2, 5 × 10^k above value·1.05."""
    if value <= now:
        return now
    target = max(value * 1.05, 1e-9)
    k = 10.0 ** math.floor(math.log10(target))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= target)


class Series:
    """A curve's points in arrays that grow by doubling: a redraw hands pyqtgraph views of them, not arrays
    made anew from lists of every step (at 9,000 steps that alone was 4 ms ten times a second)."""

    def __init__(self):
        self._xy, self.n = np.empty((2, 256)), 0

    def append(self, x: float, y: float):
        if self.n == self._xy.shape[1]:
            self._xy = np.concatenate([self._xy, np.empty_like(self._xy)], axis=1)  # drawn views keep the old
        self._xy[:, self.n] = x, y
        self.n += 1

    @property
    def xs(self) -> np.ndarray:
        return self._xy[0, :self.n]

    @property
    def ys(self) -> np.ndarray:
        return self._xy[1, :self.n]


class RoomyAxis(pg.AxisItem):
    """An axis whose labelled ticks keep `room` pixels apart: pyqtgraph gives any axis at least two intervals,
    and on an 80 px axis its five labels 0.2 … 0.8 were written over one another."""

    def __init__(self, orientation: str, room: float):
        super().__init__(orientation)
        self.room = room

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph's names)
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if not levels or size <= 0 or span == 0:
            return levels
        major = levels[0][0]
        while major * size / span < self.room:
            major = nice_end(major * 1.5, 0)  # the next of 1, 2, 5 × 10^k
        return [(major, 0)] + [level for level in levels[1:] if level[0] < major]


class TrainingPlot(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(300, 80)  # less, and the key and the ticks under it were drawn over each other
        self.plots = {name: self.view.addPlot(axisItems={"left": RoomyAxis("left", 20),
                                                          "bottom": RoomyAxis("bottom", 36)})
                      for name in ("loss", "accuracy")}
        for name, plot in self.plots.items():
            plot.setLabel("left", name)  # the steps are named in the key: an axis label under the ticks took
            # the 20 px a 1366×768 dock does not have (its text was cut in half)
            plot.showGrid(x=True, y=True, alpha=0.25)
        for plot in self.plots.values():  # ranges set by redraw: pyqtgraph's autorange re-lays both axes each time
            plot.disableAutoRange()
            for side in ("left", "bottom"):  # a new point repaints the scene: the unchanged axes are a pixmap
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plots["accuracy"].setYRange(0, 1.05, padding=0)  # a point at 100 % is drawn whole
        self._set_ranges(1.0, 1.0)
        self.points = {key: Series() for key, *_ in CURVES}
        self._drawn = {}  # points each curve was last given, by key
        self.curves = {}
        for key, plot, colour, dashed in CURVES:
            pen = pg.mkPen(colour, width=2, style=pg.QtCore.Qt.PenStyle.DashLine if dashed else None)
            symbol = dict(symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None) if dashed else {}
            self.curves[key] = self.plots[plot].plot([], [], pen=pen, name=NAMES[key], **symbol)
            # a long run has thousands of steps on a few hundred pixels: each pixel column's lowest and highest
            # point draw the same line as all of them (a 9,000-step curve was 4 ms of the GUI thread's time)
            self.curves[key].setDownsampling(auto=True, method="peak")
        # the key and the readout share one line under the plot where it is wide enough (on a 768-pixel screen
        # the plot needs the height); a narrower plot puts the readout under the key, where it is read whole
        self.key = QLabel("<span style='color:#1f5fbf'>━ loss</span> <span style='color:#c25400'>━ accuracy</span>"
                          " by step (dashed ●: validation)")
        self.key.setToolTip("Solid: the training loss and accuracy of this epoch so far. Dashed, with a dot: the "
                            "validation set's, at the end of each epoch.")
        self.readout = QLabel("Move the mouse over the plot to read a point.")
        self.readout.setObjectName("plotReadout")
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.hide()  # nothing to read before the first point (and the settings take the room then)
        self.under = under = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        under.addWidget(self.key)
        under.addWidget(self.readout, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.view, 1)
        layout.addLayout(under)
        self._mouse = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)

    def resizeEvent(self, event):  # noqa: N802 (Qt name)
        one_line = self.key.sizeHint().width() + self.under.spacing() + self.readout.fontMetrics().horizontalAdvance(
            READOUT_ROOM)
        direction = (QBoxLayout.Direction.LeftToRight if event.size().width() >= one_line
                     else QBoxLayout.Direction.TopToBottom)
        if direction != self.under.direction():
            self.under.setDirection(direction)
            self.updateGeometry()  # a line more or less: the dock lays the plot out again at its new minimum
        super().resizeEvent(event)

    def clear(self):
        for key in self.points:
            self.points[key] = Series()
            self.curves[key].setData([], [])
        self._drawn = {}
        self._set_ranges(1.0, 1.0)
        self.readout.hide()

    def add(self, step: int, progress):
        """One Progress at global step `step`: the epoch's running loss and accuracy; validation at an
        epoch's end."""
        values = {"loss": progress.loss, "accuracy": progress.metrics.get("accuracy")}
        if progress.val_loss is not None:
            values["val_loss"] = progress.val_loss
            values["val_accuracy"] = progress.val_metrics.get("accuracy")
        for key, value in values.items():
            if value is not None and math.isfinite(value):
                self.points[key].append(step, value)
        if self.readout.isHidden():
            self.readout.show()

    def redraw(self):
        """Hand pyqtgraph the curves that have new points (validation gets one an epoch; a scatter costs), and
        grow the ranges only when a point leaves them: a new range redraws the axes' ticks and labels, the
        dearest part of the plot's repaint."""
        changed = False
        for key, series in self.points.items():
            if series.n != self._drawn.get(key):
                self.curves[key].setData(series.xs, series.ys)
                self._drawn[key] = series.n
                changed = True
        if changed:
            steps = [s.xs[-1] for s in self.points.values() if s.n]
            losses = [s.ys.max() for key, s in self.points.items() if s.n and key.endswith("loss")]
            x = nice_end(max(steps, default=1.0), self._ranges[0])
            y = nice_end(max(losses, default=1.0), self._ranges[1])
            if (x, y) != self._ranges:
                self._set_ranges(x, y)

    def _set_ranges(self, x: float, y: float):
        self._ranges = (x, y)  # the axes' ends, grown in 1-2-5 steps
        for plot in self.plots.values():
            plot.setXRange(0, x, padding=0)
        self.plots["loss"].setYRange(0, y, padding=0)

    def count(self, key: str) -> int:
        return self.points[key].n

    def nearest(self, plot: str, x: float, y: float) -> tuple[str, int, float] | None:
        """(curve, step, value) of the point nearest (x, y) in `plot`'s view, measured in screen pixels."""
        box = self.plots[plot].getViewBox()
        (x0, x1), (y0, y1) = box.viewRange()
        sx = box.width() / max(x1 - x0, 1e-12)
        sy = box.height() / max(y1 - y0, 1e-12)
        best = None
        for key, name, *_ in CURVES:
            series = self.points[key]
            if name != plot or not series.n:
                continue
            d = ((series.xs - x) * sx) ** 2 + ((series.ys - y) * sy) ** 2
            i = int(np.argmin(d))
            if best is None or d[i] < best[0]:
                best = (d[i], key, int(series.xs[i]), float(series.ys[i]))
        return None if best is None else best[1:]

    def _on_mouse(self, event):
        pos = event[0]
        for name, plot in self.plots.items():
            if plot.sceneBoundingRect().contains(pos):
                point = plot.getViewBox().mapSceneToView(pos)
                found = self.nearest(name, point.x(), point.y())
                if found:
                    self.show_point(*found)
                return

    def show_point(self, key: str, step: int, value: float):
        self.readout.setText(f"step {step}: {NAMES[key]} {value:.4g}")
