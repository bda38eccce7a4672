"""The model summary: the lecture's counts exactly, every count against a naive one, Keras's text form."""

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from layer_strategies import KWARGS, pipelines

from cnnviz.core import LAYER_TYPES, Conv2D, Conv2DTranspose, Pipeline, seed_pipeline
from cnnviz.core.arithmetic import conv_padding
from cnnviz.core.summary import format_summary, readable_bytes, summarize

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.filter_too_much])


def test_the_lecture_summary():
    s = summarize(seed_pipeline(), "lecture")
    assert [(r.name, r.class_name, r.output_shape) for r in s.layers] == [
        ("conv2d", "Conv2D", (4, 4, 2)), ("max_pooling2d", "MaxPooling2D", (2, 2, 2)),
        ("up_sampling2d", "UpSampling2D", (6, 6, 2))]
    # two 3×3×1 filters and two biases; 16 cells × 2 filters × 9 products
    assert [(r.trainable_params, r.non_trainable_params) for r in s.layers] == [(20, 0), (0, 0), (0, 0)]
    assert [r.multiply_adds for r in s.layers] == [288, 0, 0]
    # the centre cell: 3×3 pixels through the conv, a 2×2 window of them after pooling, nearest copies
    assert [r.receptive_field for r in s.layers] == [(3, 3), (4, 4), (4, 4)]
    # a Dense layer in place of each: 36·32 + 32, 32·8 + 8, 8·72 + 72
    assert [r.dense_params for r in s.layers] == [1184, 264, 648]
    assert (s.params, s.trainable_params, s.non_trainable_params, s.multiply_adds) == (20, 20, 0, 288)
    assert s.dense_params == 36 * 72 + 72 == 2664


def test_the_lecture_summary_text_has_keras_s_form():
    text = format_summary(summarize(seed_pipeline(), "lecture"))
    lines = text.splitlines()
    assert lines[0] == 'Model: "lecture"'
    assert lines[1].startswith("┏━") and lines[3].startswith("┡━") and lines[-6].startswith("└─")
    header = [c.strip() for c in lines[2].strip("┃").split("┃")]
    assert header == ["Layer (type)", "Output Shape", "Param #", "Mult-adds", "Receptive field", "Dense would need"]
    first = [c.strip() for c in lines[4].strip("│").split("│")]
    assert first == ["conv2d (Conv2D)", "(None, 4, 4, 2)", "20", "288", "3×3", "1,184"]
    assert len({len(line) for line in lines[1:-5]}) == 1  # a rectangle
    assert lines[-5:] == [
        " Total params: 20 (80.00 B)",
        " Trainable params: 20 (80.00 B)",
        " Non-trainable params: 0 (0.00 B)",
        " Multiply-adds per input: 288",
        " One Dense layer from the input 6×6×1 to the output 6×6×2: 2,664 params (133× as many)",
    ]


def test_long_names_wrap_onto_a_second_line_as_keras_does():
    conv = Conv2DTranspose(1, 3, name="a_rather_long_transposed_layer")
    text = format_summary(summarize(Pipeline((4, 4, 1), [conv])))
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert rows[0].startswith("│ a_rather_long_transposed_layer ") and rows[1].startswith("│ (Conv2DTranspose) ")
    assert "│ (None, 6, 6, 1) │" in rows[0] and set(rows[1][20:].replace("│", "")) == {" "}


def test_readable_bytes_as_keras_writes_them():
    assert [readable_bytes(n) for n in (0, 80, 1023, 3032, 1024**2 * 1.5, 5 * 1024**3)] == [
        "0.00 B", "80.00 B", "1023.00 B", "2.96 KB", "1.50 MB", "5.00 GB"]


def test_thousands_are_separated():
    conv = Conv2D(64, 3)
    text = format_summary(summarize(Pipeline((8, 8, 8), [conv])))
    assert " Total params: 4,672 (18.25 KB)" in text  # 3·3·8·64 + 64


# ---- naive counts -----------------------------------------------------------------------------------


