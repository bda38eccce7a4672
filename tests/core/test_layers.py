"""Layers: Keras arguments, shapes and their explanation, weights, configs, replace(), dropout masks."""

import json

import numpy as np
import pytest

from cnnviz.core import (
    LAYER_TYPES,
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
    layer_from_config,
    layer_to_config,
)
from naive_reference import EDGE, X36


EXAMPLES = [
    Conv2D(2, 3),
    Conv2D(4, (3, 2), strides=(1, 1), padding="SAME", dilation_rate=(1, 2), use_bias=False, name="edges"),
    Conv2D(3, 1, strides=(2, 3), padding="valid"),
    Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
    Conv2DTranspose(1, [2, 4], strides=[3, 1], padding="valid"),
    MaxPooling2D(),
    MaxPooling2D(3, strides=1, padding="same"),
    AveragePooling2D((2, 3), padding="same"),
    UpSampling2D(3, "bilinear"),
    UpSampling2D((2, 1)),
    Dropout(0.25, seed=7),
    Dropout(0),
    ReLU(),
    Activation("tanh"),
    Activation("linear"),
]


# ---- names, labels, Keras argument normalisation ---------------------------------------------------
def test_layer_types_in_menu_order():
    assert list(LAYER_TYPES)[:8] == ["Conv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D",
                                     "UpSampling2D", "Dropout", "ReLU", "Activation"]
    assert [cls.SLIDING for cls in LAYER_TYPES.values()][:8] == [True, True, True, True, False, False, False, False]


def test_keras_default_names_and_labels():
    assert [Conv2D(1, 3).name, Conv2DTranspose(1, 3).name, MaxPooling2D().name, AveragePooling2D().name,
            UpSampling2D().name, Dropout(0.5).name, ReLU().name, Activation().name] == [
        "conv2d", "conv2d_transpose", "max_pooling2d", "average_pooling2d", "up_sampling2d", "dropout", "re_lu",
        "activation"]
    layer = Conv2D(1, 3)
    assert layer.label == "Conv2D"
    layer.index = 1
    assert layer.label == "Conv2D #1"


def test_arguments_are_normalised():
    layer = Conv2D(2, 3, strides=[2, 1], padding="Same")
    assert (layer.kernel_size, layer.strides, layer.padding, layer.dilation_rate) == ((3, 3), (2, 1), "same", (1, 1))
    assert Conv2D(2, [3, 1], dilation_rate=2).dilation_rate == (2, 2)
    assert MaxPooling2D((2, 2)).strides == (2, 2)  # strides default to pool_size
    assert MaxPooling2D(3).get_config()["strides"] is None


# ---- config round trips ----------------------------------------------------------------------------
@pytest.mark.parametrize("layer", EXAMPLES, ids=lambda layer: type(layer).__name__)
def test_config_round_trip_identical_also_through_json(layer):
    config = layer.get_config()
    again = type(layer).from_config(config).get_config()
    assert again == config
    wrapped = json.loads(json.dumps(layer_to_config(layer)))
    assert layer_to_config(layer_from_config(wrapped)) == layer_to_config(layer)


def test_json_lists_come_back_as_tuples():
    config = json.loads(json.dumps(Conv2D(2, 3, strides=2).get_config()))
    assert config["kernel_size"] == [3, 3]
    assert Conv2D.from_config(config).get_config() == Conv2D(2, 3, strides=2).get_config()


def test_conv_config_has_keras_keys():
    assert Conv2D(2, 3).get_config() == {"name": "conv2d", "filters": 2, "kernel_size": (3, 3), "strides": (1, 1),
                                         "padding": "valid", "dilation_rate": (1, 1), "use_bias": True}
    assert Conv2DTranspose(2, 3).get_config()["output_padding"] is None


