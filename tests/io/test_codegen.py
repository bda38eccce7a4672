"""Generated Keras/PyTorch code: it parses, and the PyTorch module reproduces cnnviz's numbers layer by layer."""

import ast
import inspect
import subprocess
import sys

import numpy as np
import pytest
from io_support import load_module
from keras_support import QUIET_KERAS, assert_keras_layers_match, import_keras

from cnnviz.core import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    LeakyReLU,
    MaxPooling2D,
    Pipeline,
    ReLU,
    Softmax,
    UpSampling2D,
    ZeroPadding2D,
    seed_input,
    seed_pipeline,
)
from cnnviz.io import Session, SessionError, generate_code


def make_session(input_shape, layers, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=input_shape).astype(np.float32)
    p = Pipeline(input_shape, layers, seed=seed)
    p.build()
    for layer in p.layers:  # non-zero biases, so a bias lost in padding or cropping would show
        weights = layer.get_weights()
        if len(weights) == 2:
            layer.set_weights([rng.normal(size=weights[0].shape).astype(np.float32),
                               rng.normal(size=weights[1].shape).astype(np.float32)])
        elif weights:  # batch normalization: its moving variance (the last array) must stay positive
            layer.set_weights([rng.uniform(0.2, 2, size=w.shape).astype(np.float32) for w in weights])
    return Session(x, p, {})


SESSIONS = {
    "seed lecture": lambda: Session(seed_input(), seed_pipeline(), {}),
    "same padding stride 2 (pads 0 top, 1 bottom)": lambda: make_session(
        (6, 6, 2), [Conv2D(3, 3, strides=2, padding="same")]),
    "same padding stride 1 even kernel, dilation": lambda: make_session(
        (7, 6, 1), [Conv2D(2, (2, 4), padding="same"), Conv2D(2, 3, padding="same", dilation_rate=2),
                    Conv2D(1, (3, 2), strides=(3, 2), padding="valid", use_bias=False)]),
    "transpose same n3 k3 s2 (crop 0 top, 1 bottom)": lambda: make_session(
        (3, 3, 2), [Conv2DTranspose(2, 3, strides=2, padding="same")]),
    "transpose same n3 k5 s2 and n3 k4 s2": lambda: make_session(
        (3, 3, 1), [Conv2DTranspose(2, 5, strides=2, padding="same"), Conv2DTranspose(1, 4, strides=2, padding="same")]),
    "transpose s > k (zero rows past the canvas get the bias)": lambda: make_session(
        (2, 3, 1), [Conv2DTranspose(2, 2, strides=3, padding="same"),
                    Conv2DTranspose(1, 2, strides=3, padding="valid", output_padding=2)]),
    "transpose valid default and dilated": lambda: make_session(
        (3, 2, 2), [Conv2DTranspose(2, 3, strides=3), Conv2DTranspose(1, 2, dilation_rate=2),
                    Conv2DTranspose(1, 3, padding="same", dilation_rate=(1, 2), output_padding=0)]),
    "average pooling same, asymmetric (7x6, pool 3, stride 2)": lambda: make_session(
        (7, 6, 2), [AveragePooling2D(3, strides=2, padding="same"), AveragePooling2D(2)]),
    "max pooling same on negatives": lambda: Session(
        -np.arange(1, 26, dtype=np.float32).reshape(5, 5, 1),
        Pipeline((5, 5, 1), [MaxPooling2D(2, padding="same"), MaxPooling2D(3, strides=1, padding="same")]), {}),
    "bilinear and nearest upsampling": lambda: make_session(
        (2, 3, 2), [UpSampling2D((2, 3), interpolation="bilinear"), UpSampling2D(2), UpSampling2D(3, "bilinear")]),
    "activations and dropout at inference": lambda: make_session(
        (5, 5, 1), [Conv2D(2, 3, padding="same"), ReLU(), Dropout(0.5), Activation("sigmoid"),
                    Activation("tanh"), Activation("linear")]),
    # Flatten's order matters only with more than one channel and a non-square map: torch must permute
    "classifier: flatten 3×2×3 then dense softmax": lambda: make_session(
        (7, 5, 1), [Conv2D(3, 3, strides=2), Flatten(), Dense(6, "relu"), Dropout(0.2), Dense(4, "softmax")]),
    "dense on a map (1×1 conv), leaky relu, softmax over channels": lambda: make_session(
        (3, 4, 2), [Dense(3), LeakyReLU(0.2), Softmax(), Activation("softmax"), Flatten(), Dense(2, "tanh"),
                    LeakyReLU(), Activation("softmax"), Flatten()]),
    "zero padding folded into the conv, uneven padding, cropping": lambda: make_session(
        (5, 6, 2), [ZeroPadding2D(1), Conv2D(2, 3), ZeroPadding2D(((1, 0), (2, 1))), Conv2D(1, 2),
                    ZeroPadding2D((2, 1)), Cropping2D(((1, 2), (0, 1))), ZeroPadding2D(1), MaxPooling2D()]),
    "depthwise valid/same/strided/dilated, global pooling": lambda: make_session(
        (7, 6, 3), [DepthwiseConv2D(3, padding="same", depth_multiplier=2), DepthwiseConv2D(2, strides=2),
                    ZeroPadding2D(1), DepthwiseConv2D((2, 3), dilation_rate=(2, 1), use_bias=False),
                    DepthwiseConv2D(3, strides=2, dilation_rate=2, padding="same"), GlobalAveragePooling2D()]),
    "global max pooling then dense": lambda: make_session(
        (4, 5, 3), [Conv2D(4, 2), GlobalMaxPooling2D(), Dense(2)]),
    "batch normalization on a map and on a vector": lambda: make_session(
        (4, 4, 3), [BatchNormalization(), Conv2D(2, 3), BatchNormalization(epsilon=0.1, center=False), Flatten(),
                    BatchNormalization(scale=False), Dense(2), BatchNormalization(center=False, scale=False)]),
}


