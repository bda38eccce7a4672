"""Training inside the window (medians and 95th percentiles). Run:
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_training_ui.py [--rounds 3] [--stepper]
    python benchmarks/bench_training_ui.py --against /work/main --rounds 3   # both checkouts, interleaved

The digits example (resources/digits.cnnviz.json) trains in the window at 1366×768 with the Training dock
in front, as after a click on Train (--stepper: the step-through dock in front instead, so it redraws too).
Each round is a fresh process; with --against the two checkouts' rounds alternate (who goes first too), so
a busy machine slows both alike.

- Throughput: the dock's run (its process drawing no mouse) against the core's own Trainer.fit in the same
  process on the same network, data and settings, in examples per second of wall time. A round measures
  --pairs short pairs (core, app; the order alternates) and each pair gives one ratio, so the spread of
  the machine's speed between pairs stays out of the ratio. The app's run is split into its start-up
  (Train clicked to the first step's progress: the process starting, importing numpy and the core,
  unpickling the data) and its steady state (first to last step's progress), which the target (at least
  80 % of the core's) is about.
- Latency while a run goes on: a real mouse press and release on an input cell (paint), then a move over
  a map cell of the first layer (hover), each timed until the event loop is idle again (bench_ui.Idle:
  every recompute done, every widget painted, and whatever snapshot of the run arrived meanwhile
  applied). Between two probes the hand rests REST_S while the event loop runs as a window's does, asleep
  whenever it has nothing to do (a loop spinning processEvents never sleeps, and the window's pacer then
  never sees the pause after a stroke that it shows snapshots in); a press is timed from the moment it was
  due, so a press that had to wait for a snapshot being drawn counts that wait. Target: p95 under 16 ms.
  The same probes without a run are printed for comparison, and how many snapshots (maps, filters,
  prediction) were shown a second meanwhile, with what each cost the GUI thread (issue 10: at least 10 a
  second).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "resources" / "digits.cnnviz.json"  # this checkout's, for every checkout measured
EPOCHS, PROBES = 10, 60  # 10 epochs: 450 steps, 14,370 examples (0.5 to 2 s on this machine)
REST_S = 0.02  # a hand's pace between two probes: the run goes on, the event loop runs


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def _bench_ui():
    sys.path.insert(0, str(HERE))
    import bench_ui

    return bench_ui


def core_rate() -> float:
    from cnnviz.core.training import Trainer
    from cnnviz.io import load_session
    from cnnviz.io.training_sets import TrainingSettings, load_training_data

    session = load_session(EXAMPLE)
    s = TrainingSettings.from_section(session.training)
    data = load_training_data(s.data, session.pipeline)
    trainer = Trainer(session.pipeline, s.loss, s.optimizer_config(), metrics=["accuracy"], seed=s.seed)
    steps = trainer.fit(data.x, data.y, epochs=EPOCHS, batch_size=s.batch_size, validation_split=s.validation_split)
    first = next(steps)  # counted as the app's steady state is: first to last step
    t0 = time.perf_counter()
    for progress in steps:
        pass
    return (progress.step - first.step) * s.batch_size / (time.perf_counter() - t0)


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
    return _bench_ui().Idle(app, ignored=(dock.run, dock._redraw))


def rest(app, seconds) -> float:
    """Run the event loop for `seconds` as a window's runs, asleep whenever it has nothing to do (the hand
    rests); the moment the next event is due."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    due = time.perf_counter() + seconds
    loop = QEventLoop()
    wake = QTimer(singleShot=True, timerType=Qt.TimerType.PreciseTimer)
    wake.timeout.connect(loop.quit)
    wake.start(round(1000 * seconds))
    loop.exec()
    return due