def test_from_config_rejects_unknown_keys_and_classes():
    with pytest.raises(ConfigError, match="bad config keys"):
        Conv2D.from_config({"filters": 2, "kernel_size": 3, "colour": "red"})
    with pytest.raises(ConfigError, match="unknown layer class 'LSTM'") as info:
        layer_from_config({"class_name": "LSTM", "config": {}})
    assert info.value.param == "class_name"


# ---- output shapes and their explanation ------------------------------------------------------------
def test_conv_output_shapes():
    assert Conv2D(2, 3).compute_output_shape((6, 6, 1)) == (4, 4, 2)
    assert Conv2D(2, 3, strides=2, padding="same").compute_output_shape((6, 6, 3)) == (3, 3, 2)
    assert Conv2D(1, 3, dilation_rate=2).compute_output_shape((6, 7, 1)) == (2, 3, 1)
    assert Conv2DTranspose(1, 3, strides=3).compute_output_shape((2, 2, 1)) == (6, 6, 1)
    assert MaxPooling2D(2).compute_output_shape((5, 5, 2)) == (2, 2, 2)
    assert AveragePooling2D(2, padding="same").compute_output_shape((5, 5, 2)) == (3, 3, 2)
    assert UpSampling2D((2, 3)).compute_output_shape((2, 2, 4)) == (4, 6, 4)
    assert Dropout(0.5).compute_output_shape((3, 4, 5)) == (3, 4, 5)


def test_explain_conv_valid_and_same():
    assert Conv2D(2, 3).explain_output_shape((6, 6, 1)) == [
        "rows: ⌊(6 + 0 + 0 − 3)/1⌋ + 1 = 4",
        "cols: ⌊(6 + 0 + 0 − 3)/1⌋ + 1 = 4",
        "depth: 2 (one per filter)",
    ]
    assert Conv2D(1, 3, strides=2, padding="same").explain_output_shape((6, 5, 1))[:2] == [
        "rows: ⌈6/2⌉ = 3 (padding 0 top, 1 bottom)", "cols: ⌈5/2⌉ = 3 (padding 1 left, 1 right)"]
    assert Conv2D(1, 3, dilation_rate=2).explain_output_shape((6, 6, 1))[0] == \
        "rows: ⌊(6 + 0 + 0 − 5)/1⌋ + 1 = 2 (dilated kernel 2·(3−1)+1 = 5)"
    assert Conv2D(1, 7).explain_output_shape((6, 6, 1))[0] == \
        "rows: ⌊(6 + 0 + 0 − 7)/1⌋ + 1 = 0 (empty: the window does not fit)"


def test_explain_transpose_pooling_upsampling():
    assert Conv2DTranspose(1, 3, strides=3).explain_output_shape((2, 2, 1))[0] == "rows: (2 − 1)·3 + 3 + 0 = 6"
    assert Conv2DTranspose(1, 3, strides=2, padding="same").explain_output_shape((3, 3, 1))[0] == \
        "rows: 3·2 = 6 (full (3 − 1)·2 + 3 = 7, crop 0 top, 1 bottom)"
    assert Conv2DTranspose(1, 3, strides=2, padding="same", output_padding=1).explain_output_shape((3, 3, 1))[1] == \
        "cols: (3 − 1)·2 + (3 mod 2) + 1 = 6 (full (3 − 1)·2 + 3 = 7, crop 0 left, 1 right)"
    assert Conv2DTranspose(1, 2, strides=3, padding="same").explain_output_shape((2, 2, 1))[0] == \
        "rows: 2·3 = 6 (full 5, 1 zero bottom)"
    assert MaxPooling2D(2).explain_output_shape((5, 5, 1))[0] == "rows: ⌊(5 + 0 + 0 − 2)/2⌋ + 1 = 2"
    assert AveragePooling2D(3, strides=1, padding="same").explain_output_shape((5, 5, 1))[0] == \
        "rows: ⌈5/1⌉ = 5 (padding 1 top, 1 bottom, padded cells ignored)"
    assert UpSampling2D(3).explain_output_shape((2, 2, 2)) == [
        "rows: 2·3 = 6", "cols: 2·3 = 6", "depth: 2 (unchanged)"]