@pytest.mark.parametrize("framework", ["keras", "pytorch"])
@pytest.mark.parametrize("name", list(SESSIONS))
def test_generated_code_parses_and_exposes_the_api(name, framework):
    source = generate_code(SESSIONS[name](), framework)
    tree = ast.parse(source)
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    assert {"build_model", "INPUT", "WEIGHTS", "run"} <= names
    compile(source, name, "exec")
    assert "\n\n\n\n" not in source  # PEP 8: at most two blank lines, as a reader's linter expects


@pytest.mark.parametrize("name", list(SESSIONS))
def test_pytorch_code_reproduces_cnnviz_layer_by_layer(tmp_path, name):
    pytest.importorskip("torch")
    session = SESSIONS[name]()
    module = load_module(tmp_path, generate_code(session, "pytorch"), "generated_torch")
    assert np.array_equal(module.INPUT, session.input) and module.INPUT.dtype == np.float32
    layers = session.pipeline.layers
    expected = dict(zip((layer.name for layer in layers), session.pipeline.run(session.input)))
    children = [n for n, _ in module.build_model().named_children()]
    # one child per cnnviz layer, named as in cnnviz, except a zero padding folded into the next layer's padding=
    folded = [layer for layer in layers if layer.name not in children]
    assert children == [layer.name for layer in layers if layer not in folded]
    assert all(type(layer).__name__ == "ZeroPadding2D" for layer in folded)
    got = module.run()
    assert len(got) == len(children)
    for name, g in zip(children, got):
        assert g.shape == expected[name].shape, name
        np.testing.assert_allclose(g, expected[name], atol=1e-5, rtol=1e-5, err_msg=name)


def test_pytorch_same_stride2_gives_the_semantics_table_numbers(tmp_path):
    pytest.importorskip("torch")
    x = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    p = Pipeline((6, 6, 1), [Conv2D(1, 3, strides=2, padding="same")])
    p.build()
    p.layers[0].set_weights([np.array([[1, 0, -1]] * 3, np.float32)[:, :, None, None], np.zeros(1, np.float32)])
    source = generate_code(Session(x, p, {}), "pytorch")
    assert "KerasSamePad(0, 1, 0, 1)" in source and "top 0, bottom 1" in source
    (y,) = load_module(tmp_path, source, "same2").run()
    assert y[..., 0].tolist() == [[-6, -6, 30], [-6, -6, 66], [-4, -4, 62]]


def test_pytorch_code_explains_the_emulation_in_comments():
    source = generate_code(SESSIONS["transpose same n3 k3 s2 (crop 0 top, 1 bottom)"](), "pytorch")
    assert "padding=0" in source and "output_padding=0" in source
    assert "# Keras keeps rows 0..5 and cols 0..5 of the 7×7 canvas" in source
    avg = generate_code(SESSIONS["average pooling same, asymmetric (7x6, pool 3, stride 2)"](), "pytorch")
    assert "padded cells are not counted" in avg
    bil = generate_code(SESSIONS["bilinear and nearest upsampling"](), "pytorch")
    assert "align_corners=False" in bil and "half-pixel" in bil
    assert "HWC -> NCHW" in bil


def test_pytorch_flatten_permutes_to_channels_last_and_says_why():
    source = generate_code(SESSIONS["classifier: flatten 3×2×3 then dense softmax"](), "pytorch")
    assert "class ChannelsLast(nn.Module):" in source and "ChannelsLast(),\n" in source
    assert "# Keras flattens 3×2×3 channels last" in source
    assert "nn.Linear(18, 6, bias=True)" in source and "nn.Softmax(dim=1)" in source
    on_map = generate_code(SESSIONS["dense on a map (1×1 conv), leaky relu, softmax over channels"](), "pytorch")
    assert "nn.Conv2d(2, 3, kernel_size=1, bias=True)" in on_map and "a 1×1 convolution" in on_map
    assert "ChannelsLast" in on_map


