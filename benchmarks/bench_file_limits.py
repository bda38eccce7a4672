"""What a session file can make cnnviz do: the four small files of issue 13 (refused up front now), and the
largest session the limits allow, saved and loaded.

    python benchmarks/bench_file_limits.py

Prints medians in ms (refusals) and the size of the largest file. Before the limits, on the shared 2-core
machine: strides 4096 on 2×2 rendered for over 30 s at 611 MB; 64×64×64×64 weights loaded in 0.7 s and
saved for 37 s to a 236 MB file; 20,000 ReLUs took 27 s to load; UpSampling2D 64 on 64×64 rendered > 10 s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import timing  # noqa: E402

from cnnviz.core import Conv2D, Pipeline  # noqa: E402
from cnnviz.core.limits import MAX_SAVED_VALUES  # noqa: E402
from cnnviz.io import Session, SessionError, load_session, save_session  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
median_ms = partial(timing.median_ms, repeat=5, warmup=0)  # a refusal must be quick the first time too
RUNAWAYS = ["transpose-strides-4096", "weights-16-million", "relu-20000", "upsampling-64-on-64x64"]


def refused(path):
    try:
        load_session(path)
    except SessionError:
        return
    raise AssertionError(f"{path.name} loaded")


def largest_session() -> Session:
    """As many numbers as a session may hold: a 1000×1000 input of random floats and one small Conv2D."""
    x = np.random.default_rng(0).standard_normal((1000, 1000, 1)).astype(np.float32)
    p = Pipeline(x.shape, [Conv2D(4, 3, padding="same")])
    p.build()
    assert x.size + sum(w.size for ws in p.get_weights() for w in ws) <= MAX_SAVED_VALUES
    return Session(x, p, {})


def main():
    for name in RUNAWAYS:
        path = CORPUS / f"{name}.cnnviz.json"
        print(f"{name} ({os.path.getsize(path):,} bytes): refused in {median_ms(lambda: refused(path)):.1f} ms")
    session = largest_session()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.cnnviz.json"
        save = median_ms(lambda: save_session(session, path), repeat=3)
        load = median_ms(lambda: load_session(path), repeat=3)
        run = median_ms(lambda: session.pipeline.run(session.input), repeat=3)
        numbers = session.input.size + sum(w.size for ws in session.pipeline.get_weights() for w in ws)
        print(f"largest session ({numbers:,} numbers, file {os.path.getsize(path) / 2**20:.1f} MB): "
              f"save {save:.0f} ms, load {load:.0f} ms, compute {run:.0f} ms")
    print(json.dumps({"machine load (1 min)": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