# ---- calling -----------------------------------------------------------------------------------------
def test_conv_layer_with_set_weights_matches_worked_example():
    layer = Conv2D(1, 3, strides=2, padding="same")
    layer.build((6, 6, 1))
    layer.set_weights([EDGE, np.zeros(1)])
    assert layer(X36)[:, :, 0].tolist() == [[-6, -6, 30], [-6, -6, 66], [-4, -4, 62]]


def test_transpose_layer_uses_keras_layout():
    layer = Conv2DTranspose(2, 1)  # kernel (1, 1, out=2, in=3)
    layer.set_weights([np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3), np.array([10, 20])])
    y = layer(np.ones((1, 1, 3), np.float32))
    assert y.ravel().tolist() == [0 + 1 + 2 + 10, 3 + 4 + 5 + 20]


def test_call_builds_and_returns_float32():
    layer = Conv2D(3, 2)
    y = layer(np.ones((4, 5, 2)))
    assert layer.built and layer.input_shape == (4, 5, 2)
    assert y.shape == (3, 4, 3) and y.dtype == np.float32


def test_build_is_seeded_glorot_and_zero_bias():
    a, b = Conv2D(4, 3), Conv2D(4, 3)
    a.build((6, 6, 2), np.random.default_rng(5))
    b.build((6, 6, 2), np.random.default_rng(5))
    np.testing.assert_array_equal(a.kernel, b.kernel)
    limit = np.sqrt(6 / (9 * 2 + 9 * 4))
    assert np.abs(a.kernel).max() <= limit and np.abs(a.kernel).max() > limit / 2
    assert a.bias.tolist() == [0, 0, 0, 0]


def test_rebuild_keeps_weights_for_same_channels_only():
    layer = Conv2D(2, 3)
    layer.build((6, 6, 1))
    layer.set_weights([np.ones((3, 3, 1, 2)), np.ones(2)])
    layer.build((9, 7, 1))
    assert layer.kernel.sum() == 18
    layer.build((9, 7, 2))
    assert layer.kernel.shape == (3, 3, 2, 2) and layer.kernel.sum() != 36


def test_call_validates_input():
    layer = Conv2D(1, 3)
    with pytest.raises(ConfigError, match="Conv2D: input must be an \\(H, W, C\\) array") as info:
        layer(np.ones((6, 6)))
    assert info.value.param == "input"
    with pytest.raises(ConfigError, match="NaN or infinite"):
        layer(np.full((6, 6, 1), np.nan))
    with pytest.raises(ConfigError, match="NaN or infinite"):
        layer(np.full((6, 6, 1), 1e300))  # not representable in float32
    layer(np.ones((6, 6, 1)))
    with pytest.raises(ConfigError, match="input has 2 channels, the layer was built for 1"):
        layer(np.ones((6, 6, 2)))


def test_overflow_is_refused_by_the_layer_that_overflows():
    layer = Conv2D(1, 3, use_bias=False)
    layer.build((6, 6, 1))
    layer.set_weights([np.full((3, 3, 1, 1), 1e38, np.float32)])  # finite, but 9 of them sum past float32
    with pytest.raises(ConfigError, match=r"^Conv2D: output overflows float32") as info:
        layer(np.ones((6, 6, 1)))
    assert info.value.param == "weights"
    pipeline = Pipeline((6, 6, 1), [Conv2D(1, 3, use_bias=False), MaxPooling2D(2)])
    pipeline.build()
    pipeline.layers[0].set_weights([np.full((3, 3, 1, 1), 1e38, np.float32)])
    with pytest.raises(ConfigError, match=r"^Conv2D #1: output overflows"):
        pipeline.run(np.ones((6, 6, 1), np.float32))


