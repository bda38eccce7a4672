"""The live plot reads out the point under the mouse: moving the mouse over a point of a curve writes its
step, its curve and its value under the plot."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF

from cnnviz.core.training import Progress
from cnnviz.ui.training_plot import TrainingPlot


def progress(step, loss, accuracy, val=None):
    return Progress(step=step, epoch=1, batch=step, steps_per_epoch=40, batch_loss=loss, loss=loss,
                    metrics={"accuracy": accuracy}, elapsed=0.1, examples_per_second=1.0, learning_rate=0.01,
                    val_loss=None if val is None else val[0], val_metrics={} if val is None else {"accuracy": val[1]})


def widget_point(plot: TrainingPlot, name: str, x: float, y: float) -> QPoint:
    """Where data point (x, y) of plot `name` is drawn, in the GraphicsLayoutWidget's viewport."""
    scene = plot.plots[name].getViewBox().mapViewToScene(QPointF(x, y))
    return plot.view.mapFromScene(scene)


def test_the_point_under_the_mouse_is_read_out(qtbot):
    plot = TrainingPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 320)
    for step in range(1, 41):
        plot.add(step, progress(step, 2.0 / step, min(1.0, step / 40), val=(0.9, 0.75) if step == 40 else None))
    plot.redraw()
    plot.show()
    qtbot.waitExposed(plot)
    for name in plot.plots:
        plot.plots[name].getViewBox().autoRange(padding=0.05)
    qtbot.wait(50)
    assert plot.readout.text() == "Move the mouse over the plot to read a point."
    qtbot.mouseMove(plot.view.viewport(), QPoint(2, 2))  # from elsewhere: the move below is a real one
    qtbot.wait(60)
    qtbot.mouseMove(plot.view.viewport(), widget_point(plot, "loss", 5, 2.0 / 5))
    qtbot.waitUntil(lambda: plot.readout.text().startswith("step 5:"), timeout=10_000)  # rate-limited to 30/s
    assert plot.readout.text() == "step 5: training loss 0.4"
    qtbot.wait(60)  # the readout follows the mouse at most 30 times a second
    qtbot.mouseMove(plot.view.viewport(), widget_point(plot, "accuracy", 40, 0.75))
    qtbot.waitUntil(lambda: "validation accuracy" in plot.readout.text(), timeout=10_000)
    assert plot.readout.text() == "step 40: validation accuracy 0.75"
    qtbot.wait(60)
    qtbot.mouseMove(plot.view.viewport(), widget_point(plot, "accuracy", 20, 0.5))
    qtbot.waitUntil(lambda: plot.readout.text().startswith("step 20:"), timeout=10_000)
    assert plot.readout.text() == "step 20: training accuracy 0.5"


def test_the_ranges_hold_every_point_and_grow_in_1_2_5_steps_only_when_one_leaves_them(qtbot):
    plot = TrainingPlot()
    qtbot.addWidget(plot)
    ranges = []
    for box in (p.getViewBox() for p in plot.plots.values()):
        box.sigRangeChanged.connect(lambda *_: ranges.append(1))
    for step in range(1, 131):
        plot.add(step, progress(step, 2.3 / step ** 0.5, min(1.0, step / 130)))
    plot.redraw()
    assert plot.plots["loss"].getViewBox().viewRange() == [[0, 200], [0, 5]]  # 130·1.05 → 200, 2.3·1.05 → 5
    assert plot.plots["accuracy"].getViewBox().viewRange() == [[0, 200], [0, 1.05]]
    ranges.clear()
    for step in range(131, 201):  # inside the ranges: the axes are not re-laid
        plot.add(step, progress(step, 2.3 / step ** 0.5, 1.0))
        plot.redraw()
    assert not ranges and plot.plots["loss"].getViewBox().viewRange()[0] == [0, 200]
    plot.add(201, progress(201, 0.1, 1.0))  # past 200: 201·1.05 → 500
    plot.redraw()
    assert plot.plots["loss"].getViewBox().viewRange() == [[0, 500], [0, 5]]
    plot.clear()
    plot.redraw()
    assert plot.plots["loss"].getViewBox().viewRange() == [[0, 1], [0, 1]]


def test_labelled_ticks_keep_their_room_on_a_short_plot(qtbot):
    """At 1366×768 the plot may be 80 px tall: its labelled ticks stay 20 px apart (pyqtgraph put five labels,
    0.2 … 0.8, into 60 px, written over one another), and a tall plot keeps pyqtgraph's finer ticks."""
    plot = TrainingPlot()
    qtbot.addWidget(plot)
    for height, finest in ((110, 0.5), (420, 0.2)):
        plot.resize(420, height)
        plot.show()
        qtbot.waitExposed(plot)
        for name in plot.plots:
            axis = plot.plots[name].getAxis("left")
            size = axis.geometry().height()
            top = 1.0 if name == "loss" else 1.05
            major = axis.tickSpacing(0.0, top, size)[0][0]
            assert major * size / top >= axis.room
            assert major <= finest


def test_a_long_run_keeps_every_point_and_its_drawn_line_keeps_each_columns_extremes(qtbot):
    plot = TrainingPlot()
    qtbot.addWidget(plot)
    plot.resize(430, 220)
    plot.show()
    qtbot.waitExposed(plot)
    steps = 3000  # past the series' first growths (256, 512, …) and far more steps than pixel columns
    losses = [2.0 / s ** 0.5 + (1.5 if s == 1234 else 0.0) for s in range(1, steps + 1)]  # one spike
    for s, loss in enumerate(losses, start=1):
        plot.add(s, progress(s, loss, min(1.0, s / steps)))
        if s % 500 == 0:
            plot.redraw()  # redraws between growths: views handed out earlier must not see later points
    plot.redraw()
    assert plot.count("loss") == steps
    series = plot.points["loss"]
    assert series.xs.tolist() == list(range(1, steps + 1)) and series.ys.tolist() == losses
    assert plot.nearest("loss", 1234, losses[1233])[1:] == (1234, losses[1233])
    xs, ys = plot.curves["loss"].getData()  # what pyqtgraph draws: a few points per pixel column
    assert len(xs) <= steps / 2
    assert max(ys) == max(losses) and min(ys) == min(losses)  # the spike and the last low survive


def test_a_readout_is_written_whole_beside_the_key_or_under_it_when_the_plot_is_narrow(qtbot):
    """On a 1366×768 screen the plot is about 440 px wide: beside the key the readout was cut ("Move the mouse
    over th", "step 40: validation accu")."""
    plot = TrainingPlot()
    qtbot.addWidget(plot)
    plot.show()
    qtbot.waitExposed(plot)
    assert plot.readout.isHidden()  # no point to read yet
    plot.add(1, progress(1, 2.0, 0.1))
    assert not plot.readout.isHidden()
    for width, one_line in ((440, False), (1000, True)):
        plot.resize(width, 260)
        qtbot.wait(30)
        for text in ("Move the mouse over the plot to read a point.", "step 12345: validation accuracy 0.8125"):
            plot.readout.setText(text)
            qtbot.wait(10)
            assert plot.readout.width() >= plot.readout.fontMetrics().horizontalAdvance(text), (width, text)
        same_line = abs(plot.readout.geometry().center().y() - plot.key.geometry().center().y()) < 4
        assert same_line == one_line
