"""How fast the app answers, offscreen: start to first painted window, edit to every visible map repainted,
and peak memory of a big session. Each measurement runs in a fresh process.

    python benchmarks/bench_ui.py            # all of it
    python benchmarks/bench_ui.py --edits 300

Hover latency = Document.set_probe on a cell of the first or last level and the paint pass that lights its
receptive field in every map. Edit latency = one brush edit (Document.paint_cells), the coalesced recompute (flush) and the event loop's
paint pass that repaints every visible map (what a user's screen gets). Targets (issue 3): p95 < 16 ms,
start < 1.5 s, peak RSS < 300 MB for the 128×128×3 session.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def _app_and_window(settings_dir: str, arithmetic: bool = True):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from cnnviz.ui import settings
    from cnnviz.ui.app import create_app

    app = create_app(["bench"])
    settings.use_file(os.path.join(settings_dir, "settings.ini"))
    from cnnviz.ui import main_window
    from cnnviz.ui.main_window import MainWindow

    if not arithmetic:  # isolate the editors and layer views from the arithmetic docks (issue 4)
        main_window.install_arithmetic_docks = lambda window: None

    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    return app, window


def big_session():
    """128×128×3 through six layers with 8 filters per convolution."""
    from cnnviz import core

    layers = [
        core.Conv2D(8, 3, padding="same"),
        core.ReLU(),
        core.MaxPooling2D(2),
        core.Conv2D(8, 3, padding="same"),
        core.Activation("tanh"),
        core.UpSampling2D(2, "bilinear"),
    ]
    x = core.example_input("digit", (128, 128, 3))
    return core.Pipeline((128, 128, 3), layers), x


def visible_maps(window):
    views = window.layer_views
    area = views.viewport().rect()
    maps = []
    for card in views.cards():
        hm = card.heatmap
        top_left = hm.mapTo(views.viewport(), hm.rect().topLeft())
        if hm.isVisible() and area.intersects(hm.rect().translated(top_left)):
            maps.append(hm)
    return maps + [window.input_grid.heatmap]


def measure_latency(session: str, edits: int, arithmetic: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app, window = _app_and_window(tmp, arithmetic)
        doc = window.document
        if session == "big":
            pipeline, x = big_session()
            doc.set_pipeline(pipeline, x)
            app.processEvents()
        from cnnviz.ui.document import new_stroke_id

        h, w, c = doc.input.shape
        rng = np.random.default_rng(0)
        stroke = new_stroke_id()
        times = []
        for i in range(edits + 10):
            cell = (int(rng.integers(h)), int(rng.integers(w)), int(rng.integers(c)))
            t0 = time.perf_counter()
            doc.paint_cells([cell], float(i % 7) / 3.0, stroke)
            doc.flush()
            app.processEvents()  # the paint pass: every visible map that changed is repainted here
            dt = time.perf_counter() - t0
            if i >= 10:  # warm-up: first paints allocate caches
                times.append(dt * 1000)
        hovers = []  # a probe: the receptive field lit in every map, the weights in the filter editor
        for i in range(60):
            level = len(doc.levels) - 1 if i % 2 else 1
            rows, cols, chans = doc.levels[level].shape
            cell = (int(rng.integers(rows)), int(rng.integers(cols)), int(rng.integers(chans)))
            t0 = time.perf_counter()
            doc.set_probe(level, cell)
            app.processEvents()
            hovers.append((time.perf_counter() - t0) * 1000)
        shown = len(visible_maps(window))
        total = len(window.layer_views.cards()) + 1
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        window.close()
    return {
        "session": session,
        "arithmetic": arithmetic,
        "shape": "×".join(map(str, doc.input.shape)),
        "layers": len(doc.pipeline.layers),
        "maps_visible": shown,
        "maps_total": total,
        "edits": edits,
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "hover_p50_ms": float(np.percentile(hovers, 50)),
        "hover_p95_ms": float(np.percentile(hovers, 95)),
        "peak_rss_mb": rss,
    }


def measure_start() -> dict:
    """Parent side: from launching the interpreter to the child's report that the window was painted."""
    code = (
        "import os, tempfile; os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen');"
        "import sys; sys.argv=['bench'];"
        "from benchmarks.bench_ui import _app_and_window;"
        "app, w = _app_and_window(tempfile.mkdtemp()); w.repaint(); print('painted', flush=True)"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    elapsed = time.perf_counter() - t0
    if "painted" not in out.stdout:
        raise RuntimeError(out.stderr)
    return {"start_s": elapsed}


def _child(args) -> None:
    print(json.dumps(measure_latency(args.child, args.edits, not args.no_arithmetic)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--child", choices=("seed", "big"), help=argparse.SUPPRESS)
    parser.add_argument("--no-arithmetic", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    starts = [measure_start()["start_s"] for _ in range(3)]
    print(f"start to first painted window: median {np.median(starts):.2f} s (runs: "
          + ", ".join(f"{s:.2f}" for s in starts) + ")")
    for session, extra in (("seed", []), ("big", []), ("seed", ["--no-arithmetic"]), ("big", ["--no-arithmetic"])):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", session, "--edits", str(args.edits)]
                             + extra, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        docks = "whole app          " if r["arithmetic"] else "without arithmetic "
        maps = f"{r['maps_visible']}/{r['maps_total']} maps"
        print(f"{docks}{r['session']:4s} {r['shape']:>9s} input, {r['layers']} layers, {maps} "
              f"visible: edit → repainted p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms; "
              f"hover → lit p50 {r['hover_p50_ms']:.1f} ms, p95 {r['hover_p95_ms']:.1f} ms; "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