# ---- weights -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, shapes", [(Conv2D, [(3, 2, 4, 5), (5,)]), (Conv2DTranspose, [(3, 2, 5, 4), (5,)])])
def test_weight_round_trip(cls, shapes):
    layer = cls(5, (3, 2))
    layer.build((7, 7, 4))
    assert [w.shape for w in layer.get_weights()] == shapes
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    layer.set_weights(weights)
    got = layer.get_weights()
    for a, b in zip(got, weights):
        np.testing.assert_array_equal(a, b)
    got[0][...] = 0  # copies: editing them does not change the layer
    assert layer.kernel.any()


def test_no_bias_means_one_weight_array():
    layer = Conv2D(2, 3, use_bias=False)
    layer.build((4, 4, 1))
    assert len(layer.get_weights()) == 1 and layer.bias is None


def test_set_weights_shape_errors_name_expected_shapes():
    layer = Conv2D(2, 3)
    layer.index = 1
    layer.build((6, 6, 1))
    with pytest.raises(ConfigError, match=r"Conv2D #1: expected 2 weight arrays \(kernel \(3, 3, 1, 2\) and bias "
                                          r"\(2,\)\), got 1") as info:
        layer.set_weights([np.ones((3, 3, 1, 2))])
    assert info.value.param == "weights"
    with pytest.raises(ConfigError, match=r"kernel must have shape \(3, 3, 1, 2\), got \(3, 3, 2, 2\)"):
        layer.set_weights([np.ones((3, 3, 2, 2)), np.ones(2)])
    with pytest.raises(ConfigError, match=r"bias must have shape \(2,\), got \(3,\)"):
        layer.set_weights([np.ones((3, 3, 1, 2)), np.ones(3)])
    with pytest.raises(ConfigError, match="finite"):
        layer.set_weights([np.full((3, 3, 1, 2), np.inf), np.ones(2)])
    transpose = Conv2DTranspose(2, 3)
    transpose.build((4, 4, 1))
    with pytest.raises(ConfigError, match=r"kernel must have shape \(3, 3, 2, 1\)"):
        transpose.set_weights([np.ones((3, 3, 1, 2)), np.ones(2)])
    with pytest.raises(ConfigError, match="has no weights"):
        MaxPooling2D().set_weights([np.ones(1)])


def test_set_weights_before_build_takes_channels_from_kernel():
    layer = Conv2D(1, 3)
    layer.set_weights([EDGE, np.zeros(1)])
    assert layer(X36)[:, :, 0].tolist() == [[-6] * 4] * 4


# ---- replace -----------------------------------------------------------------------------------------
def _built_conv(filters=2, size=3):
    layer = Conv2D(filters, size, name="c")
    layer.index = 1
    layer.build((8, 8, 1))
    layer.set_weights([np.arange(size * size * filters, dtype=np.float32).reshape(size, size, 1, filters) + 1,
                       np.arange(filters, dtype=np.float32) + 1])
    return layer


def test_replace_keeps_weights_when_shapes_fit():
    old = _built_conv()
    new = old.replace(strides=2, padding="same")
    assert (new.strides, new.padding, new.name, new.label) == ((2, 2), "same", "c", "Conv2D #1")
    np.testing.assert_array_equal(new.get_weights()[0], old.get_weights()[0])
    assert old.strides == (1, 1)  # the original is unchanged
    assert new.built and new.input_shape == (8, 8, 1)  # ready for the same input
    assert not old.replace(kernel_size=9).built  # does not fit 8×8: left for the pipeline to report


def test_replace_larger_kernel_keeps_the_centre_and_pads_zeros():
    old = _built_conv()
    new = old.replace(kernel_size=5)
    k = new.kernel[:, :, 0, 0]
    np.testing.assert_array_equal(k[1:4, 1:4], old.kernel[:, :, 0, 0])
    assert k[0].sum() == 0 and k[:, 4].sum() == 0


