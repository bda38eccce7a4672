"""Training speed (medians). Run: python benchmarks/bench_training.py

- The digits CNN of issue 9, Conv2D(8, 3) → ReLU → MaxPooling2D(2) → Flatten → Dense(10, softmax), at
  batch 32: forward + backward + Adam, examples per second, against PyTorch CPU on the same network from
  the same weights in the same run (target: ratio ≥ 1.0). The two are measured in alternating rounds so
  that a busy machine slows both alike.
- One training step of the 6-layer 128×128×3 pipeline of bench_core.py at batch 8 (MSE, Adam), and the
  peak memory that step allocates (tracemalloc sees numpy's buffers).
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402
from bench_core import six_layer_pipeline  # noqa: E402

from cnnviz.core import Conv2D, Dense, Flatten, MaxPooling2D, Pipeline, ReLU  # noqa: E402
from cnnviz.core.training import Trainer  # noqa: E402
from cnnviz.io import load_digits  # noqa: E402

BATCH, ROUNDS, STEPS = 32, 15, 40


def digits_cnn() -> Pipeline:
    pipeline = Pipeline((8, 8, 1), [Conv2D(8, 3), ReLU(), MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")],
                        seed=0)
    pipeline.build()
    return pipeline


def cnnviz_round(trainer, batches):
    t0 = time.perf_counter()
    for x, y in batches:
        trainer.train_on_batch(x, y)
    return (time.perf_counter() - t0) / len(batches)


def torch_setup(pipeline, threads):
    """The same network and weights in PyTorch (NCHW; the Dense kernel permuted for torch's flatten
    order), CrossEntropyLoss on the logits and Adam with Keras's epsilon; or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    conv_w, conv_b = pipeline.layers[0].get_weights()
    dense_w, dense_b = pipeline.layers[4].get_weights()
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(72, 10))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(conv_w.transpose(3, 2, 0, 1).copy()))
        net[0].bias.copy_(torch.from_numpy(conv_b))
        net[4].weight.copy_(torch.from_numpy(dense_w.reshape(3, 3, 8, 10).transpose(2, 0, 1, 3).reshape(72, 10).T.copy()))
        net[4].bias.copy_(torch.from_numpy(dense_b))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss = torch.nn.CrossEntropyLoss()

    def run(batches):
        t0 = time.perf_counter()
        for x, y in batches:
            optimizer.zero_grad()
            loss(net(x), y).backward()
            optimizer.step()
        return (time.perf_counter() - t0) / len(batches)

    def convert(batches):
        return [(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y))
                for x, y in batches]

    return run, convert


def digits_benchmark() -> None:
    images, labels = load_digits()
    order = np.random.default_rng(0).permutation(len(images))
    batches = [(images[order[i : i + BATCH]], labels[order[i : i + BATCH]])
               for i in range(0, STEPS * BATCH, BATCH)]
    pipeline = digits_cnn()
    ours = Trainer(pipeline, "sparse_categorical_crossentropy", "adam")
    rivals = {}
    for threads in (1, 2):
        setup = torch_setup(digits_cnn(), threads)  # the same seed: the same initial weights
        if setup is not None:
            run, convert = setup
            rivals[f"torch {threads} thread{'s' if threads > 1 else ''}"] = (run, convert(batches))
    times = {"cnnviz": []} | {name: [] for name in rivals}
    cnnviz_round(ours, batches[:5])  # warm up
    for _ in range(ROUNDS):
        times["cnnviz"].append(cnnviz_round(ours, batches))
        for name, (run, converted) in rivals.items():
            import torch

            torch.set_num_threads(int(name.split()[1]))
            times[name].append(run(converted))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"digits CNN, batch {BATCH}, forward + backward + Adam ({ROUNDS} rounds of {STEPS} steps, medians):")
    for name, step in medians.items():
        print(f"  {name:<16} {step * 1e3:7.3f} ms/step  {BATCH / step:9.0f} examples/s")
    if rivals:
        best = min(medians[name] for name in rivals)
        print(f"  ratio cnnviz / best torch throughput: {best / medians['cnnviz']:.2f} (target ≥ 1.0)")
    else:
        print("  torch not importable: no ratio")


def six_layer_trainer() -> tuple[Trainer, np.ndarray, np.ndarray]:
    """(trainer, x, y): bench_core's 6-layer pipeline, MSE and Adam, on a batch of 8; one step already taken."""
    pipeline = six_layer_pipeline()
    pipeline.build()
    rng = np.random.default_rng(0)
    x = rng.random((8, 128, 128, 3)).astype(np.float32)
    y = rng.standard_normal((8, *pipeline.output_shapes()[-1])).astype(np.float32)
    trainer = Trainer(pipeline, "mse", "adam")
    trainer.train_on_batch(x, y)
    return trainer, x, y


def step_ms(trainer, x, y, steps: int = 10) -> float:
    """The median wall time of one train_on_batch(x, y), in ms."""
    return timing.median_ms(lambda: trainer.train_on_batch(x, y), repeat=steps, warmup=0)


def six_layer_step() -> None:
    trainer, x, y = six_layer_trainer()
    median = step_ms(trainer, x, y)
    tracemalloc.start()
    trainer.train_on_batch(x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"6-layer 128×128×3 pipeline, batch 8, one train_on_batch (MSE, Adam): median "
          f"{median:.1f} ms; peak memory allocated during the step {peak / 2**20:.1f} MiB "
          f"(the batch itself is {x.nbytes / 2**20:.1f} MiB)")


def main() -> None:
    digits_benchmark()
    six_layer_step()


if __name__ == "__main__":
    main()
