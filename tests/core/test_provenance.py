"""Provenance: every output cell as terms that add up to the layer's own output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    Activation,
    AveragePooling2D,
    ConfigError,
    Conv2D,
    Conv2DTranspose,
    Dropout,
    MaxPooling2D,
    Pipeline,
    ReLU,
    UpSampling2D,
    cell_provenance,
    receptive_field,
    seed_input,
    seed_pipeline,
    weight_footprint,
    weights_used,
)
from cnnviz.core.provenance import weights_reaching

SETTINGS = settings(max_examples=60, deadline=None)

REFERENCE_ACTIVATIONS = {
    None: lambda v: v,
    "relu": lambda v: max(v, 0.0),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "tanh": np.tanh,
}


def assert_invariant(layer, x, training=False, atol=1e-5):
    """f(Σ coefficient·value + bias) equals layer(x) in every cell; values and padding flags are honest."""
    y = layer(x, training=training)
    for cell in np.ndindex(y.shape):
        p = cell_provenance(layer, x, cell, training=training)
        assert p.cell == cell and p.layer == layer.index
        for t in p.terms:
            inside = 0 <= t.cell[0] < x.shape[0] and 0 <= t.cell[1] < x.shape[1]
            assert t.padding is (not inside)
            assert t.value == (float(x[t.cell]) if inside else 0.0)
            if t.weight is not None:
                assert t.coefficient == float(layer.kernel[t.weight])
        total = sum(t.coefficient * t.value for t in p.terms) + p.bias
        expected = REFERENCE_ACTIVATIONS[p.activation](total)
        if atol == 0:
            assert expected == y[cell] == p.value
        else:
            assert expected == pytest.approx(float(y[cell]), abs=atol)
            assert p.value == pytest.approx(float(y[cell]), abs=atol)


# --- random configurations ------------------------------------------------------------------------


@st.composite
def sliding_axes(draw, max_kernel=4):
    """Kernel, stride, dilation per axis: strided or dilated, never both (Keras and the core refuse
    strides > 1 with dilation_rate > 1, tests/core/test_errors.py)."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if draw(st.booleans()):
        strides = (1, 1)
    else:
        dilation = (1, 1)
    return kernel, strides, dilation


def random_weights(layer, rng, integers=False):
    if integers:
        return [rng.integers(-2, 3, size=w.shape).astype(np.float32) for w in layer.get_weights()]
    return [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]


def random_input(rng, shape, integers=False):
    if integers:
        return rng.integers(-3, 4, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


@st.composite
def conv_cases(draw, transpose=False, integers=False):
    kernel, strides, dilation = draw(sliding_axes())
    padding = draw(st.sampled_from(["valid", "same"]))
    shape = (draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 3)))
    use_bias = draw(st.booleans())
    filters = draw(st.integers(1, 3))
    if transpose:
        output_padding = draw(st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 2))))
        if output_padding is not None:
            assume(all(op < s for op, s in zip(output_padding, strides)))
        layer = Conv2DTranspose(filters, kernel, strides=strides, padding=padding, output_padding=output_padding,
                                dilation_rate=dilation, use_bias=use_bias)
    else:
        layer = Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation, use_bias=use_bias)
    try:
        layer.compute_output_shape(shape)
    except ConfigError:
        assume(False)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    layer.build(shape)
    layer.set_weights(random_weights(layer, rng, integers))
    return layer, random_input(rng, shape, integers)


@given(conv_cases())
@SETTINGS
def test_conv2d_terms_add_up_to_the_output(case):
    assert_invariant(*case)


@given(conv_cases(integers=True))
@SETTINGS
def test_conv2d_terms_are_exact_on_integers(case):
    assert_invariant(*case, atol=0)


@given(conv_cases(transpose=True))
@SETTINGS
def test_conv2d_transpose_terms_add_up_to_the_output(case):
    assert_invariant(*case)


@given(conv_cases(transpose=True, integers=True))
@SETTINGS
def test_conv2d_transpose_terms_are_exact_on_integers(case):
    assert_invariant(*case, atol=0)


