"""Speed of the numeric core (medians over repeated runs). Run: python benchmarks/bench_core.py

Targets (issue 2): Conv2D 256×256×8 -> 16 filters 3×3 `same` within 2× of torch's CPU conv2d measured
in the same run; the 6-layer 128×128×3 pipeline under 5 ms.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import timing

from cnnviz.core import (
    Conv2D,
    Conv2DTranspose,
    MaxPooling2D,
    Pipeline,
    ReLU,
    UpSampling2D,
    seed_input,
    seed_pipeline,
)

median_ms = partial(timing.median_ms, repeat=30, warmup=3)  # short calls: many, after a warm-up


def torch_conv(x: np.ndarray, kernel: np.ndarray):
    """torch's CPU conv2d on the same data (`same` at stride 1 = padding 1) as a function, or None
    without torch."""
    try:
        import torch
    except ImportError:
        return None
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
    wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))

    def run():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, padding=1)

    return run


def single_threaded_ms(fn) -> float:
    """Median of fn with torch pinned to one thread."""
    import torch

    default = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return median_ms(fn)
    finally:
        torch.set_num_threads(default)


def six_layer_pipeline() -> Pipeline:
    return Pipeline(
        (128, 128, 3),
        [
            Conv2D(8, 3, padding="same"),
            ReLU(),
            MaxPooling2D(2),
            Conv2D(8, 3, padding="same"),
            UpSampling2D(2, "bilinear"),
            Conv2DTranspose(3, 3),
        ],
    )


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 256, 8)).astype(np.float32)
    conv = Conv2D(16, 3, padding="same")
    conv.build(x.shape)
    convt = Conv2DTranspose(16, 3, strides=1, padding="same")
    convt.build(x.shape)
    up = UpSampling2D(2, "bilinear")

    rows = [
        ("Conv2D 256×256×8 -> 16, 3×3 same", median_ms(lambda: conv(x))),
        ("Conv2DTranspose 256×256×8 -> 16, 3×3 same", median_ms(lambda: convt(x))),
        ("UpSampling2D bilinear ×2 of 256×256×8", median_ms(lambda: up(x))),
    ]
    seed, x0 = seed_pipeline(), seed_input()
    rows.append(("default (seed) pipeline 6×6×1, 3 layers", median_ms(lambda: seed.run(x0), repeat=200)))
    six = six_layer_pipeline()
    x6 = rng.random((128, 128, 3)).astype(np.float32)
    six.build()
    rows.append(("6-layer pipeline 128×128×3", median_ms(lambda: six.run(x6), repeat=100)))

    for label, ms in rows:
        print(f"{label:<48} median {ms:8.3f} ms")
    # torch last: its OpenMP threads keep spinning for a while after a call and would slow what follows
    conv_ms, mflop = rows[0][1], 2 * 256 * 256 * 16 * 3 * 3 * 8 / 1e6
    torch_fn = torch_conv(x, conv.kernel)
    if torch_fn is None:
        print("torch not importable: no conv2d ratio")
    else:
        torch_ms, single_ms = median_ms(torch_fn), single_threaded_ms(torch_fn)
        print(f"{'torch conv2d (same data, CPU, default threads)':<48} median {torch_ms:8.3f} ms")
        print(f"{'torch conv2d (same data, CPU, 1 thread)':<48} median {single_ms:8.3f} ms")
        print(f"Conv2D / torch ratio: {conv_ms / torch_ms:.2f} (target ≤ 2); "
              f"against single-threaded torch: {conv_ms / single_ms:.2f}")
        print(f"GFLOP/s: cnnviz {mflop / conv_ms:.0f}, torch {mflop / torch_ms:.0f}, "
              f"torch 1 thread {mflop / single_ms:.0f}")
        if torch_ms > single_ms:
            print("torch is slower on its default threads than on one: the machine is busy, run again")
    print(f"6-layer pipeline: {rows[-1][1]:.2f} ms (target < 5 ms)")


if __name__ == "__main__":
    main()
