"""Speed of the hover answers (medians). Run: python benchmarks/bench_provenance.py

Target: receptive_field over a 128×128 pipeline well under 50 ms (it runs on every hovered cell).
"""

from __future__ import annotations

import numpy as np
from bench_core import median_ms, six_layer_pipeline

from cnnviz.core import (
    AveragePooling2D,
    Conv2D,
    Pipeline,
    cell_provenance,
    conv_matrix,
    receptive_field,
    weight_footprint,
    weights_used,
)


def levels_of(pipeline: Pipeline) -> list[np.ndarray]:
    x = np.random.default_rng(0).random(pipeline.input_shape, dtype=np.float32)
    return pipeline.levels(x, pipeline.run(x))


def report(label: str, fn, repeat: int = 30) -> None:
    print(f"  {label:<36}{median_ms(fn, repeat):8.3f} ms")


def main() -> None:
    pipeline = six_layer_pipeline()
    levels = levels_of(pipeline)
    last = len(levels) - 1
    centre = tuple(n // 2 for n in levels[last].shape[:2]) + (0,)
    field = receptive_field(pipeline, levels, last, centre)
    print(f"6-layer 128×128×3 pipeline, cell {centre} of level {last}: field of "
          f"{sum(map(len, field.values()))} cells over {len(field)} levels")
    report("receptive_field", lambda: receptive_field(pipeline, levels, last, centre))

    conv, x = pipeline.layers[3], levels[3]
    cell = (x.shape[0] // 2, x.shape[1] // 2, 0)
    report(f"cell_provenance (Conv2D, {np.prod(conv.kernel.shape[:3])} terms)", lambda: cell_provenance(conv, x, cell))
    report("weights_used (Conv2D)", lambda: weights_used(conv, cell, x.shape))
    first = pipeline.layers[0]
    report("weight_footprint (128×128 input)", lambda: weight_footprint(first, levels[0].shape, (1, 1, 0, 0)))

    # Worst case: one cell that reads the whole 128×128×8 map and, through it, the whole input.
    whole = Pipeline((128, 128, 3), [Conv2D(8, 3, padding="same"), AveragePooling2D(128)])
    whole_levels = levels_of(whole)
    size = sum(map(len, receptive_field(whole, whole_levels, 2, (0, 0, 0)).values()))
    print(f"worst case, a field of {size} cells:")
    report("receptive_field", lambda: receptive_field(whole, whole_levels, 2, (0, 0, 0)), repeat=10)

    layer = Conv2D(1, 3, padding="same")
    print("the largest matrix:")
    report("conv_matrix 64×64×1 (4096×4096)", lambda: conv_matrix(layer, (64, 64, 1)), repeat=5)


if __name__ == "__main__":
    main()