@given(
    st.sampled_from([MaxPooling2D, AveragePooling2D]),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    st.sampled_from(["valid", "same"]),
    st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 3)),
    st.integers(0, 2**16),
)
@SETTINGS
def test_pooling_terms_add_up_to_the_output(cls, pool, strides, padding, shape, seed):
    layer = cls(pool, strides=strides, padding=padding)
    try:
        layer.compute_output_shape(shape)
    except ConfigError:
        assume(False)
    assert_invariant(layer, random_input(np.random.default_rng(seed), shape))


@given(
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.sampled_from(["nearest", "bilinear"]),
    st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 2)),
    st.integers(0, 2**16),
)
@SETTINGS
def test_upsampling_terms_add_up_to_the_output(size, interpolation, shape, seed):
    layer = UpSampling2D(size, interpolation=interpolation)
    assert_invariant(layer, random_input(np.random.default_rng(seed), shape))


@given(
    st.floats(0, 0.9),
    st.booleans(),
    st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 2)),
    st.integers(0, 2**16),
)
@SETTINGS
def test_dropout_terms_add_up_to_the_output(rate, training, shape, seed):
    rng = np.random.default_rng(seed)
    layer = Dropout(rate)
    layer.build(shape)
    layer.set_mask(rng.random(shape) >= rate)
    assert_invariant(layer, random_input(rng, shape), training=training)


@given(
    st.sampled_from(["relu", "sigmoid", "tanh", "linear", "ReLU"]),
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2)),
    st.integers(0, 2**16),
)
@SETTINGS
def test_activation_terms_add_up_to_the_output(name, shape, seed):
    layer = ReLU() if name == "ReLU" else Activation(name)
    assert_invariant(layer, 4 * random_input(np.random.default_rng(seed), shape))


# --- exact cases from docs/layers.md ----------------------------------------------------------------

VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float32)
ARANGE_6x6 = np.arange(36, dtype=np.float32).reshape(6, 6, 1)


def edge_conv(**kwargs):
    layer = Conv2D(1, 3, **kwargs)
    layer.build((6, 6, 1))
    layer.set_weights([VERTICAL_EDGE[:, :, None, None], np.zeros(1, np.float32)])
    return layer


def test_same_conv_corner_has_padding_terms_with_value_zero():
    p = cell_provenance(edge_conv(padding="same"), ARANGE_6x6, (0, 0, 0))
    assert p.value == -8  # the lecture example (docs/layers.md), stride 1 same
    padded = {t.cell for t in p.terms if t.padding}
    assert padded == {(-1, -1, 0), (-1, 0, 0), (-1, 1, 0), (0, -1, 0), (1, -1, 0)}
    assert all(t.value == 0.0 for t in p.terms if t.padding)
    assert p.window == tuple((r, c) for r in (-1, 0, 1) for c in (-1, 0, 1))
    assert [t.weight for t in p.terms] == [(a, b, 0, 0) for a in range(3) for b in range(3)]

    corner = cell_provenance(edge_conv(padding="same"), ARANGE_6x6, (5, 5, 0))
    assert corner.value == 62
    assert {t.cell for t in corner.terms if t.padding} == {(4, 6, 0), (5, 6, 0), (6, 4, 0), (6, 5, 0), (6, 6, 0)}


def test_strided_same_conv_pads_bottom_right_only():
    layer = edge_conv(padding="same", strides=2)  # 6 → 3, padding 0 top, 1 bottom
    assert not any(t.padding for t in cell_provenance(layer, ARANGE_6x6, (0, 0, 0)).terms)
    p = cell_provenance(layer, ARANGE_6x6, (2, 2, 0))
    assert p.value == 62
    assert {t.cell[:2] for t in p.terms if t.padding} == {(6, 4), (6, 5), (6, 6), (4, 6), (5, 6)}


def test_multichannel_conv_sums_every_channel_then_adds_bias():
    layer = Conv2D(2, 2)
    layer.build((3, 3, 2))
    kernel = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2)
    layer.set_weights([kernel, np.array([10, 20], np.float32)])
    x = np.arange(18, dtype=np.float32).reshape(3, 3, 2)
    p = cell_provenance(layer, x, (1, 0, 1))
    assert len(p.terms) == 8 and p.bias == 20
    assert {t.weight for t in p.terms} == {(a, b, c, 1) for a in range(2) for b in range(2) for c in range(2)}
    products = [x[1 + a, b, c] * kernel[a, b, c, 1] for a in range(2) for b in range(2) for c in range(2)]
    assert p.value == sum(products) + 20


