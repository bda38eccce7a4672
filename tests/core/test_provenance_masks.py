"""The hover answers as boolean masks equal the per-cell sets they replace in the UI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    AveragePooling2D,
    ConfigError,
    Conv2D,
    Conv2DTranspose,
    MaxPooling2D,
    Pipeline,
    ReLU,
    UpSampling2D,
    receptive_field,
    weight_footprint,
)
from cnnviz.core.provenance import (
    receptive_field_axes,
    receptive_field_masks,
    weight_footprint_mask,
    weights_reaching,
    weights_reaching_mask,
)


def cells(mask) -> set:
    return {tuple(int(v) for v in i) for i in np.argwhere(mask)}


sliding = st.one_of(
    st.builds(lambda k, s, p: Conv2D(2, k, strides=s, padding=p), st.integers(1, 3), st.integers(1, 2),
              st.sampled_from(["valid", "same"])),
    st.builds(lambda k, s, p: Conv2DTranspose(2, k, strides=s, padding=p), st.integers(1, 3), st.integers(1, 2),
              st.sampled_from(["valid", "same"])),
    st.builds(lambda k: MaxPooling2D(k, padding="same"), st.integers(1, 2)),
    st.builds(AveragePooling2D, st.just(1)),
    st.builds(lambda f, i: UpSampling2D(f, i), st.integers(1, 2), st.sampled_from(["nearest", "bilinear"])),
    st.builds(ReLU),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(sliding, min_size=1, max_size=3), st.integers(4, 7), st.integers(1, 2), st.data())
def test_masks_equal_the_sets(layers, side, channels, data):
    pipeline = Pipeline((side, side, channels), layers)
    try:
        pipeline.build()
    except ConfigError:
        return
    x = np.random.default_rng(0).random((side, side, channels), dtype=np.float32)
    levels = [x] + pipeline.run(x)
    shapes = [lv.shape for lv in levels]
    level = data.draw(st.integers(0, len(layers)))
    cell = tuple(data.draw(st.integers(0, n - 1)) for n in shapes[level])
    masks = receptive_field_masks(pipeline, shapes, level, cell)
    expected = receptive_field(pipeline, levels, level, cell)
    assert {lvl: cells(m) for lvl, m in masks.items()} == expected
    assert all(masks[lvl].shape == shapes[lvl] for lvl in masks)
    axes = receptive_field_axes(pipeline, shapes, level, cell)
    for index, layer in enumerate(pipeline.layers, start=1):
        if index > level:
            break
        reached = weights_reaching_mask(layer, axes[index], shapes[index - 1])
        if isinstance(layer, (Conv2D, Conv2DTranspose)):
            assert cells(reached) == weights_reaching(layer, expected[index], shapes[index - 1])
            weight = tuple(data.draw(st.integers(0, n - 1)) for n in layer.kernel.shape)
            footprint = weight_footprint_mask(layer, shapes[index - 1], weight)
            assert cells(footprint) == weight_footprint(layer, shapes[index - 1], weight)
        else:
            assert reached is None


def test_seed_weight_footprint_mask_by_hand():
    # Conv2D 3×3 valid on 6×6: weight (0, 0) multiplies the top-left 4×4 cells, (2, 1) rows 2..5, cols 1..4
    conv = Conv2D(1, 3)
    conv.build((6, 6, 1))
    assert cells(weight_footprint_mask(conv, (6, 6, 1), (0, 0, 0, 0))) == {(r, c, 0) for r in range(4) for c in range(4)}
    assert cells(weight_footprint_mask(conv, (6, 6, 1), (2, 1, 0, 0))) == {
        (r, c, 0) for r in range(2, 6) for c in range(1, 5)
    }


def test_queries_build_nothing():
    conv = Conv2D(1, 3)
    assert not weight_footprint_mask(conv, (6, 6, 1), (0, 0, 0, 0)).any()
    assert weights_reaching_mask(conv, (np.array([0]), np.array([0]), np.array([0])), (6, 6, 1)) is None
    assert not conv.built


def test_a_weight_outside_the_kernel_is_refused():
    conv = Conv2D(1, 3)
    conv.build((6, 6, 1))
    with pytest.raises(ConfigError, match="outside the kernel"):
        weight_footprint_mask(conv, (6, 6, 1), (3, 0, 0, 0))
