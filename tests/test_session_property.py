"""Whatever session loads also saves, reloads identically and renders (a file that loaded and then made
every save fail, or that reloaded as something else, was a trap for the autosave and for the user)."""

import base64
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cnnviz.core import ConfigError
from cnnviz.io import SessionError, load_session, save_session
from cnnviz.io.session import VIEW_FIELDS

SIDE = st.integers(1, 7)
PAIR = st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2))
PADDING = st.sampled_from(["valid", "same", "SAME"])
NAME = st.one_of(st.none(), st.text(min_size=1, max_size=12))
# float32 values, their extremes included, and integers written as such
VALUE = st.one_of(st.floats(width=32, allow_nan=False, allow_infinity=False), st.integers(-1000, 1000),
                  st.sampled_from([3.4028234663852886e38, -1.401298464324817e-45, -0.0, 1e-4]))


def config(name, **fields):
    return st.fixed_dictionaries(fields, optional={"name": NAME})


LAYERS = st.one_of(
    st.tuples(st.just("Conv2D"), config("Conv2D", filters=st.integers(1, 3), kernel_size=PAIR, strides=PAIR,
                                        padding=PADDING, use_bias=st.booleans())),
    st.tuples(st.just("Conv2D"), config("Conv2D", filters=st.integers(1, 2), kernel_size=PAIR, dilation_rate=PAIR,
                                        padding=PADDING)),
    st.tuples(st.just("Conv2DTranspose"), config("Conv2DTranspose", filters=st.integers(1, 2), kernel_size=PAIR,
                                                 strides=PAIR, padding=PADDING,
                                                 output_padding=st.one_of(st.none(), st.integers(0, 1)))),
    st.tuples(st.sampled_from(["MaxPooling2D", "AveragePooling2D"]),
              config("Pool", pool_size=PAIR, strides=st.one_of(st.none(), PAIR), padding=PADDING)),
    st.tuples(st.just("UpSampling2D"), config("Up", size=PAIR, interpolation=st.sampled_from(["nearest", "bilinear"]))),
    st.tuples(st.just("Dropout"), config("Dropout", rate=st.floats(0, 0.95), seed=st.one_of(st.none(), st.integers(0, 9)))),
    st.tuples(st.just("ReLU"), config("ReLU")),
    st.tuples(st.just("Activation"), config("Activation", activation=st.sampled_from(["relu", "sigmoid", "tanh", "linear"]))),
)
# view values: good ones, and the kinds that once loaded and then broke every save
VIEW_VALUE = st.one_of(st.integers(-1, 6), st.booleans(), st.text(max_size=5), st.just(float("nan")),
                       st.just(float("-inf")), st.just(json.loads("[" * 600 + "]" * 600)),
                       st.dictionaries(st.text(max_size=3), st.floats(), max_size=2))


@st.composite
def small_inputs(draw):
    """(format, input) of nested lists a value at a time."""
    h, w, c = draw(SIDE), draw(SIDE), draw(st.integers(1, 3))
    values = draw(st.lists(VALUE, min_size=h * w * c, max_size=h * w * c))
    return draw(st.sampled_from([1, 2])), np.array(values, dtype=object).reshape(h, w, c).tolist()


@st.composite
def large_inputs(draw):
    """(format, input) of more numbers than a file lists: nested lists (as an older cnnviz wrote them) or a
    base64 block of little-endian float32 (docs/session-files.md), noise at some scale with one drawn value."""
    h, w = draw(st.integers(33, 40)), draw(st.integers(32, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1e-40, 1e38, 1e39]))  # 1e39 overflows float32: refused with its place
    with np.errstate(over="ignore"):  # 1e39 becomes infinity, which the file must then be refused for
        x = (rng.standard_normal((h, w, 1)) * scale).astype(np.float32)
    x.flat[draw(st.integers(0, x.size - 1))] = draw(VALUE)
    if draw(st.booleans()):
        return 1, x.tolist()
    raw = base64.b64encode(x.astype("<f4").tobytes()).decode()
    return 2, {"dtype": "float32", "shape": [h, w, 1], "base64": raw}


@st.composite
def session_texts(draw):
    fmt, grid = draw(st.one_of(small_inputs(), large_inputs()))
    layers = [{"class_name": kind, "config": cfg} for kind, cfg in draw(st.lists(LAYERS, max_size=4))]
    good = {"selected_layer": st.integers(0, len(layers)), "training": st.booleans(), "recovery_of": st.text(min_size=1, max_size=9)}
    assert set(good) == VIEW_FIELDS
    view = draw(st.fixed_dictionaries({}, optional={**{k: v | VIEW_VALUE for k, v in good.items()},
                                                    "zoom": VIEW_VALUE}))
    data = {"format": fmt, "input": grid, "seed": draw(st.integers(0, 2**40)), "layers": layers, "view": view}
    return json.dumps(data)  # NaN and -Infinity written as JavaScript writes them


def same_session(a, b):
    assert np.array_equal(a.input, b.input) and a.input.dtype == b.input.dtype == np.float32
    assert a.pipeline.get_config() == b.pipeline.get_config() and a.pipeline.seed == b.pipeline.seed
    for u, v in zip(a.pipeline.get_weights(), b.pipeline.get_weights()):
        assert len(u) == len(v) and all(np.array_equal(p, q) for p, q in zip(u, v))
    assert a.view == b.view


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=session_texts())
def test_any_session_that_loads_saves_reloads_identically_and_renders(qapp, text):
    from cnnviz.ui.figure import render_bytes, session_figure

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "drawn.cnnviz.json"
        path.write_text(text)
        try:
            loaded = load_session(path)
        except SessionError as e:
            assert str(e).startswith("drawn.cnnviz.json: ") and "\n" not in str(e)
            event("refused: " + str(e).split(": ")[1].split(".")[0])
            return
        event("loaded")
        again = Path(folder) / "again.cnnviz.json"
        save_session(loaded, again)
        reloaded = load_session(again)
        same_session(loaded, reloaded)
        save_session(reloaded, Path(folder) / "third.cnnviz.json")
        assert (Path(folder) / "third.cnnviz.json").read_bytes() == again.read_bytes()
    try:
        outputs = reloaded.pipeline.run(reloaded.input, training=bool(reloaded.view["training"]))
    except ConfigError as e:  # huge finite inputs and weights can overflow float32: the layer says so
        assert "output overflows float32" in str(e), str(e)
        return
    assert all(np.isfinite(y).all() for y in outputs)
    png = render_bytes(session_figure(reloaded), "png")
    assert png.startswith(b"\x89PNG") and len(png) > 1000
