"""How fast the arithmetic views answer, offscreen: one animation step (set_step + synchronous repaint) and one
brush edit followed by the visible view's refresh and repaint. Prints medians and p95 in milliseconds.

    python benchmarks/bench_arithmetic.py
"""

from __future__ import annotations

import os
import time

import numpy as np


def _stats(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"median {np.median(ms):6.2f} ms   p95 {np.percentile(ms, 95):6.2f} ms   (n={len(ms)})"


def _time(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench"])
    from cnnviz import core
    from cnnviz.ui.arithmetic import MatrixView, StepperView
    from cnnviz.ui.document import Document

    rng = np.random.default_rng(0)
    big = rng.random((128, 128, 3)).astype(np.float32)
    cases = {
        "seed 6×6×1, Conv2D 2×3×3": Document(),
        "128×128×3, Conv2D 8×3×3 same": Document(core.Pipeline(big.shape, [core.Conv2D(8, 3, padding="same")]), big),
        "64×64×2 → Conv2DTranspose 4×3×3 s2": Document(
            core.Pipeline((64, 64, 2), [core.Conv2DTranspose(4, 3, strides=2, padding="same")]),
            rng.random((64, 64, 2)).astype(np.float32),
        ),
    }
    for name, document in cases.items():
        view = StepperView(document)
        view.resize(1100, 560)
        view.show()
        app.processEvents()
        n = len(view.steps)

        def step(i, view=view, n=n):
            view.set_step((i * 37) % n)
            view.canvas.repaint()

        def edit(i, view=view, document=document):
            document.paint_cells([(i % 6, (i // 6) % 6, 0)], float(i % 3))
            document.flush()
            view.canvas.repaint()

        print(f"{name}\n  step + repaint:            {_stats(_time(step, 60))}")
        print(f"  brush edit + refresh + repaint: {_stats(_time(edit, 60))}")
        view.close()

    x = rng.random((12, 12, 1)).astype(np.float32)
    document = Document(core.Pipeline(x.shape, [core.Conv2D(2, 3)]), x)
    view = MatrixView(document)
    view.resize(1100, 560)
    view.show()
    app.processEvents()

    def matrix_edit(i):
        document.paint_cells([(i % 12, 0, 0)], float(i % 3))
        document.flush()
        view.canvas.repaint()

    print(f"matrix view 12×12×1 → 200×144 matrix\n  brush edit + refresh + repaint: {_stats(_time(matrix_edit, 40))}")


if __name__ == "__main__":
    main()