def naive_params(layer, input_shape) -> int:
    """From the config alone, as the Keras documentation gives them."""
    config, kind = layer.get_config(), type(layer).__name__
    if kind in ("Conv2D", "Conv2DTranspose"):
        kh, kw = config["kernel_size"]
        return kh * kw * input_shape[2] * config["filters"] + (config["filters"] if config["use_bias"] else 0)
    if kind == "Dense":  # on the last axis, as Keras
        return input_shape[-1] * config["units"] + (config["units"] if config["use_bias"] else 0)
    if kind == "DepthwiseConv2D":  # one kh×kw filter per input channel and multiplier, a bias per output channel
        kh, kw = config["kernel_size"]
        out = input_shape[2] * config["depth_multiplier"]
        return kh * kw * out + (out if config["use_bias"] else 0)
    if kind == "BatchNormalization":  # per channel: γ and β (when on) are learned, μ and σ² are only kept
        return input_shape[-1] * (config["center"] + config["scale"] + 2)
    return 0


def naive_non_trainable(layer, input_shape) -> int:
    return 2 * input_shape[-1] if type(layer).__name__ == "BatchNormalization" else 0


def naive_multiply_adds(layer, input_shape, output_shape) -> int:
    """Count the products by walking the computation: every (output cell, tap, channel) of a convolution,
    padding cells included (they are multiplied too); every (input cell, tap, filter, channel) a transposed
    convolution scatters."""
    kind = type(layer).__name__
    if kind == "Dense":  # every output value: one product per value along the input's last axis
        return sum(1 for _ in itertools.product(*map(range, output_shape), range(input_shape[-1])))
    if kind == "BatchNormalization":  # every value: x·(γ/√(σ² + ε)) + (β − μ·γ/√(σ² + ε)), one multiply-add
        return sum(1 for _ in itertools.product(*map(range, output_shape)))
    if kind == "DepthwiseConv2D":  # every output value: one product per tap of its one channel's filter
        return sum(1 for _ in itertools.product(*map(range, output_shape), range(math.prod(layer.kernel_size))))
    if kind not in ("Conv2D", "Conv2DTranspose"):
        return 0
    (kh, kw), f, c = layer.kernel_size, layer.filters, input_shape[2]
    cells = output_shape[:2] if kind == "Conv2D" else input_shape[:2]
    return sum(1 for _ in itertools.product(range(cells[0]), range(cells[1]), range(kh), range(kw), range(f), range(c)))