def test_pytorch_uses_integer_padding_where_it_can():
    """ZeroPadding2D(1) + Conv2D(valid) is nn.Conv2d(padding=1); an uneven padding stays its own nn.ZeroPad2d."""
    source = generate_code(SESSIONS["zero padding folded into the conv, uneven padding, cropping"](), "pytorch")
    assert "nn.Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), dilation=(1, 1), padding=(1, 1), bias=True)" in source
    assert "# 'zero_padding2d' (ZeroPadding2D #1) is this layer's padding:" in source
    assert "('zero_padding2d_1', nn.ZeroPad2d((2, 1, 1, 0)))" in source  # before a Conv2D, but uneven
    assert "('zero_padding2d_3', nn.ZeroPad2d((1, 1, 1, 1)))" in source  # before a max pooling: zeros would win
    assert "nn.ZeroPad2d((-0, -1, -1, -2))" in source
    depthwise = generate_code(SESSIONS["depthwise valid/same/strided/dilated, global pooling"](), "pytorch")
    assert "groups=3" in depthwise and "nn.AdaptiveAvgPool2d(1)" in depthwise


def test_generated_module_runs_as_a_script(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "model.py"
    path.write_text(generate_code(Session(seed_input(), seed_pipeline(), {}), "pytorch"))
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "layer 3: output (6, 6, 2)" in out.stdout
    # channels numbered from 1 as cnnviz labels them ("channel 1", "map 1"), with the numpy index beside
    assert "  channel 1 (y[:, :, 0]):" in out.stdout and "  channel 2 (y[:, :, 1]):" in out.stdout
    assert "channel 0" not in out.stdout


def _usage(module):
    """The one-line call the module's docstring shows a reader, evaluated in the module."""
    lines = [line.strip() for line in module.__doc__.splitlines() if line.strip().startswith("y = build_model()(")]
    assert len(lines) == 1, module.__doc__
    return eval(lines[0][len("y = "):], vars(module))  # noqa: S307 - our own generated line


@QUIET_KERAS
@pytest.mark.parametrize("framework", ["keras", "pytorch"])
def test_the_docstring_shows_how_to_call_the_model_on_input(tmp_path, framework):
    """`model(INPUT)` is what a reader tries first; torch needs channels first and a batch axis: the
    docstring gives the exact call, and it gives cnnviz's last output."""
    import_keras() if framework == "keras" else pytest.importorskip("torch")
    session = SESSIONS["same padding stride 2 (pads 0 top, 1 bottom)"]()
    module = load_module(tmp_path, generate_code(session, framework), f"usage_{framework}")
    y = _usage(module)
    y = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    expected = session.pipeline.run(session.input)[-1]
    got = y[0] if framework == "keras" else y[0].transpose(1, 2, 0)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


@QUIET_KERAS
@pytest.mark.parametrize("name", list(SESSIONS))
def test_keras_code_reproduces_cnnviz_layer_by_layer(tmp_path, name):
    keras = import_keras()
    session = SESSIONS[name]()
    module = load_module(tmp_path, generate_code(session, "keras"), "generated_keras")
    assert np.array_equal(module.INPUT, session.input)
    model = module.build_model()
    compared = assert_keras_layers_match(keras, model.layers, session.pipeline, session.input)
    if compared < len(session.pipeline.layers):  # a backend's own gap, said in the generated code
        source = inspect.getsource(module)
        assert any(note in source for note in ("keras-team/keras#18452", "refuse a dilated Conv2DTranspose",
                                               "TensorFlow refuses this output_padding"))
        return
    expected = session.pipeline.run(session.input)
    got = module.run()
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected), start=1):
        np.testing.assert_allclose(g, e, atol=1e-5, rtol=1e-5, err_msg=f"layer {i}")


def test_keras_code_uses_keras_names_and_arguments():
    source = generate_code(SESSIONS["same padding stride 2 (pads 0 top, 1 bottom)"](), "keras")
    assert "keras.Input(shape=(6, 6, 2))" in source
    assert "layers.Conv2D(3, (3, 3), strides=(2, 2), padding='same', dilation_rate=(1, 1), use_bias=True, " \
           "name='conv2d')" in source
    assert "model.get_layer(name).set_weights(arrays)" in source


def test_weights_are_written_exactly(tmp_path):
    pytest.importorskip("torch")
    session = make_session((4, 4, 1), [Conv2D(2, 3)], seed=9)
    module = load_module(tmp_path, generate_code(session, "pytorch"), "exact")
    for a, b in zip(module.WEIGHTS["conv2d"], session.pipeline.layers[0].get_weights()):
        assert a.dtype == np.float32 and np.array_equal(a, b)


def test_unknown_framework_is_refused():
    with pytest.raises(SessionError, match="unknown framework 'jax'"):
        generate_code(Session(seed_input(), seed_pipeline(), {}), "jax")


def test_training_mode_dropout_is_explained():
    session = SESSIONS["activations and dropout at inference"]()
    assert "training mode" not in generate_code(session, "pytorch")
    session.view["training"] = True
    assert "Dropout is the identity, as in Keras" in generate_code(session, "keras")
