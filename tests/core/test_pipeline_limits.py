"""Limits on what a whole pipeline may ask for, refused before any work with the arithmetic in the message."""

import pytest

from cnnviz.core import ConfigError, Conv2D, Conv2DTranspose, Pipeline, ReLU, UpSampling2D
from cnnviz.core.limits import MAX_LAYERS, MAX_LEVEL_VALUES


def refusal(input_shape, layers) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        Pipeline(input_shape, layers).build()
    return err.value


def test_a_tiny_input_through_huge_strides_is_refused_by_the_size_of_its_output():
    e = refusal((2, 2, 1), [Conv2DTranspose(1, 3, strides=4096, padding="same")])
    assert str(e) == ("Conv2DTranspose #1: output 8192×8192×1 = 67,108,864 values brings the input and the outputs "
                      "up to it to 67,108,868 values, more than 2^23 = 8,388,608: too large to compute interactively")
    assert e.layer == "Conv2DTranspose #1"


def test_the_values_of_all_levels_count_together():
    # each level alone is allowed; together they are not
    side = 1024
    layers = [ReLU() for _ in range(8)]
    e = refusal((side, side, 1), layers)
    assert str(e).startswith(f"ReLU #8: output {side}×{side}×1 = 1,048,576 values brings the input and the outputs "
                             "up to it to 9,437,184 values, more than 2^23")
    Pipeline((side, side, 1), layers[:7]).build()  # 8 levels of 2^20: exactly the limit
    assert 8 * side * side == MAX_LEVEL_VALUES


def test_upsampling_a_map_to_4096_squared_is_refused():
    e = refusal((64, 64, 1), [UpSampling2D(64)])
    assert "UpSampling2D #1: output 4096×4096×1 = 16,777,216 values" in str(e)


def test_weights_that_no_session_file_could_hold_are_refused_before_they_are_made():
    layer = Conv2D(64, 64, padding="same")
    e = refusal((1, 1, 64), [layer])
    assert str(e) == ("Conv2D #1: 16,777,280 weights bring the input (64 values) and the weights up to it to "
                      "16,777,344 numbers, more than 2^20 = 1,048,576: too many to save and reload in about a second")
    assert e.param == "filters" and layer.kernel is None


def test_input_and_weights_count_together():
    first = Conv2D(64, 3, padding="same")  # 3·3·64·64 + 64 = 36,928 weights
    assert first.weight_shapes((16, 16, 64)) == [(3, 3, 64, 64), (64,)]
    Pipeline((16, 16, 64), [first, Conv2D(64, 15, padding="same")]).build()  # 16,384 + 36,928 + 921,664
    e = refusal((16, 16, 64), [first, Conv2D(64, 16, padding="same")])
    assert str(e) == ("Conv2D #2: 1,048,640 weights bring the input (16,384 values) and the weights up to it to "
                      "1,101,952 numbers, more than 2^20 = 1,048,576: too many to save and reload in about a second")


def test_more_layers_than_a_window_can_show_are_refused():
    Pipeline((2, 2, 1), [ReLU() for _ in range(MAX_LAYERS)])
    with pytest.raises(ConfigError) as err:
        Pipeline((2, 2, 1), [ReLU() for _ in range(MAX_LAYERS + 1)])
    assert str(err.value) == "Pipeline: 33 layers, more than 32: too many to show and compute interactively"


def test_many_layers_of_one_kind_get_keras_names_in_order():
    p = Pipeline((2, 2, 1), [ReLU() for _ in range(MAX_LAYERS)])
    assert [layer.name for layer in p.layers] == ["re_lu"] + [f"re_lu_{k}" for k in range(1, MAX_LAYERS)]
    p.layers = p.layers[:3] + [ReLU()] + p.layers[3:-1]
    assert p.layers[3].name == f"re_lu_{MAX_LAYERS - 1}"  # a newcomer takes the first free suffix, others keep theirs
