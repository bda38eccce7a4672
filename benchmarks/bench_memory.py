"""What reusing freed memory (cnnviz/core/allocator.py) saves, each way in fresh processes, rounds interleaved:

- one run of the 256×256×8 pipeline of bench_ui.py (CPU and wall time, and the page faults of one run);
- one training step of bench_core.py's 6-layer 128×128×3 pipeline at batch 8 (bench_training.py's).

    python benchmarks/bench_memory.py [--rounds 3]

A process that has seen large blocks come and go already keeps some of them (glibc moves its threshold up), so
each measurement starts a new interpreter (this file again, with --child).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

MODES = ("default", "kept")


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def child(mode: str) -> dict:
    """The medians of one fresh process (`mode` "kept": with keep_freed_memory applied first)."""
    if mode == "kept":
        from cnnviz.core.allocator import keep_freed_memory

        keep_freed_memory()
    import bench_ui
    from bench_training import six_layer_trainer, step_ms

    pipeline, x = bench_ui.session_layers("256x256x8")
    pipeline.run(x)
    cpu, wall, paged = [], [], []
    for _ in range(20):
        f, c, w = _faults(), time.process_time(), time.perf_counter()
        pipeline.run(x)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
        paged.append(_faults() - f)
    median = statistics.median
    return {"cpu": median(cpu) * 1e3, "wall": median(wall) * 1e3, "faults": median(paged),
            "step": step_ms(*six_layer_trainer(), steps=8)}


def measure(mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="processes per way")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    results: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode, runs in results.items():
            runs.append(measure(mode))
    print(f"medians over {args.rounds} processes each (20 pipeline runs, 8 training steps per process)")
    print(f"{'':10s} {'pipeline cpu':>13s} {'wall':>8s} {'page faults':>12s} {'training step':>14s}")
    for mode, runs in results.items():
        row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(f"{mode:10s} {row['cpu']:10.1f} ms {row['wall']:5.1f} ms {row['faults']:12.0f} {row['step']:11.1f} ms")


if __name__ == "__main__":
    main()
