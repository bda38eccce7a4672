"""Filter presets, example inputs and the lecture's default session."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    FILTER_PRESETS,
    INPUT_EXAMPLES,
    ConfigError,
    Conv2D,
    conv2d,
    example_input,
    filter_preset,
    seed_input,
    seed_pipeline,
)

LECTURE = [
    [1, 0, 0, 0, 0, 1],
    [0, 1, 0, 0, 1, 0],
    [0, 0, 1, 1, 0, 0],
    [1, 0, 0, 0, 1, 0],
    [0, 1, 0, 0, 1, 0],
    [0, 0, 1, 0, 1, 0],
]

CANONICAL = {
    "lecture diagonal": [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]],
    "lecture vertical line": [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "vertical edge": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}


def test_preset_names_in_menu_order():
    assert FILTER_PRESETS == ("lecture diagonal", "lecture vertical line", "identity", "vertical edge", "horizontal edge", "sobel x", "sobel y", "laplacian",
                              "box blur", "sharpen", "random")
    assert INPUT_EXAMPLES == ("lecture", "digit", "diagonal", "checkerboard")


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_3x3_values(name):
    k = filter_preset(name)
    assert k.dtype == np.float32 and k.tolist() == CANONICAL[name]


def test_box_blur_and_random():
    np.testing.assert_allclose(filter_preset("box blur"), np.full((3, 3), 1 / 9), rtol=1e-6)
    a = filter_preset("random", (3, 3), np.random.default_rng(1))
    np.testing.assert_array_equal(a, filter_preset("random", 3, np.random.default_rng(1)))
    assert np.abs(a).max() <= 1 and np.allclose(a * 10, np.round(a * 10), atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(kh=st.integers(1, 7), kw=st.integers(1, 7), h=st.integers(1, 9), w=st.integers(1, 9))
def test_any_size_identity_is_identity_under_same_padding(kh, kw, h, w):
    """The centre ((k−1)//2) lines up with the output cell under Keras `same`, even for even sizes."""
    x = np.random.default_rng(h * w).standard_normal((h, w, 1)).astype(np.float32)
    kernel = filter_preset("identity", (kh, kw))[:, :, None, None]
    np.testing.assert_array_equal(conv2d(x, kernel, None, (1, 1), "same"), x)


@settings(max_examples=40, deadline=None)
@given(kh=st.integers(1, 7), kw=st.integers(1, 7))
def test_any_size_presets_are_sensible(kh, kw):
    for name in ("vertical edge", "horizontal edge", "sobel x", "sobel y", "laplacian"):
        k = filter_preset(name, (kh, kw))
        assert k.shape == (kh, kw) and k.sum() == 0  # no response to a flat image
    assert filter_preset("box blur", (kh, kw)).sum() == pytest.approx(1)
    assert filter_preset("sharpen", (kh, kw)).sum() == 1  # a flat image stays flat
    vertical = filter_preset("vertical edge", (kh, kw))
    np.testing.assert_array_equal(filter_preset("horizontal edge", (kw, kh)), vertical.T)
    if kw > 1:  # left column positive, right column negative, as the 3×3 one
        assert (vertical[:, 0] == 1).all() and (vertical[:, -1] == -1).all()


def test_unknown_preset_and_bad_size():
    with pytest.raises(ConfigError, match="unknown filter preset 'emboss'"):
        filter_preset("emboss")
    with pytest.raises(ConfigError, match="size must be one or two integers"):
        filter_preset("identity", (0, 3))


def test_lecture_input():
    x = example_input("lecture")
    assert x.shape == (6, 6, 1) and x.dtype == np.float32
    assert x[:, :, 0].tolist() == LECTURE
    np.testing.assert_array_equal(seed_input(), x)


@pytest.mark.parametrize("name", INPUT_EXAMPLES)
@pytest.mark.parametrize("shape", [(6, 6, 1), (28, 28, 1), (5, 9, 3), (1, 1, 1), (64, 32, 2)])
def test_examples_fit_any_shape(name, shape):
    x = example_input(name, shape)
    assert x.shape == shape and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0
    for c in range(1, shape[2]):
        np.testing.assert_array_equal(x[:, :, c], x[:, :, 0])


def test_diagonal_and_checkerboard():
    assert example_input("diagonal", (4, 4, 1))[:, :, 0].tolist() == np.eye(4).tolist()
    wide = example_input("diagonal", (3, 6, 1))[:, :, 0]
    assert (wide.sum(axis=0) >= 1).all() and (wide.sum(axis=1) >= 1).all()  # connected, corner to corner
    assert wide[0, 0] == 1 and wide[-1, -1] == 1
    assert example_input("checkerboard", (2, 3, 1))[:, :, 0].tolist() == [[1, 0, 1], [0, 1, 0]]


def test_digit_looks_drawn():
    x = example_input("digit", (28, 28, 1))[:, :, 0]
    ink = x > 0.5
    assert 0.08 < ink.mean() < 0.4  # a stroke, not a blob or nothing
    assert not ink[0].any() and not ink[-1].any()  # margins
    assert len(np.unique(x)) > 3  # soft edges


def test_unknown_example_and_bad_shape():
    with pytest.raises(ConfigError, match="unknown input example 'cat'"):
        example_input("cat")
    with pytest.raises(ConfigError, match="shape"):
        example_input("lecture", (6, 6))


def test_seed_pipeline_is_the_lecture():
    pipeline = seed_pipeline()
    assert pipeline.input_shape == (6, 6, 1)
    assert pipeline.output_shapes() == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]
    conv = pipeline.layers[0]
    assert isinstance(conv, Conv2D) and conv.name == "conv2d" and conv.padding == "valid"
    assert conv.kernel[:, :, 0, 0].tolist() == CANONICAL["lecture diagonal"]
    assert conv.kernel[:, :, 0, 1].tolist() == CANONICAL["lecture vertical line"]
    assert conv.bias.tolist() == [0, 0]
    assert [layer.get_config() for layer in pipeline.layers[1:]] == [
        {"name": "max_pooling2d", "pool_size": (2, 2), "strides": None, "padding": "valid"},
        {"name": "up_sampling2d", "size": (3, 3), "interpolation": "nearest"},
    ]
    outputs = pipeline.run(seed_input())  # the maps themselves: tests/core/test_lecture_numbers.py
    assert outputs[2][:, :, 0].tolist() == np.kron([[3, 0], [3, 1]], np.ones((3, 3))).tolist()


@settings(max_examples=40, deadline=None)
@given(kh=st.integers(1, 7), kw=st.integers(1, 7))
def test_lecture_filters_at_any_size_are_plus_one_on_their_line(kh, kw):
    diagonal = filter_preset("lecture diagonal", (kh, kw))
    line = filter_preset("lecture vertical line", (kh, kw))
    assert set(np.unique(diagonal)) <= {-1, 1} and set(np.unique(line)) <= {-1, 1}
    assert diagonal[0, 0] == 1 and diagonal[-1, -1] == 1
    assert ((diagonal == 1).sum(axis=0) >= 1).all() and ((diagonal == 1).sum(axis=1) >= 1).all()  # corner to corner
    assert (line == 1).sum(axis=0).tolist() == [kh if c == (kw - 1) // 2 else 0 for c in range(kw)]
