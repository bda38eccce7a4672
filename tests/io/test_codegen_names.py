"""Generated code runs whatever names the session's layers hold (a session may hold any 1-100 characters)."""

import ast

import numpy as np
import pytest
from io_support import load_module
from keras_support import QUIET_KERAS, import_keras

from cnnviz.core import Conv2D, MaxPooling2D, Pipeline, ReLU
from cnnviz.io import Session, generate_code

NAMES = ["block1.conv", "forward", "a/b", "a_b", "Grüße 1", "re_lu_7"]


def named_session():
    layers = [Conv2D(2, 3, padding="same", name="block1.conv"), ReLU(name="forward"), Conv2D(1, 1, name="a/b"),
              ReLU(name="a_b"), MaxPooling2D(2, name="Grüße 1"), ReLU(name="re_lu_7")]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 6, 1)).astype(np.float32)
    p = Pipeline(x.shape, layers)
    p.build()
    return Session(x, p, {})


def literal_children(source):
    """The (name, module) pairs of the generated nn.Sequential(OrderedDict([...])), read without torch."""
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
                and getattr(n.func, "id", None) == "OrderedDict")
    return [ast.literal_eval(t.elts[0]) for t in call.args[0].elts]


def test_pytorch_child_names_have_no_dot_and_cannot_be_torch_attributes():
    session = named_session()
    assert [layer.name for layer in session.pipeline.layers] == NAMES
    source = generate_code(session, "pytorch")
    assert literal_children(source) == ["layer1_block1_conv", "layer2_forward", "layer3_a_b", "layer4_a_b",
                                        "layer5_Gr__e_1", "re_lu_7"]
    assert "# cnnviz layer 'block1.conv'" in source and "# cnnviz layer 'Grüße 1'" in source
    assert "WEIGHTS['block1.conv'][0]" in source  # the weights keep the session's names


def test_keras_names_have_no_slash_and_stay_unique():
    source = generate_code(named_session(), "keras")
    assert "name='a_b_1')" in source and "name='a_b')" in source and "name='block1.conv')" in source
    assert "# cnnviz layer 'a/b' ('/' is not allowed in a Keras name)" in source
    assert "'a_b_1': [" in source  # the Conv2D once named 'a/b': WEIGHTS keyed by the name get_layer finds


def test_pytorch_code_with_any_names_runs_and_gives_cnnviz_numbers(tmp_path):
    pytest.importorskip("torch")
    session = named_session()
    module = load_module(tmp_path, generate_code(session, "pytorch"), "named_torch")
    for got, expected in zip(module.run(), session.pipeline.run(session.input)):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


@QUIET_KERAS
def test_keras_code_with_any_names_runs_and_gives_cnnviz_numbers(tmp_path):
    import_keras()
    session = named_session()
    module = load_module(tmp_path, generate_code(session, "keras"), "named_keras")
    for got, expected in zip(module.run(), session.pipeline.run(session.input)):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