class Probes:
    """Paint an input cell (press, release) and hover a map cell, each timed until the loop is idle."""

    def __init__(self, app, window, idle):
        self.app, self.window, self.idle, self.k = app, window, idle, 0
        self.paint, self.hover = [], []
        self.rates, self.costs = [], []  # snapshots shown a second while probed (a run each), their costs (s)

    def once(self):
        mouse = _bench_ui()._mouse
        w, self.k = self.window, self.k + 1
        grid = w.input_grid
        r, c = self.k % 8, (self.k // 8) % 8
        grid.brush.setValue(0.0 if w.document.input[r, c, 0] > 0.5 else 1.0)  # every press changes its cell
        hm = grid.heatmap
        cell = hm.cell_center(r, c)
        t = rest(self.app, REST_S)
        mouse(Viewed(hm), "press", cell, True)
        mouse(Viewed(hm), "release", cell, False)
        self.idle()
        self.paint.append(time.perf_counter() - t)
        maps = w.layer_views.cards(1)[self.k % 8].heatmap
        t = time.perf_counter()
        mouse(Viewed(maps), "move", maps.cell_center(self.k % 6, (self.k // 6) % 6), False)
        self.idle()
        self.hover.append(time.perf_counter() - t)


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
    dock.epochs.setValue(EPOCHS if probes is None else 20 * EPOCHS)
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


def run_round(pairs: int, stepper: bool, quiet: bool) -> dict:
    """One process's measurements: `pairs` throughput pairs, one probed run, and (quiet) probes without one."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["CNNVIZ_RECOVERY_DIR"] = tempfile.mkdtemp(prefix="bench-recovery-")
    from PySide6.QtWidgets import QApplication

    from cnnviz.ui import settings

    settings.use_file(Path(tempfile.mkdtemp()) / "settings.ini")
    app = QApplication.instance() or QApplication(sys.argv)
    window = open_window(app, stepper)
    idle = run_idle(app, window.training_dock)
    run_in_app(app, window, idle)  # warm: the first run's process imports cold
    out = {"core": [], "app": [], "start": []}
    for k in range(pairs):
        if k % 2 == 0:
            out["core"].append(core_rate())
        run = run_in_app(app, window, idle)
        out["app"].append(run["steady"])
        out["start"].append(run["start"])
        if k % 2 == 1:
            out["core"].append(core_rate())
    probes = Probes(app, window, idle)
    run_in_app(app, window, idle, probes)
    out.update(paint=probes.paint, hover=probes.hover, rates=probes.rates, costs=probes.costs)
    if quiet:
        still = Probes(app, window, idle)
        for _ in range(PROBES):
            still.once()
        out.update(quiet_paint=still.paint, quiet_hover=still.hover)
    window.close()
    return out


def _spawn(root: str, pairs: int, stepper: bool, quiet: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=root, QT_QPA_PLATFORM="offscreen")
    # the benchmark is this file; the product is imported from `root` (first on the path, also in the
    # training process, which spawn starts with this path)
    script = (f"import json, sys, importlib.util; sys.path.insert(0, {root!r});"
              f"spec = importlib.util.spec_from_file_location('bench_training_ui', {str(Path(__file__).resolve())!r});"
              "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
              f"print('RESULT ' + json.dumps(m.run_round({pairs}, {stepper}, {quiet})))")
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script], capture_output=True, text=True,
                         env=env, cwd=root, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        errors = "\n".join(line for line in out.stderr.splitlines() if "propagateSizeHints" not in line)
        raise RuntimeError(f"{root}: the round ended with code {out.returncode}: {errors[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _line(name, values):
    ms = 1000
    return (f"{name}: p50 {statistics.median(values) * ms:.1f} ms, p95 {percentile(values, 95) * ms:.1f} ms "
            f"({len(values)})")


def report(label: str, rounds: list[dict]):
    merged = {key: [v for r in rounds for v in r.get(key, [])] for key in rounds[0]}
    print(f"\n[{label}]")
    if merged.get("quiet_paint"):
        print("  " + _line("paint without training", merged["quiet_paint"]), "|",
              _line("hover", merged["quiet_hover"]))
    print("  " + _line("paint while training", merged["paint"]))
    print("  " + _line("hover while training", merged["hover"]))
    if merged["rates"]:
        print(f"  snapshots shown while probed: {statistics.median(merged['rates']):.1f} a second (runs: "
              f"{', '.join(f'{r:.1f}' for r in merged['rates'])})"
              + (f"; {_line('cost of one', merged['costs'])}" if merged["costs"] else ""))
    ratios = sorted(100 * a / c for r in rounds for a, c in zip(r["app"], r["core"]))
    q1, q3 = percentile(ratios, 25), percentile(ratios, 75)
    print(f"  throughput, app's steady state against the core's: median {statistics.median(ratios):.0f} % "
          f"(quartiles {q1:.0f}–{q3:.0f} %, {len(ratios)} pairs); core {statistics.median(merged['core']):,.0f} "
          f"examples/s; start-up {statistics.median(merged['start']):.2f} s")
    return ratios


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="processes per checkout")
    parser.add_argument("--pairs", type=int, default=4, help="throughput pairs (core, app) per round")
    parser.add_argument("--against", help="another checkout (e.g. /work/main): its rounds interleaved with these")
    parser.add_argument("--stepper", action="store_true", help="the step-through dock in front, not Training")
    args = parser.parse_args()
    roots = [("this", str(HERE.parent))] + ([("other", os.path.abspath(args.against))] if args.against else [])
    print(f"load average before: {os.getloadavg()}")
    results = {label: [] for label, _ in roots}
    for k in range(args.rounds):
        for label, root in (roots if k % 2 == 0 else roots[::-1]):
            results[label].append(_spawn(root, args.pairs, args.stepper, quiet=k == 0))
            print(f"  round {k + 1} {label} done (load {os.getloadavg()[0]:.1f})", flush=True)
    ratios = {label: report(f"{label}: {root}", results[label]) for label, root in roots}
    if args.against:
        a, b = statistics.median(ratios["this"]), statistics.median(ratios["other"])
        print(f"\nthroughput ratio, this against other: {a:.0f} % against {b:.0f} %")


if __name__ == "__main__":
    main()