def test_transpose_delta_scatters_the_kernel_unflipped():
    layer = Conv2DTranspose(1, 3)
    layer.build((1, 1, 1))
    layer.set_weights([np.arange(1, 10, dtype=np.float32).reshape(3, 3, 1, 1), np.zeros(1, np.float32)])
    x = np.ones((1, 1, 1), np.float32)
    for r in range(3):
        for c in range(3):
            p = cell_provenance(layer, x, (r, c, 0))
            assert p.value == 3 * r + c + 1
            assert [t.weight for t in p.terms if not t.padding] == [(r, c, 0, 0)]
            assert len(p.terms) == 9  # the other taps hang off the 1×1 input: padding terms, value 0


def test_max_pooling_ignores_padding_and_picks_the_first_maximum():
    x = -np.arange(1, 26, dtype=np.float32).reshape(5, 5, 1)
    layer = MaxPooling2D(2, padding="same")  # 5 → 3, padding 0 top, 1 bottom
    p = cell_provenance(layer, x, (0, 2, 0))
    assert p.value == -5
    assert [t.cell for t in p.terms] == [(0, 4, 0)]
    assert p.window == ((0, 4), (0, 5), (1, 4), (1, 5))

    ties = cell_provenance(MaxPooling2D(3, strides=1, padding="same"), np.zeros((4, 4, 1), np.float32), (0, 0, 0))
    assert [t.cell for t in ties.terms] == [(0, 0, 0)]


def test_average_pooling_divides_by_real_cells():
    x = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
    layer = AveragePooling2D(3, strides=1, padding="same")
    row = [cell_provenance(layer, x, (0, c, 0)).value for c in range(5)]
    assert row == pytest.approx([3, 3.5, 4.5, 5.5, 6])
    p = cell_provenance(layer, x, (0, 0, 0))
    assert sorted(t.coefficient for t in p.terms if not t.padding) == [0.25] * 4
    assert [t.coefficient for t in p.terms if t.padding] == [0.0] * 5


