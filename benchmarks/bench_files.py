"""Speed of the file side (medians). Run: python benchmarks/bench_files.py (figures render offscreen)

Session save/load of the seed example and of a 256×256×3 input through 6 layers with 8 filters, the
generated code, figures of the seed example (PNG ×1 and ×2, SVG, PDF), and figures of large levels: the
256×256×8 maps of that session and a 2048×2048 level, the largest the limits let a session compute
(their cells are far too small for numbers: deciding so once took seconds of formatting every value).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from timing import median_ms

from cnnviz.core import Conv2D, Conv2DTranspose, MaxPooling2D, Pipeline, ReLU, UpSampling2D, seed_input, seed_pipeline
from cnnviz.io import Session, generate_code, load_session, save_session

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # figures need no display


def big_session() -> Session:
    x = np.random.default_rng(0).random((256, 256, 3), dtype=np.float32)
    p = Pipeline(x.shape, [Conv2D(8, 3, padding="same"), ReLU(), MaxPooling2D(2), Conv2D(8, 3, padding="same"),
                           UpSampling2D(2, "bilinear"), Conv2DTranspose(3, 3, padding="same")])
    p.build()
    return Session(x, p, {})


def huge_level_session() -> Session:
    """A 1024×1024 input (2^20 numbers, all a file may save) upsampled to 2048×2048."""
    x = np.random.default_rng(0).random((1024, 1024, 1), dtype=np.float32)
    p = Pipeline(x.shape, [UpSampling2D(2)])
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
    for name, session in (("256×256×3, 6 layers (256×256×8 levels)", big_session()),
                          ("1024×1024 upsampled to 2048×2048", huge_level_session())):
        laid = median_ms(lambda: session_figure(session), repeat=3, warmup=0)
        png = median_ms(lambda: render_bytes(session_figure(session), "png"), repeat=3, warmup=0)
        print(f"{name} figure: laid out {laid:.0f} ms, laid out and PNG {png:.0f} ms")


if __name__ == "__main__":
    main()