def test_replace_smaller_kernel_keeps_the_centre():
    old = _built_conv(size=5)
    new = old.replace(kernel_size=3)
    np.testing.assert_array_equal(new.kernel, old.kernel[1:4, 1:4])


def test_replace_filter_count_keeps_the_first_filters():
    old = _built_conv(filters=3)
    fewer = old.replace(filters=2)
    np.testing.assert_array_equal(fewer.kernel, old.kernel[..., :2])
    assert fewer.bias.tolist() == [1, 2]
    more = old.replace(filters=4)
    np.testing.assert_array_equal(more.kernel[..., :3], old.kernel)
    assert more.kernel[..., 3].any() and more.bias.tolist() == [1, 2, 3, 0]


def test_replace_transpose_keeps_filters_on_its_own_axis():
    old = Conv2DTranspose(3, 3)
    old.build((4, 4, 2))
    new = old.replace(filters=2, kernel_size=1)
    np.testing.assert_array_equal(new.kernel, old.kernel[1:2, 1:2, :2, :])


def test_replace_errors_carry_the_pipeline_label():
    old = _built_conv()
    with pytest.raises(ConfigError, match="^Conv2D #1: strides must be ≥ 1, got 0×1$") as info:
        old.replace(strides=(0, 1))
    assert info.value.param == "strides" and info.value.layer == "Conv2D #1"


# ---- dropout -----------------------------------------------------------------------------------------
def test_dropout_identity_at_inference():
    layer = Dropout(0.5, seed=1)
    np.testing.assert_array_equal(layer(X36), X36)
    np.testing.assert_array_equal(layer(X36, training=False), X36)
    assert layer.mask is None


def test_dropout_training_with_injected_mask_is_exact():
    layer = Dropout(0.25)
    mask = np.zeros((6, 6, 1), bool)
    mask[::2] = True
    layer.set_mask(mask)
    y = layer(X36, training=True)
    np.testing.assert_allclose(y[::2], X36[::2] / 0.75, rtol=1e-6)
    assert not y[1::2].any()


def test_dropout_mask_is_kept_and_redrawn_on_request():
    layer = Dropout(0.5, seed=3)
    first = layer(np.ones((10, 10, 1)), training=True)
    assert set(np.unique(first)) <= {0, 2}
    mask = layer.mask.copy()
    np.testing.assert_array_equal(layer(np.ones((10, 10, 1)), training=True), first)  # same mask again
    layer.new_mask()
    assert layer.mask.shape == (10, 10, 1) and (layer.mask != mask).any()
    again = Dropout(0.5, seed=3)
    again(np.ones((10, 10, 1)), training=True)
    np.testing.assert_array_equal(again.mask, mask)  # seeded


def test_dropout_keep_fraction_is_about_one_minus_rate():
    layer = Dropout(0.25, seed=0)
    layer(np.ones((100, 100, 1)), training=True)
    assert 0.72 < layer.mask.mean() < 0.78


def test_dropout_mask_shape_is_checked():
    layer = Dropout(0.5)
    layer.build((3, 3, 1))
    with pytest.raises(ConfigError, match=r"Dropout: mask must have shape \(3, 3, 1\), got \(2, 2, 1\)"):
        layer.set_mask(np.ones((2, 2, 1), bool))


def test_dropout_replace_keeps_mask_only_for_same_rate():
    layer = Dropout(0.5, seed=1)
    layer(np.ones((4, 4, 1)), training=True)
    np.testing.assert_array_equal(layer.replace(name="d").mask, layer.mask)
    assert layer.replace(rate=0.3).mask is None


def test_activation_layers():
    x = np.array([-1, 2], np.float32).reshape(1, 2, 1)
    assert ReLU()(x).ravel().tolist() == [0, 2]
    assert Activation("linear")(x).ravel().tolist() == [-1, 2]
    assert Activation("SIGMOID").activation == "sigmoid"