BILINEAR_2 = np.array([[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
BILINEAR_3 = np.array([[1, 0], [1, 0], [2 / 3, 1 / 3], [1 / 3, 2 / 3], [0, 1], [0, 1]])


@pytest.mark.parametrize("factor, rows", [(2, BILINEAR_2), (3, BILINEAR_3)])
def test_bilinear_sources_carry_the_interpolation_weights(factor, rows):
    x = np.array([[1, 2], [3, 4]], dtype=np.float32)[:, :, None]
    layer = UpSampling2D(factor, interpolation="bilinear")
    for r in range(2 * factor):
        for c in range(2 * factor):
            p = cell_provenance(layer, x, (r, c, 0))
            weights = {t.cell[:2]: t.coefficient for t in p.terms}
            expected = {(i, j): rows[r, i] * rows[c, j] for i in range(2) for j in range(2) if rows[r, i] * rows[c, j]}
            assert weights.keys() == expected.keys()
            assert [weights[k] for k in expected] == pytest.approx(list(expected.values()))
    assert cell_provenance(layer, x, (1, 1, 0)).value == pytest.approx(x[:, :, 0].dot(rows[1]).dot(rows[1]))


def test_nearest_upsampling_has_one_source():
    p = cell_provenance(UpSampling2D((2, 3)), ARANGE_6x6, (5, 7, 0))
    assert [(t.cell, t.coefficient) for t in p.terms] == [((2, 2, 0), 1.0)]


def test_dropout_scales_kept_cells_and_zeroes_dropped_ones():
    layer = Dropout(0.25)
    layer.build((1, 2, 1))
    layer.set_mask(np.array([[[True], [False]]]))
    x = np.array([[[3.0], [5.0]]], np.float32)
    kept, dropped = (cell_provenance(layer, x, (0, c, 0), training=True) for c in (0, 1))
    assert (kept.terms[0].coefficient, kept.value) == (pytest.approx(4 / 3), pytest.approx(4.0))
    assert (dropped.terms[0].coefficient, dropped.value) == (0.0, 0.0)
    assert cell_provenance(layer, x, (0, 1, 0)).terms[0].coefficient == 1.0  # inference: identity


def test_activation_is_one_term_with_the_function_named():
    p = cell_provenance(Activation("tanh"), ARANGE_6x6 / 10, (0, 5, 0))
    assert (len(p.terms), p.terms[0].coefficient, p.activation) == (1, 1.0, "tanh")
    assert p.value == pytest.approx(np.tanh(0.5))
    assert cell_provenance(Activation("linear"), ARANGE_6x6, (1, 1, 0)).activation is None
    assert cell_provenance(ReLU(), -ARANGE_6x6, (1, 1, 0)).value == 0


def test_bad_cells_and_channel_counts_are_config_errors():
    with pytest.raises(ConfigError, match="outside the 4×4×1 output"):
        cell_provenance(edge_conv(), ARANGE_6x6, (4, 0, 0))
    with pytest.raises(ConfigError, match="input has 2 channels, the kernel was made for 1"):
        cell_provenance(edge_conv(), np.zeros((6, 6, 2), np.float32), (0, 0, 0))
    with pytest.raises(ConfigError, match="weight"):
        weight_footprint(edge_conv(), (6, 6, 1), (3, 0, 0, 0))
    pipeline = seed_pipeline()
    levels = pipeline.levels(seed_input(), pipeline.run(seed_input()))
    with pytest.raises(ConfigError, match="MaxPooling2D #2: cell .* outside the 2×2×2 output"):
        receptive_field(pipeline, levels, 2, (2, 0, 0))
    with pytest.raises(ConfigError, match="level 4 does not exist"):
        receptive_field(pipeline, levels, 4, (0, 0, 0))
    assert receptive_field(pipeline, levels, 0, (1, 2, 0)) == {0: {(1, 2, 0)}}


# --- receptive fields --------------------------------------------------------------------------------


def cells(rows, cols, channels):
    return {(r, c, ch) for r in rows for c in cols for ch in channels}


def test_seed_pipeline_receptive_field():
    pipeline = seed_pipeline()
    x = seed_input()
    levels = pipeline.levels(x, pipeline.run(x))
    field = receptive_field(pipeline, levels, 2, (0, 0, 0))
    assert field == {2: {(0, 0, 0)}, 1: cells(range(2), range(2), [0]), 0: cells(range(4), range(4), [0])}
    field = receptive_field(pipeline, levels, 3, (5, 2, 1))  # up-sampled ×3 from pooled (1, 0, 1)
    assert field[2] == {(1, 0, 1)}
    assert field[1] == cells([2, 3], [0, 1], [1])
    assert field[0] == cells(range(2, 6), range(0, 4), [0])


@pytest.mark.parametrize(
    "interpolation, sources", [("nearest", cells([0], [0], [0])), ("bilinear", cells([0, 1], [0, 1], [0]))]
)
def test_receptive_field_through_upsampling_after_a_conv(interpolation, sources):
    pipeline = Pipeline((3, 3, 1), [UpSampling2D(2, interpolation=interpolation), Conv2D(1, 2)])
    x = np.ones((3, 3, 1), np.float32)
    field = receptive_field(pipeline, pipeline.levels(x, pipeline.run(x)), 2, (0, 0, 0))
    assert field[1] == cells([0, 1], [0, 1], [0])
    assert field[0] == sources  # half-pixel centres: output 1 reads inputs 0 and 1 (weights .75, .25)


def brute_force_field(pipeline, levels, level, cell):
    """The receptive field from cell_provenance, one cell at a time (max pooling: its whole window)."""
    fields = {level: {cell}}
    for index in range(level, 0, -1):
        layer, x = pipeline.layers[index - 1], levels[index - 1]
        below = set()
        for out in fields[index]:
            p = cell_provenance(layer, x, out)
            below |= {t.cell for t in p.terms if not t.padding}
            if isinstance(layer, MaxPooling2D):
                below |= {(r, c, out[2]) for r, c in p.window if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]}
        fields[index - 1] = below
    return fields


@st.composite
def random_layers(draw):
    kernel, strides, dilation = draw(sliding_axes(max_kernel=3))
    pool_strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))  # no dilation to clash with
    padding = draw(st.sampled_from(["valid", "same"]))
    return draw(
        st.sampled_from(
            [
                Conv2D(2, kernel, strides=strides, padding=padding, dilation_rate=dilation),
                Conv2DTranspose(2, kernel, strides=strides, padding=padding, dilation_rate=dilation),
                MaxPooling2D(kernel, strides=pool_strides, padding=padding),
                AveragePooling2D(kernel, strides=pool_strides, padding=padding),
                UpSampling2D(pool_strides, interpolation=draw(st.sampled_from(["nearest", "bilinear"]))),
                Dropout(0.5),
                Activation("sigmoid"),
            ]
        )
    )


