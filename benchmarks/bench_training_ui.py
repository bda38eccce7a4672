"""Training inside the window (medians and 95th percentiles). Run:
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_training_ui.py [--rounds 3] [--stepper]

The digits example (resources/digits.cnnviz.json) trains in the window at 1366×768 with the Training dock
in front, as after a click on Train (--stepper: the step-through dock in front instead, so it redraws too).

- Throughput: the dock's run (its process drawing no mouse) against the core's own Trainer.fit in this
  process on the same network, data and settings, in examples per second of wall time, in alternating
  rounds so that a busy machine slows both. The app's run is split into its start-up (Train clicked to
  the first step's progress: the process starting, importing numpy and the core, unpickling the data)
  and its steady state (first to last step's progress), which the target (at least 80 % of the core's)
  is about; the whole run's rate is printed too.
- Latency while a run goes on: a real mouse press and release on an input cell (paint), or a move over a
  map cell of the first layer (hover), timed until the event loop is idle again (bench_ui.Idle: every
  recompute done, every widget painted, and whatever snapshot of the run arrived meanwhile applied).
  Target: p95 under 16 ms. The same events without a run are printed for comparison, and how many
  snapshots (maps, filters, prediction) were shown a second meanwhile, with what each cost the GUI thread
  (issue 10: at least 10 a second).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "resources" / "digits.cnnviz.json"
EPOCHS, PROBES = 20, 60  # 20 epochs: 900 steps, 28,740 examples (1.5 to 4 s on this machine)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def core_rate() -> float:
    from cnnviz.core.training import Trainer
    from cnnviz.io import load_session
    from cnnviz.io.training_sets import TrainingSettings, load_training_data

    session = load_session(EXAMPLE)
    s = TrainingSettings.from_section(session.training)
    data = load_training_data(s.data, session.pipeline)
    trainer = Trainer(session.pipeline, s.loss, s.optimizer_config(), metrics=["accuracy"], seed=s.seed)
    t0 = time.perf_counter()
    for progress in trainer.fit(data.x, data.y, epochs=EPOCHS, batch_size=s.batch_size,
                                validation_split=s.validation_split):
        pass
    return progress.step * s.batch_size / (time.perf_counter() - t0)  # counted as the app's run is


def open_window(app, stepper: bool):
    from cnnviz.ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    app.processEvents()
    assert window.file_actions.open(str(EXAMPLE))
    window.file_actions.dialogs.save_changes = lambda name: "discard"
    window.show_panel("arithmetic_stepper" if stepper else "training")
    return window


def run_idle(app, dock):
    """bench_ui.Idle for a window whose run goes on: idle once a pass handles nothing but the run's own
    stream (its queued signals and the plot's redraw timer), which never stops while it trains. Whatever
    that stream made dirty is painted before: a snapshot applied meanwhile is part of the latency."""
    from bench_ui import Idle

    return Idle(app, ignored=(dock.run, dock._redraw))


class Probes:
    """Paint an input cell (press, release) and hover a map cell, each timed until the loop is idle."""

    def __init__(self, window, idle):
        self.window, self.idle, self.k = window, idle, 0
        self.paint, self.hover = [], []
        self.rates, self.costs = [], []  # snapshots shown a second while probed (a run each), their costs (s)

    def once(self):
        from bench_ui import _mouse

        w, self.k = self.window, self.k + 1
        grid = w.input_grid
        r, c = self.k % 8, (self.k // 8) % 8
        grid.brush.setValue(0.0 if w.document.input[r, c, 0] > 0.5 else 1.0)  # every press changes its cell
        hm = grid.heatmap
        cell = hm.cell_center(r, c)
        t = time.perf_counter()
        _mouse(Viewed(hm), "press", cell, True)
        _mouse(Viewed(hm), "release", cell, False)
        self.idle()
        self.paint.append(time.perf_counter() - t)
        maps = w.layer_views.cards(1)[self.k % 8].heatmap
        t = time.perf_counter()
        _mouse(Viewed(maps), "move", maps.cell_center(self.k % 6, (self.k // 6) % 6), False)
        self.idle()
        self.hover.append(time.perf_counter() - t)
        time.sleep(0.02)  # a hand's pace: the run goes on between two events


class Viewed:
    """bench_ui._mouse sends to widget.viewport(): a map drawn as a plain widget takes the events itself."""

    def __init__(self, heatmap):
        self.target = heatmap.viewport() if hasattr(heatmap, "viewport") else heatmap

    def viewport(self):
        return self.target

    def mapToGlobal(self, p):
        return self.target.mapToGlobal(p)


def run_in_app(app, window, idle, probes: Probes | None = None) -> dict:
    """One run of EPOCHS epochs (with `probes`: probed PROBES times, then cancelled)."""
    dock = window.training_dock
    dock.epochs.setValue(EPOCHS if probes is None else 10 * EPOCHS)
    window.document.undo_stack.clear()
    times = []
    dock.run.progressed.connect(lambda p: times.append((time.perf_counter(), p.step)))
    t0 = time.perf_counter()
    dock.train()
    shown, probed = [], None
    def count(layer):  # a snapshot writes layer 1's weights
        if layer == 1:
            shown.append(layer)

    window.document.weightsChanged.connect(count)
    while dock.run.state != "idle":
        if probes is not None and times:
            if probed is None:
                probed = (time.perf_counter(), len(shown))
            if len(probes.paint) % PROBES == PROBES - 1 and dock.run.worker is not None:
                probes.rates.append((len(shown) - probed[1]) / (time.perf_counter() - probed[0]))
                probes.costs += getattr(dock.run._pacer, "costs", [])  # measured by the pacer, where it does
                dock.run.cancel()
            probes.once()
        else:
            app.processEvents()
            time.sleep(0.002)
    wall = time.perf_counter() - t0
    batch = dock.batch_size.value()
    dock.run.progressed.disconnect()
    window.document.weightsChanged.disconnect(count)
    (t_first, s_first), (t_last, s_last) = times[0], times[-1]
    result = {"start": t_first - t0, "steady": (s_last - s_first) * batch / (t_last - t_first),
              "total": dock.run.step_offset * batch / wall}
    dock.run.forget()
    dock.reset()
    idle()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stepper", action="store_true", help="the step-through dock in front, not Training")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from cnnviz.ui import settings

    settings.use_file(Path(tempfile.mkdtemp()) / "settings.ini")
    app = QApplication.instance() or QApplication(sys.argv)
    window = open_window(app, args.stepper)
    idle = run_idle(app, window.training_dock)
    core, runs = [], []
    probes = Probes(window, idle)
    for _ in range(args.rounds):
        core.append(core_rate())
        runs.append(run_in_app(app, window, idle))
        run_in_app(app, window, idle, probes)
    paint, hover = probes.paint, probes.hover
    quiet = Probes(window, idle)
    for _ in range(PROBES):
        quiet.once()
    ms = 1000

    def line(name, values):
        return (f"{name}: p50 {statistics.median(values) * ms:.1f} ms, p95 {percentile(values, 95) * ms:.1f} ms "
                f"({len(values)})")

    print(line("paint without training", quiet.paint), "|", line("hover", quiet.hover))
    print(line("paint while training", paint))
    print(line("hover while training", hover))
    if probes.rates:
        print(f"snapshots shown while probed: {statistics.median(probes.rates):.1f} a second (runs: "
              f"{', '.join(f'{r:.1f}' for r in probes.rates)})"
              + (f"; {line('cost of one', probes.costs)}" if probes.costs else ""))
    c = statistics.median(core)
    steady = statistics.median(r["steady"] for r in runs)
    total = statistics.median(r["total"] for r in runs)
    start = statistics.median(r["start"] for r in runs)
    print(f"throughput: core {c:,.0f} examples/s; in the app steady {steady:,.0f} ({100 * steady / c:.0f} %), "
          f"whole run {total:,.0f} ({100 * total / c:.0f} %) with a start-up of {start:.2f} s")
    print("rounds:", ", ".join(f"core {a:,.0f} / app {r['steady']:,.0f}" for a, r in zip(core, runs)))
    window.close()


if __name__ == "__main__":
    main()
