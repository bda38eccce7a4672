"""Speed of step-through animations (medians). Run: python benchmarks/bench_animation.py (offscreen)

The lecture's Conv2D #1 (32 steps) at the CLI's 1200×420 canvas: the frames alone, then each file format
at scale 1 and 2; and the Conv2DTranspose of transposed-back-to-6x6 stepped as a convolution (36 steps).
"""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # frames need no display

import timing  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402

from cnnviz.io import load_session  # noqa: E402
from cnnviz.ui.arithmetic.step_animation import (  # noqa: E402
    CANVAS,
    export_animation,
    frame_layout,
    frames,
    session_step_model,
)

RESOURCES = Path(__file__).parent.parent / "resources"
median_ms = partial(timing.median_ms, repeat=3, warmup=0)  # an export takes seconds


def main() -> None:
    _app = QGuiApplication.instance() or QGuiApplication(["bench"])
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


if __name__ == "__main__":
    main()
