"""Speed of step-through animations (medians). Run: python benchmarks/bench_animation.py (offscreen)

The lecture's Conv2D #1 (32 steps) at a 1200×420 canvas: the frames alone, then each file format at scale 1
and 2; the Conv2DTranspose of transposed-back-to-6x6 stepped as a convolution (36 steps); and how long the
GUI thread goes without handling an event while a GIF is exported: on the GUI thread (as the app did) and
in the export's QThread (as it does now), measured as the longest gap between ticks of a 5 ms timer.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # frames need no display

import timing  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSize, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from cnnviz.io import load_session  # noqa: E402
from cnnviz.ui.arithmetic.animation_export import start_export  # noqa: E402
from cnnviz.ui.arithmetic.step_animation import (  # noqa: E402
    export_animation,
    frame_layout,
    frames,
    session_step_model,
)

RESOURCES = Path(__file__).parent.parent / "resources"
median_ms = partial(timing.median_ms, repeat=3, warmup=0)  # an export takes seconds
CANVAS = QSize(1200, 420)


def longest_stall_ms(run, done) -> float:
    """The longest time between two ticks of a 5 ms timer while `run()` (started from the event loop)
    works, until `done()` is true."""
    app = QApplication.instance()
    clock, gaps = QElapsedTimer(), []
    timer = QTimer()
    timer.setInterval(5)

    def tick():
        gaps.append(clock.restart())

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    QTimer.singleShot(0, run)
    app.processEvents()
    while not done():
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()
    timer.stop()
    return float(max(gaps, default=0))


def stalls(model, out: Path, scale: float) -> tuple[float, float]:
    """(GUI-thread export, QThread export): the longest stall of the event loop in ms."""
    finished = []
    stall_gui = longest_stall_ms(lambda: (export_animation(model, out / "a.gif", 2, CANVAS, scale),
                                          finished.append(1)), lambda: bool(finished))
    parent = QWidget()
    jobs = []
    stall_thread = longest_stall_ms(lambda: jobs.append(start_export(parent, model, out / "b.gif", 2, CANVAS,
                                                                       scale)),
                                    lambda: bool(jobs) and jobs[0].isFinished())
    parent.deleteLater()
    return stall_gui, stall_thread


def main() -> None:
    _app = QApplication.instance() or QApplication(["bench"])
    conv = session_step_model(load_session(RESOURCES / "lecture.cnnviz.json"), 1)
    direct = session_step_model(load_session(RESOURCES / "transposed-back-to-6x6.cnnviz.json"), 3, True)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        ms = median_ms(lambda: list(frames(conv, frame_layout(conv, CANVAS))))
        print(f"lecture conv, 32 frames rendered, scale 1: {ms:8.0f} ms")
        for scale in (1.0, 2.0):
            for name in ("steps.gif", "steps.apng", "steps.png"):
                ms = median_ms(lambda: export_animation(conv, out / name, 2, CANVAS, scale))
                print(f"lecture conv -> {name:10s} scale {scale:g}: {ms:8.0f} ms")
        ms = median_ms(lambda: export_animation(direct, out / "t.gif", 2, CANVAS, 1.0))
        print(f"transpose as a convolution, 36 frames -> gif scale 1: {ms:8.0f} ms")
        for scale in (1.0, 2.0):
            runs = [stalls(conv, out, scale) for _ in range(3)]
            gui, thread = (statistics.median(r[i] for r in runs) for i in (0, 1))
            print(f"GIF export, scale {scale:g}: longest event-loop stall {gui:6.0f} ms on the GUI thread, "
                  f"{thread:6.0f} ms with the export in its thread")


if __name__ == "__main__":
    main()
