"""Every registered layer type describes itself completely (docs/architecture.md, "The layer description").

One walk over the registry: parameters that match the constructor, weights that match get_weights, the
output shape and its explanation, provenance terms that give the output, a receptive field that holds
every term, the PyTorch translation and the Keras config keys. A type that forgets a piece fails here,
instead of being treated as the identity somewhere else.
"""

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest

from cnnviz.core import (
    LAYER_TYPES,
    ConfigError,
    Layer,
    cell_provenance,
    layer_from_config,
    layer_to_config,
)
from cnnviz.core.layers.base import CellToCell
from cnnviz.core.layers.description import KINDS, REQUIRED, Terms, TorchCode

TYPES = list(LAYER_TYPES.values())
MAP = (7, 6, 3)
VECTOR = (12,)


def overrides(cls, method: str) -> bool:
    return getattr(cls, method) is not getattr(Layer, method)


def input_shapes(cls):
    return [shape for shape in (MAP, VECTOR) if len(shape) in cls.INPUT_RANKS]


def random_layer(cls, shape, seed=0):
    layer = cls.suggested(shape)
    layer.index = 1
    layer.build(shape)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("cls", TYPES, ids=list(LAYER_TYPES))
def test_parameters_are_the_constructor_s_keyword_arguments(cls):
    signature = inspect.signature(cls).parameters
    assert [p.name for p in cls.PARAMS] == [n for n in signature if n != "name"]
    for p in cls.PARAMS:
        assert p.kind in KINDS and p.label and len(p.help) > 20, p.name
        default = signature[p.name].default
        assert p.default == (REQUIRED if default is inspect.Parameter.empty else default), p.name
        if p.required:
            assert p.suggested is not None, f"{cls.__name__}.{p.name} needs a suggested value for a new layer"
        if p.kind == "choice":
            assert p.initial in p.choices or (p.initial is None and p.nullable)
        json_value = json.loads(json.dumps(p.initial))  # as a session file holds it
        assert p.problem(json_value) is None, (p.name, p.initial)
    assert cls.HELP and cls.DEFAULT_NAME != Layer.DEFAULT_NAME


@pytest.mark.parametrize("cls", TYPES, ids=list(LAYER_TYPES))
def test_a_suggested_layer_round_trips_its_config(cls):
    for shape in input_shapes(cls):
        layer = cls.suggested(shape)
        config = layer_to_config(layer)
        again = layer_from_config(json.loads(json.dumps(config)))
        assert layer_to_config(again) == config
        assert again.compute_output_shape(shape) == layer.compute_output_shape(shape)
        assert len(layer.explain_output_shape(shape)) == len(layer.compute_output_shape(shape))


@pytest.mark.parametrize("cls", TYPES, ids=list(LAYER_TYPES))
def test_weights_are_described_in_keras_order_and_layout(cls):
    for shape in input_shapes(cls):
        layer = random_layer(cls, shape)
        specs = layer.weight_specs()
        assert [w.shape for w in layer.get_weights()] == layer.weight_shapes(shape)
        assert len(specs) == len(layer.get_weights())
        for spec, array in zip(specs, layer.get_weights()):
            assert len(spec.axes) == array.ndim and spec.help and spec.layout.startswith(spec.name)
            if spec.in_axis is not None:
                assert array.shape[spec.in_axis] == shape[-1]
        if specs and specs[0].name == "kernel":
            assert overrides(cls, "kernel_reach") and overrides(cls, "weight_footprint")


@pytest.mark.parametrize("cls", TYPES, ids=list(LAYER_TYPES))
def test_provenance_gives_the_output_and_the_field_holds_every_term(cls):
    assert overrides(cls, "provenance") and (overrides(cls, "field_back") or issubclass(cls, CellToCell))
    for shape in input_shapes(cls):
        layer = random_layer(cls, shape, seed=3)
        x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
        y = layer(x)
        for cell in [tuple(np.zeros(y.ndim, int)), tuple(np.array(y.shape) - 1), tuple(np.array(y.shape) // 2)]:
            made = layer.provenance(x, cell, False)
            assert isinstance(made, Terms)
            np.testing.assert_allclose(cell_provenance(layer, x, cell).value, y[cell], rtol=1e-5, atol=1e-5)
            field = layer.field_back(shape, tuple(np.array([v]) for v in cell))
            assert len(field) == len(shape)
            used = {t.cell for t in made.terms if not t.padding and t.coefficient != 0}
            for term_cell in used:
                assert all(v in axis for v, axis in zip(term_cell, field)), (cell, term_cell)


@pytest.mark.parametrize("cls", TYPES, ids=list(LAYER_TYPES))
def test_pytorch_translation_and_keras_keys(cls):
    assert isinstance(cls.KERAS_EXTRAS, dict)
    for shape in input_shapes(cls):
        layer = random_layer(cls, shape)
        code = layer.torch_code(shape, layer.compute_output_shape(shape))
        assert isinstance(code, TorchCode) and code.expr
        weights = len(layer.get_weights())
        loaded = {int(i) for line in code.loads for i in re.findall(r"\{weights\}\[(\d)\]", line)}
        assert loaded == set(range(weights)), "every weight array is copied into the torch module"


@pytest.mark.parametrize("cls", TYPES, ids=list(LAYER_TYPES))
def test_a_map_layer_on_a_vector_is_refused_by_name(cls):
    if 1 in cls.INPUT_RANKS:
        return
    with pytest.raises(ConfigError, match=rf"^{cls.__name__}: needs an \(H, W, C\) map, got a vector of 12 values"):
        cls.suggested(MAP).compute_output_shape(VECTOR)


SWITCH_FREE = ["cnnviz/core/provenance.py", "cnnviz/io/codegen.py", "cnnviz/io/session.py", "cnnviz/io/keras_config.py"]


@pytest.mark.parametrize("path", SWITCH_FREE)
def test_readers_of_the_description_do_not_switch_on_the_class(path):
    source = (Path(__file__).parents[2] / path).read_text()
    assert not re.search(r"isinstance\(layer|\)\.__name__ (==|in|!=)", source)