@given(st.lists(random_layers(), min_size=1, max_size=3), st.integers(4, 7), st.data())
@SETTINGS
def test_receptive_field_matches_chained_provenance(layers, size, data):
    pipeline = Pipeline((size, size, 2), layers)
    try:
        pipeline.output_shapes()
    except ConfigError:
        assume(False)
    x = random_input(np.random.default_rng(0), (size, size, 2))
    levels = pipeline.levels(x, pipeline.run(x))
    level = data.draw(st.integers(1, len(layers)))
    cell = tuple(data.draw(st.integers(0, n - 1)) for n in levels[level].shape)
    assert receptive_field(pipeline, levels, level, cell) == brute_force_field(pipeline, levels, level, cell)


# --- weights ----------------------------------------------------------------------------------------


def test_weight_footprint_of_a_stride_2_conv():
    layer = Conv2D(2, 3, strides=2)
    layer.build((7, 7, 2))  # output 3×3
    assert weight_footprint(layer, (7, 7, 2), (0, 0, 1, 0)) == cells([0, 2, 4], [0, 2, 4], [1])
    assert weight_footprint(layer, (7, 7, 2), (2, 1, 0, 1)) == cells([2, 4, 6], [1, 3, 5], [0])
    same = Conv2D(1, 3, strides=2, padding="same")
    same.build((6, 6, 1))  # output 3×3, padding 0 top, 1 bottom: tap 2 of the last row reads row 6
    assert weight_footprint(same, (6, 6, 1), (2, 2, 0, 0)) == cells([2, 4], [2, 4], [0])


def test_weight_footprint_of_a_stride_2_transpose():
    layer = Conv2DTranspose(1, 3, strides=2, padding="same")
    layer.build((3, 3, 1))  # full 7, output 6, crop 0 top: tap 2 of input 2 lands on row 6, cropped
    assert weight_footprint(layer, (3, 3, 1), (0, 0, 0, 0)) == cells(range(3), range(3), [0])
    assert weight_footprint(layer, (3, 3, 1), (2, 1, 0, 0)) == cells([0, 1], range(3), [0])


@given(st.booleans(), conv_cases(), conv_cases(transpose=True))
@SETTINGS
def test_weights_and_footprints_agree_with_the_terms(transpose, conv_case, transpose_case):
    layer, x = transpose_case if transpose else conv_case
    weights_per_cell = {}
    for cell in np.ndindex(layer.compute_output_shape(x.shape)):
        real = [t for t in cell_provenance(layer, x, cell).terms if not t.padding]
        assert weights_used(layer, cell, x.shape) == {t.weight for t in real}
        for t in real:
            weights_per_cell.setdefault(t.weight, set()).add(t.cell)
    for weight in np.ndindex(layer.kernel.shape):
        assert weight_footprint(layer, x.shape, weight) == weights_per_cell.get(weight, set())


def test_layers_without_a_kernel_use_no_weights():
    assert weights_used(MaxPooling2D(2), (0, 0, 0), (4, 4, 1)) == set()
    assert weight_footprint(UpSampling2D(2), (4, 4, 1), (0, 0, 0, 0)) == set()


@settings(max_examples=40, deadline=None)
@given(
    transpose=st.booleans(),
    stride=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same"]),
    picks=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 1)), min_size=1, max_size=12),
)
def test_weights_reaching_is_the_union_of_weights_used(transpose, stride, padding, picks):
    shape = (5, 6, 2)
    layer = (Conv2DTranspose if transpose else Conv2D)(2, 3, strides=stride, padding=padding)
    layer.build(shape)
    oh, ow, _ = layer.compute_output_shape(shape)
    cells = {(r % oh, c % ow, o) for r, c, o in picks}
    want = set().union(*(weights_used(layer, cell, shape) for cell in cells))
    assert weights_reaching(layer, cells, shape) == want