def perturbed_field(pipeline, level: int, cell) -> tuple[int, int]:
    """The input pixels whose change (by ±100, one at a time) changes `cell` of `level`: their bounding box."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, pipeline.input_shape).astype(np.float32)
    base = pipeline.run(x)[level - 1][cell]
    hits = []
    for pixel in itertools.product(*map(range, pipeline.input_shape)):
        for delta in (100, -100):
            y = x.copy()
            y[pixel] += delta
            if pipeline.run(y)[level - 1][cell] != base:
                hits.append(pixel[:2])
                break
    if not hits:
        return 0, 0
    rows, cols = zip(*hits)
    return max(rows) - min(rows) + 1, max(cols) - min(cols) + 1


def test_the_strategies_cover_every_layer_type():
    assert set(KWARGS) == set(LAYER_TYPES)


@SETTINGS
@given(pipeline=pipelines())
def test_counts_equal_a_naive_count(pipeline):
    s = summarize(pipeline)
    shapes = [pipeline.input_shape, *pipeline.output_shapes()]
    for i, (row, layer) in enumerate(zip(s.layers, pipeline.layers)):
        assert row.output_shape == shapes[i + 1] == pipeline.run(np.zeros(pipeline.input_shape))[i].shape
        assert row.params == naive_params(layer, shapes[i])
        assert row.non_trainable_params == naive_non_trainable(layer, shapes[i])
        assert row.multiply_adds == naive_multiply_adds(layer, shapes[i], shapes[i + 1])
        assert row.dense_params == math.prod(shapes[i]) * math.prod(shapes[i + 1]) + math.prod(shapes[i + 1])
    assert s.params == sum(naive_params(layer, shape) for layer, shape in zip(pipeline.layers, shapes))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pipeline=pipelines(kinds=("Conv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D", "UpSampling2D",
                                 "Dropout", "Flatten", "Dense", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                                 "ZeroPadding2D", "Cropping2D", "DepthwiseConv2D", "BatchNormalization"), max_layers=3))
def test_the_receptive_field_is_the_pixels_that_move_the_centre_cell(pipeline):
    """Every weight random and non-zero: a pixel is in the field exactly when changing it changes the cell.
    Dense layers here are linear: a softmax over one unit is 1 whatever its input, though it is wired to it."""
    pipeline.layers = [layer.replace(activation=None) if type(layer).__name__ == "Dense" else layer
                       for layer in pipeline.layers]
    pipeline.build()
    rng = np.random.default_rng(1)
    for layer in pipeline.layers:  # signed weights, but a variance stays positive
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape) * (1 if spec.name == "moving_variance" else
                                                            rng.choice([-1, 1], w.shape))
                           for spec, w in zip(layer.weight_specs(), layer.get_weights())])
    s = summarize(pipeline)
    for level, row in enumerate(s.layers, start=1):
        shape = row.output_shape
        centre = (shape[0] // 2, shape[1] // 2, 0) if len(shape) == 3 else (shape[0] // 2,)
        assert row.receptive_field == perturbed_field(pipeline, level, centre), level


def test_same_padding_counts_the_products_with_padding_cells():
    """Keras multiplies the zeros of `same` padding as well: 6×6 out × 9 taps, though corner cells see 4 pixels."""
    conv = Conv2D(1, 3, padding="same")
    assert conv_padding(6, 3, 1, "same") == (1, 1)
    assert summarize(Pipeline((6, 6, 1), [conv])).layers[0].multiply_adds == 36 * 9


def test_a_classifier_head_flatten_and_dense():
    """The lecture's end: 2×2×2 flattened to 8 values, a Dense layer of 3 on them (8·3 + 3 = 27)."""
    from cnnviz.core.layers import Dense, Flatten

    pipeline = seed_pipeline()
    pipeline.layers = pipeline.layers[:2] + [Flatten(), Dense(3, activation="softmax")]
    s = summarize(pipeline)
    assert [(r.class_name, r.output_shape, r.params, r.multiply_adds) for r in s.layers[2:]] == [
        ("Flatten", (8,), 0, 0), ("Dense", (3,), 27, 24)]
    assert s.layers[3].receptive_field == (6, 6)  # one Dense output sees every pixel
    assert s.params == 47 and "│ dense (Dense) " in format_summary(s) and "│ (None, 3) " in format_summary(s)


def test_batch_normalization_keeps_its_moving_statistics_untrained():
    """Keras: gamma and beta are trainable, moving_mean and moving_variance are not (2 channels: 4 + 4)."""
    from cnnviz.core.layers import BatchNormalization

    pipeline = seed_pipeline()
    pipeline.layers = pipeline.layers[:1] + [BatchNormalization()]
    s = summarize(pipeline)
    assert (s.layers[1].trainable_params, s.layers[1].non_trainable_params, s.layers[1].multiply_adds) == (4, 4, 32)
    text = format_summary(s)
    assert " Trainable params: 24 (96.00 B)" in text and " Non-trainable params: 4 (16.00 B)" in text
    assert " Total params: 28 (112.00 B)" in text


def test_depthwise_padding_and_global_pooling():
    """DepthwiseConv2D(3, depth_multiplier=2) on 6×6×2: 3·3·2·2 + 4 = 40 params, 4·4·4 cells × 9 taps."""
    from cnnviz.core.layers import DepthwiseConv2D, GlobalAveragePooling2D, ZeroPadding2D

    pipeline = Pipeline((6, 6, 2), [ZeroPadding2D(1), DepthwiseConv2D(3, depth_multiplier=2),
                                    GlobalAveragePooling2D()])
    s = summarize(pipeline)
    assert [(r.output_shape, r.params, r.multiply_adds, r.receptive_field) for r in s.layers] == [
        ((8, 8, 2), 0, 0, (1, 1)), ((6, 6, 4), 40, 6 * 6 * 4 * 9, (3, 3)), ((4,), 0, 0, (6, 6))]
