"""What reusing freed memory (cnnviz/core/allocator.py) saves, each way in fresh processes, rounds interleaved:

- one run of the 256×256×8 pipeline of bench_ui.py (CPU and wall time, and the page faults of one run);
- one training step of bench_core.py's 6-layer 128×128×3 pipeline at batch 8 (MSE, Adam).

    python benchmarks/bench_memory.py [--rounds 3]

A process that has seen large blocks come and go already keeps some of them (glibc moves its threshold up), so
each measurement starts a new interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

ONE_PROCESS = """
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {here!r})
if sys.argv[1] == "kept":
    from cnnviz.core.allocator import keep_freed_memory
    keep_freed_memory()
import bench_ui
from bench_core import six_layer_pipeline
from cnnviz.core.training import Trainer

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

pipeline, x = bench_ui.session_layers("256x256x8")
pipeline.run(x)
cpu, wall, paged = [], [], []
for _ in range(20):
    f, c, w = faults(), time.process_time(), time.perf_counter()
    pipeline.run(x)
    cpu.append(time.process_time() - c); wall.append(time.perf_counter() - w); paged.append(faults() - f)
six = six_layer_pipeline()
six.build()
rng = np.random.default_rng(0)
xb = rng.random((8, 128, 128, 3)).astype(np.float32)
yb = rng.standard_normal((8, *six.output_shapes()[-1])).astype(np.float32)
trainer = Trainer(six, "mse", "adam")
trainer.train_on_batch(xb, yb)
step = []
for _ in range(8):
    t = time.perf_counter()
    trainer.train_on_batch(xb, yb)
    step.append(time.perf_counter() - t)
median = lambda v: sorted(v)[len(v) // 2]
print(json.dumps({{"cpu": median(cpu) * 1e3, "wall": median(wall) * 1e3, "faults": median(paged),
                  "step": median(step) * 1e3}}))
"""


def measure(mode: str) -> dict:
    code = ONE_PROCESS.format(here=HERE)
    out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="processes per way")
    rounds = parser.parse_args().rounds
    results: dict[str, list[dict]] = {"default": [], "kept": []}
    for _ in range(rounds):
        for mode, runs in results.items():
            runs.append(measure(mode))
    print(f"medians over {rounds} processes each (20 pipeline runs, 8 training steps per process)")
    print(f"{'':10s} {'pipeline cpu':>13s} {'wall':>8s} {'page faults':>12s} {'training step':>14s}")
    for mode, runs in results.items():
        row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(f"{mode:10s} {row['cpu']:10.1f} ms {row['wall']:5.1f} ms {row['faults']:12.0f} {row['step']:11.1f} ms")


if __name__ == "__main__":
    main()
