"""The lecture's own numbers: its two filters on its 6×6 input, every map it shows, exactly."""

import numpy as np
from cnnviz.core import Conv2D, filter_preset, seed_input, seed_pipeline

DIAGONAL = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
VERTICAL_LINE = [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]]
MAP_1 = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
MAP_2 = [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]


def lecture_conv(strides=1) -> Conv2D:
    conv = Conv2D(2, 3, strides=strides, padding="valid")
    conv.build((6, 6, 1))
    kernel = np.array([DIAGONAL, VERTICAL_LINE], np.float32).transpose(1, 2, 0)[:, :, None, :]
    conv.set_weights([kernel, np.zeros(2, np.float32)])
    return conv


def test_the_seed_session_holds_the_lecture_filters_and_bias_zero():
    conv = seed_pipeline().layers[0]
    assert conv.kernel[:, :, 0, 0].tolist() == DIAGONAL == filter_preset("lecture diagonal").tolist()
    assert conv.kernel[:, :, 0, 1].tolist() == VERTICAL_LINE == filter_preset("lecture vertical line").tolist()
    assert conv.bias.tolist() == [0, 0]


def test_the_top_left_inner_product_is_3():
    patch = seed_input()[0:3, 0:3, 0]
    assert float((patch * np.array(DIAGONAL)).sum()) == 3


def test_stride_1_maps():
    out = seed_pipeline().run(seed_input())[0]
    assert out[:, :, 0].tolist() == MAP_1
    assert out[:, :, 1].tolist() == MAP_2


def test_max_pooling_2_keeps_the_strongest_matches():
    out = seed_pipeline().run(seed_input())[1]
    assert out.shape == (2, 2, 2)
    assert out[:, :, 0].tolist() == [[3, 0], [3, 1]]
    assert out[:, :, 1].tolist() == [[-1, 1], [0, 3]]


def test_stride_2_map_1():
    """Stride 2 visits every other window of stride 1: the lecture's [[3, −3], [−3, 0]]."""
    out = lecture_conv(strides=2)(seed_input())
    assert out.shape == (2, 2, 2)
    assert out[:, :, 0].tolist() == [[3, -3], [-3, 0]]
    assert out[:, :, 1].tolist() == [[-1, -1], [-1, -2]]
