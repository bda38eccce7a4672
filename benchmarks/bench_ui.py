"""How fast the app answers, measured from outside: real Qt events sent to the real window, timed until the
event loop is idle again (every recompute done, every widget updated and painted). Each session runs in a
fresh process.

    python benchmarks/bench_ui.py                      # every edit kind on every session
    python benchmarks/bench_ui.py --sessions seed --repeat 40
    python benchmarks/bench_ui.py --against /work/main # the same cases on another checkout, interleaved
    python benchmarks/bench_ui.py --clock cpu          # the process's CPU time: steadier on a shared machine

Edit kinds: input paint (a drag on the input grid), weight paint (a drag on a filter slice), hover over a
map (mouse moves over a layer output), hover over a weight (mouse moves over a filter slice), a parameter
change (Up/Down on the stride box of the first Conv2D), add/remove a layer (Layer menu actions), and the
autosave (how long the GUI thread is blocked by one). Sessions: the lecture's seed; 128×128×3 × 6 layers ×
8 filters; 256×256×8 × 10 layers. Targets (issue 8, CPU p95): painting and hovering < 16 ms on the first two,
a parameter change < 16 ms on the seed and < 50 ms at 128×128×3, painting < 33 ms at 256×256×8.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("input_paint", "weight_paint", "map_hover", "weight_hover", "param_change", "add_remove", "autosave")
SESSIONS = ("seed", "128x128x3", "256x256x8")


def session_layers(name):
    """The pipeline and input of a benchmark session (None for the seed: the window starts with it)."""
    from cnnviz import core

    if name == "seed":
        return None
    if name == "128x128x3":
        layers = [
            core.Conv2D(8, 3, padding="same"),
            core.ReLU(),
            core.MaxPooling2D(2),
            core.Conv2D(8, 3, padding="same"),
            core.Activation("tanh"),
            core.UpSampling2D(2, "bilinear"),
        ]
        shape = (128, 128, 3)
    else:
        layers = [
            core.Conv2D(8, 3, padding="same"),
            core.ReLU(),
            core.MaxPooling2D(2),
            core.Conv2D(8, 3, padding="same"),
            core.ReLU(),
            core.Conv2D(8, 3, padding="same"),
            core.Activation("tanh"),
            core.UpSampling2D(2),
            core.Conv2D(8, 3, padding="same"),
            core.ReLU(),
        ]
        shape = (256, 256, 8)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    return core.Pipeline(shape, layers), x


class Idle:
    """Runs the event loop until a pass handles no event at all: the window has caught up. Events for the
    objects in `ignored` do not count (a stream that never stops, such as a training run's)."""

    def __init__(self, app, ignored=()):
        from PySide6.QtCore import QEvent, QObject

        # called for every event the app handles (~600 in a 128×128 stride change): kept to a minimum, since its
        # time is counted in the edit's
        ignored_ids = frozenset(map(id, ignored))

        class Counter(QObject):
            count = 0

            def eventFilter(self, obj, ev):  # noqa: N802 (Qt name)
                if not ignored_ids or id(obj) not in ignored_ids:
                    Counter.count += 1
                return False

        self.app, self.counter, self.deferred = app, Counter(), QEvent.Type.DeferredDelete
        app.installEventFilter(self.counter)

    def __call__(self):
        for _ in range(50):
            before = self.counter.count
            self.app.processEvents()
            self.app.sendPostedEvents(None, self.deferred)  # processEvents() alone never runs deleteLater
            if self.counter.count == before:
                return


def _mouse(widget, kind, cell_pos, buttons):
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    types = {"move": QEvent.Type.MouseMove, "press": QEvent.Type.MouseButtonPress,
             "release": QEvent.Type.MouseButtonRelease}
    button = Qt.MouseButton.LeftButton if kind != "move" else Qt.MouseButton.NoButton
    held = Qt.MouseButton.LeftButton if buttons else Qt.MouseButton.NoButton
    local = QPointF(cell_pos)
    global_pos = QPointF(widget.mapToGlobal(cell_pos))
    ev = QMouseEvent(types[kind], local, global_pos, button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget.viewport(), ev)


class Case:
    """One edit kind: `step(i)` sends the events of edit i; the timing includes the idle wait."""

    def __init__(self, window, idle, rng, clock=time.perf_counter):
        self.window, self.idle, self.rng, self.clock = window, idle, rng, clock

    def timed(self, step, n, warmup=3):
        """`step(i)` may return its own start time, to leave out its untimed preparation."""
        times = []
        for i in range(n + warmup):
            t0 = self.clock()
            t0 = step(i) or t0
            self.idle()
            if i >= warmup:
                times.append((self.clock() - t0) * 1000)
        return times


def _random_cell(rng, heatmap):
    rows, cols = heatmap.shape
    return int(rng.integers(rows)), int(rng.integers(cols))


def paint_drags(case, heatmap, brush, n):
    """n mouse moves with the button held, each to a cell the stroke has not painted yet, so that every move
    is an edit (a stroke keeps the value it was pressed with). A stroke that has painted every cell (nine
    on a 3×3 filter) is released and a new one pressed with a new brush value; presses and releases are
    not timed."""
    from cnnviz.ui.cell_editing import line_cells

    rows, cols = heatmap.shape
    stroke = {"painted": set(), "last": None, "count": 0}

    def release():
        if stroke["last"] is not None:  # where the mouse is: a release elsewhere would paint a line to there
            _mouse(heatmap, "release", heatmap.cell_center(*stroke["last"]), False)
            case.idle()

    def press():
        release()
        stroke["count"] += 1
        brush.setValue(round(1.0 + 0.001 * stroke["count"], 3))  # the sessions' values lie below 1
        cell = _random_cell(case.rng, heatmap)
        stroke.update(painted={cell}, last=cell)
        _mouse(heatmap, "press", heatmap.cell_center(*cell), True)
        case.idle()

    def step(i):
        if stroke["last"] is None or len(stroke["painted"]) == rows * cols:
            press()
        cell = _random_cell(case.rng, heatmap)
        while cell in stroke["painted"]:
            cell = _random_cell(case.rng, heatmap)
        stroke["painted"].update(line_cells(stroke["last"], cell))
        stroke["last"] = cell
        t0 = case.clock()
        _mouse(heatmap, "move", heatmap.cell_center(*cell), True)
        return t0

    times = case.timed(step, n)
    release()
    return times


def hover_over(case, heatmaps, n):
    def step(i):
        hm = heatmaps[i % len(heatmaps)]
        _mouse(hm, "move", hm.cell_center(*_random_cell(case.rng, hm)), False)

    times = case.timed(step, n)
    for hm in heatmaps:
        _mouse(hm, "move", hm.cell_center(0, 0), False)
        from PySide6.QtCore import QEvent
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(hm, QEvent(QEvent.Type.Leave))
    case.idle()
    return times


def visible_cards(window):
    views = window.layer_views
    area = views.viewport().rect()
    shown = []
    for card in views.cards():
        hm = card.heatmap
        top_left = hm.mapTo(views.viewport(), hm.rect().topLeft())
        if hm.isVisible() and area.intersects(hm.rect().translated(top_left)):
            shown.append(card)
    return shown


def first_and_last_maps(window):
    """The first and the last map on screen: the input's (a small field) and a deep level's (a field that
    reaches back through every layer)."""
    cards = visible_cards(window)
    return [cards[0].heatmap, cards[-1].heatmap]


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def run_session(name: str, repeat: int, kinds=KINDS, clock: str = "wall") -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["CNNVIZ_RECOVERY_DIR"] = tempfile.mkdtemp(prefix="bench-recovery-")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from cnnviz.ui import settings
    from cnnviz.ui.app import create_app

    app = create_app(["bench"])
    settings.use_file(os.path.join(tempfile.mkdtemp(), "settings.ini"))
    from cnnviz.ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    idle = Idle(app)
    idle()
    doc = window.document
    made = session_layers(name)
    if made is not None:
        doc.set_pipeline(*made)
    doc.select_layer(1)  # the first Conv2D: its filters in the editor, its form in the pipeline panel
    idle()
    layers = len(doc.pipeline.layers)
    case = Case(window, idle, np.random.default_rng(0), CLOCKS[clock])

    def stride(i):
        box = window.pipeline_panel.fields["strides"].boxes[1]  # re-read: the form may have been rebuilt
        QTest.keyClick(box, Qt.Key.Key_Up if i % 2 == 0 else Qt.Key.Key_Down)

    def add_remove(i):
        if i % 2 == 0:
            doc.select_layer(1)  # untimed: the removal selected another layer; the ReLU goes after the Conv2D
            idle()
            t0 = case.clock()
            window.action_set.add_layer["ReLU"].trigger()
            return t0
        window.action_set.remove_layer.trigger()  # the new layer is selected: remove it again

    def add_remove_edits(n):
        times = case.timed(add_remove, n, warmup=2)
        doc.select_layer(1)  # the removal selected another layer: kinds run after this one expect the first
        idle()
        return times

    def autosave(n):
        blocked = []
        for _ in range(n):
            window.file_actions._unsaved_edits = True
            t0 = time.perf_counter()
            window.file_actions.autosave()
            blocked.append((time.perf_counter() - t0) * 1000)
            getattr(window.file_actions, "wait_for_autosave", lambda: None)()  # a worker's save: let it finish
            idle()
        return blocked

    cases = {
        "input_paint": lambda: paint_drags(case, window.input_grid.heatmap, window.input_grid.brush, repeat),
        "weight_paint": lambda: paint_drags(case, window.filter_editor.slices[0].heatmap, window.filter_editor.brush,
                                          repeat),
        "map_hover": lambda: hover_over(case, first_and_last_maps(window), repeat),
        "weight_hover": lambda: hover_over(case, [window.filter_editor.slices[0].heatmap], repeat),
        "param_change": lambda: case.timed(stride, repeat + repeat % 2),  # back to the stride it started with
        "add_remove": lambda: add_remove_edits(max(6, repeat // 2 * 2)),
        "autosave": lambda: autosave(5),
    }
    out = {kind: cases[kind]() for kind in kinds}
    window.file_actions._unsaved_edits = False
    window.close()
    return {"session": name, "shape": "×".join(map(str, doc.input.shape)), "layers": layers,
            "maps": len(window.layer_views.cards()) + 1, "times": out}


def _spawn(root: str, session: str, repeat: int, kinds, clock: str = "wall") -> dict:
    env = dict(os.environ, PYTHONPATH=root, QT_QPA_PLATFORM="offscreen")
    # the benchmark module is this file; the product is imported from `root` (PYTHONPATH first)
    script = (f"import json, sys, importlib.util; sys.path.insert(0, {root!r});"
              f"spec = importlib.util.spec_from_file_location('bench_ui', {os.path.abspath(__file__)!r});"
              "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
              f"print('RESULT ' + json.dumps(m.run_session({session!r}, {repeat}, {tuple(kinds)!r}, {clock!r})))")
    for attempt in (1, 2):  # a process that dies (a shared machine's memory, a Qt crash) is run once more
        out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script], capture_output=True, text=True,
                             env=env, cwd=root, check=False)
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if lines:
            return json.loads(lines[-1][len("RESULT "):])
        errors = "\n".join(line for line in out.stderr.splitlines() if "propagateSizeHints" not in line)
        print(f"  {root} {session}: run {attempt} ended with code {out.returncode}: {errors[-2000:]}", flush=True)
    raise RuntimeError(f"{root} {session} failed twice")


def _stats(times):
    return float(np.median(times)), float(np.percentile(times, 95))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60, help="edits per kind (a p95 of 30 is their second largest)")
    parser.add_argument("--sessions", nargs="*", default=list(SESSIONS), choices=SESSIONS)
    parser.add_argument("--against", help="another checkout (e.g. /work/main): run both, interleaved")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per session")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--clock", default="wall", choices=sorted(CLOCKS),
                        help="wall time, or the process's CPU time (other processes' load left out)")
    args = parser.parse_args(argv)
    roots = [("this", HERE)] + ([("other", os.path.abspath(args.against))] if args.against else [])
    print(f"load average before: {os.getloadavg()}")
    for session in args.sessions:
        merged = {label: {} for label, _ in roots}
        for _ in range(args.rounds):
            for label, root in (roots if _ % 2 == 0 else roots[::-1]):  # alternate who runs first
                r = _spawn(root, session, args.repeat, args.kinds, args.clock)
                for kind, times in r["times"].items():
                    merged[label].setdefault(kind, []).extend(times)
        print(f"\n{session}: {r['shape']} × {r['layers']} layers, {r['maps']} maps   (load {os.getloadavg()[0]:.1f})")
        header = "".join(f"{label + ' p50':>12s}{label + ' p95':>12s}" for label, _ in roots)
        print(f"{'edit kind':14s}{header}   (ms, {args.clock} clock)")
        for kind in args.kinds:
            row = "".join("{:12.1f}{:12.1f}".format(*_stats(merged[label][kind])) for label, _ in roots)
            print(f"{kind:14s}{row}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main())
