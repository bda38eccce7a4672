"""Speed of the file side (medians). Run: python benchmarks/bench_files.py (figures render offscreen)

Session save/load of the seed example and of a 256×256×3 input through 6 layers with 8 filters, the
generated code, and figures of the seed example (PNG ×1 and ×2, SVG, PDF).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from cnnviz.core import Conv2D, Conv2DTranspose, MaxPooling2D, Pipeline, ReLU, UpSampling2D, seed_input, seed_pipeline
from cnnviz.io import Session, generate_code, load_session, save_session

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # figures need no display


def median_ms(fn, repeat: int = 9) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def big_session() -> Session:
    x = np.random.default_rng(0).random((256, 256, 3), dtype=np.float32)
    p = Pipeline(x.shape, [Conv2D(8, 3, padding="same"), ReLU(), MaxPooling2D(2), Conv2D(8, 3, padding="same"),
                           UpSampling2D(2, "bilinear"), Conv2DTranspose(3, 3, padding="same")])
    p.build()
    return Session(x, p, {})


def main():
    folder = Path(tempfile.mkdtemp())
    for name, session in (("seed 6×6×1", Session(seed_input(), seed_pipeline(), {})), ("256×256×3, 6 layers", big_session())):
        path = folder / "s.cnnviz.json"
        save = median_ms(lambda: save_session(session, path))
        load = median_ms(lambda: load_session(path))
        code = median_ms(lambda: generate_code(session, "pytorch"), repeat=3)
        print(f"{name}: file {os.path.getsize(path) / 1024:.0f} KiB, save {save:.1f} ms, load {load:.1f} ms, "
              f"pytorch code {code:.1f} ms")

    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (fonts need it)
    from cnnviz.ui.figure import render_bytes, session_figure

    figure = session_figure(Session(seed_input(), seed_pipeline(), {}))
    for fmt, scale in (("png", 1.0), ("png", 2.0), ("svg", 1.0), ("pdf", 1.0)):
        ms = median_ms(lambda: render_bytes(figure, fmt, scale))
        print(f"seed figure {fmt} ×{scale:g}: {ms:.1f} ms, {len(render_bytes(figure, fmt, scale)) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
