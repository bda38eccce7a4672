"""Session files: exact round trips, strict validation with file-and-place messages, atomic save."""

import base64
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.core import (
    LAYER_TYPES,
    ConfigError,
    Conv2D,
    Conv2DTranspose,
    Dropout,
    MaxPooling2D,
    Pipeline,
    UpSampling2D,
    seed_input,
    seed_pipeline,
)
from cnnviz.io import Session, SessionError, load_session, save_session, session_to_dict
from cnnviz.io import atomic as atomic_module
from cnnviz.io import session as session_module

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "resources")


def random_session():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(7, 5, 2)).astype(np.float32)
    layers = [Conv2D(3, (3, 2), strides=2, padding="same", use_bias=True), Dropout(0.25, seed=4),
              Conv2DTranspose(2, 3, strides=2, padding="same"), MaxPooling2D(2, padding="same"),
              UpSampling2D((2, 3), interpolation="bilinear")]
    p = Pipeline(x.shape, layers, seed=11)
    p.build()
    p.layers[0].set_weights([rng.normal(size=(3, 2, 2, 3)).astype(np.float32),
                             rng.normal(size=3).astype(np.float32)])
    p.run(x, training=True)  # draws the Dropout mask
    return Session(x, p, {"selected_layer": 2, "training": True})


def write(tmp_path, data, name="bad.cnnviz.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_round_trip_gives_identical_arrays_configs_masks_and_view(tmp_path):
    s = random_session()
    path = tmp_path / "s.cnnviz.json"
    save_session(s, path)
    t = load_session(path)
    assert t.input.dtype == np.float32 and np.array_equal(t.input, s.input)
    assert t.pipeline.get_config() == s.pipeline.get_config()
    assert t.pipeline.seed == 11
    for a, b in zip(s.pipeline.get_weights(), t.pipeline.get_weights()):
        assert len(a) == len(b) and all(np.array_equal(u, v) and v.dtype == np.float32 for u, v in zip(a, b))
    assert np.array_equal(t.pipeline.layers[1].mask, s.pipeline.layers[1].mask)
    assert t.view == {"selected_layer": 2, "training": True}
    for u, v in zip(s.pipeline.run(s.input, training=True), t.pipeline.run(t.input, training=True)):
        assert np.array_equal(u, v)
    # saving the loaded session again gives the very same bytes
    save_session(t, tmp_path / "again.cnnviz.json")
    assert (tmp_path / "again.cnnviz.json").read_bytes() == path.read_bytes()


def test_numbers_are_written_as_short_float32_text(tmp_path):
    x = np.full((1, 2, 1), 0.1, np.float32)
    x[0, 1, 0] = 3.0
    p = Pipeline(x.shape, [])
    save_session(Session(x, p, {}), tmp_path / "s.cnnviz.json")
    text = (tmp_path / "s.cnnviz.json").read_text()
    assert "[[[0.1], [3]]]" in text
    assert load_session(tmp_path / "s.cnnviz.json").input[0, 0, 0] == np.float32(0.1)



def large_session():
    """A 40×40×3 input (1,600 values a channel) with float32's extremes, 64 filters of 3×3×3 and a Dropout
    mask of 38×38×64: each more than LIST_MAX_VALUES numbers. The bias (64) stays small."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 40, 3)).astype(np.float32)
    x.flat[:4] = [-0.0, 1.401298464324817e-45, 3.4028234663852886e38, -3.4028234663852886e38]
    p = Pipeline(x.shape, [Conv2D(64, 3), Dropout(0.5, seed=1)], seed=2)
    p.build()
    p.run(x, training=True)  # draws the mask
    return Session(x, p, {"selected_layer": 1, "training": True})


def test_a_large_array_is_a_base64_block_of_its_little_endian_float32_bytes(tmp_path):
    s = large_session()
    assert min(s.input.size, s.pipeline.layers[0].kernel.size, s.pipeline.layers[1].mask.size) > \
        session_module.LIST_MAX_VALUES
    save_session(s, tmp_path / "big.cnnviz.json")
    data = json.loads((tmp_path / "big.cnnviz.json").read_text())
    assert data["format"] == 2
    assert {k: v for k, v in data["input"].items() if k != "base64"} == {"dtype": "float32", "shape": [40, 40, 3]}
    assert base64.b64decode(data["input"]["base64"]) == s.input.astype("<f4").tobytes()
    kernel, bias = data["layers"][0]["weights"]
    assert kernel["shape"] == [3, 3, 3, 64] and isinstance(bias, list) and len(bias) == 64  # small: a list
    mask = data["layers"][1]["mask"]
    assert mask["dtype"] == "bool" and set(base64.b64decode(mask["base64"])) == {0, 1}
    t = load_session(tmp_path / "big.cnnviz.json")
    assert t.input.dtype == np.float32 and t.input.flags.writeable
    assert np.array_equal(t.input.view(np.uint32), s.input.view(np.uint32))  # bit for bit: −0 and subnormals too
    for a, b in zip(s.pipeline.get_weights(), t.pipeline.get_weights()):
        assert all(np.array_equal(u, v) and v.dtype == np.float32 for u, v in zip(a, b))
    assert np.array_equal(t.pipeline.layers[1].mask, s.pipeline.layers[1].mask) and t.view == s.view
    save_session(t, tmp_path / "again.cnnviz.json")
    assert (tmp_path / "again.cnnviz.json").read_bytes() == (tmp_path / "big.cnnviz.json").read_bytes()
    # the dict form holds the same blocks and reads back as the same session
    u = session_module.session_from_dict(json.loads(json.dumps(session_to_dict(s))))
    assert np.array_equal(u.input.view(np.uint32), s.input.view(np.uint32))


def test_a_session_of_small_arrays_is_still_format_1_nested_lists(tmp_path):
    save_session(random_session(), tmp_path / "s.cnnviz.json")
    data = json.loads((tmp_path / "s.cnnviz.json").read_text())
    assert data["format"] == 1 and isinstance(data["input"], list)
    assert isinstance(data["layers"][1]["mask"], list)


def test_an_older_file_with_a_large_nested_list_loads_and_saves_as_a_block(tmp_path):
    x = np.arange(40 * 40, dtype=np.float32).reshape(40, 40, 1) / 8
    path = write(tmp_path, {"format": 1, "input": x.tolist(), "layers": [{"class_name": "ReLU", "config": {}}]})
    s = load_session(path)
    assert np.array_equal(s.input, x)
    save_session(s, tmp_path / "new.cnnviz.json")
    data = json.loads((tmp_path / "new.cnnviz.json").read_text())
    assert data["format"] == 2 and data["input"]["shape"] == [40, 40, 1]



def test_the_example_in_the_format_description_loads():
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "session-files.md")).read()
    example = text.split("```json\n")[1].split("```")[0]
    s = session_module.session_from_dict(json.loads(example))
    assert s.pipeline.run(s.input)[0][..., 0].tolist() == [[2, 0], [0, 2]]  # the diagonal filter on a diagonal

def block_of(a, **change):
    return {"dtype": "float32", "shape": list(a.shape), "base64": base64.b64encode(a.astype("<f4").tobytes()).decode(),
            **change}


X40 = np.ones((40, 40, 1), np.float32)


@pytest.mark.parametrize("block, message", [
    (block_of(X40, dtype="float16"), 'input.dtype: expected "float32", got "float16"'),
    (block_of(X40, shape=[40, 40, 0]), "input.shape: expected 3 positive integers (rows, columns, ...), got [40, 40, 0]"),
    (block_of(X40, shape=[40, 40, True]), "input.shape: expected 3 positive integers (rows, columns, ...), got [40, 40, true]"),
    (block_of(X40, shape=[2**40, 2**40, 1], base64=""), "input.shape: 1099511627776×1099511627776×1 is more than "
                                                        "67108864 values"),
    (block_of(X40)["base64"], 'input: expected a list (3 more levels of nesting) or a base64 block, got "AACAPw'),
    (block_of(X40, base64=block_of(X40)["base64"][:-8]), "input.base64: 8,528 characters, but 40×40×1 float32 values "
                                                         "are 6,400 bytes: 8,536 characters of base64"),
    (block_of(X40, base64="é" * 8536), "input.base64: not valid base64"),
    (block_of(np.full((40, 40, 1), np.inf, np.float32)), "input[0][0][0]: expected a finite number, got inf"),
])
def test_a_bad_base64_block_is_refused_with_file_and_place(tmp_path, block, message):
    path = write(tmp_path, {"format": 2, "input": block, "layers": []})
    with pytest.raises(SessionError) as e:
        load_session(path)
    assert str(e.value).startswith(f"bad.cnnviz.json: {message}"), str(e.value)

def good_dict():
    s = Session(seed_input(), seed_pipeline(), {})
    s.pipeline.build()
    return json.loads(json.dumps(session_to_dict(s)))


def with_change(change):
    d = good_dict()
    change(d)
    return d


BAD_FILES = [
    ("not json {", "bad.cnnviz.json: not valid JSON: Expecting value at line 1 column 1"),
    ([1, 2], "bad.cnnviz.json: expected a JSON object with a \"format\" field, got a list"),
    ({"input": []}, "bad.cnnviz.json: not a cnnviz session (no \"format\" field)"),
    (with_change(lambda d: d.update(format=7)),
     "bad.cnnviz.json: format: unknown format 7 (written by a newer cnnviz?); this cnnviz reads formats 1 and 2"),
    (with_change(lambda d: d.update(format="1")), "bad.cnnviz.json: format: expected an integer format number, got \"1\""),
    (with_change(lambda d: d.pop("input")), "bad.cnnviz.json: input: missing"),
    (with_change(lambda d: d.update(extra=1)), "bad.cnnviz.json: extra: unknown field (expected format, generator, "
                                               "input, layers, seed, training, view)"),
    (with_change(lambda d: d["layers"][1].update(class_name="LSTM")),
     f"bad.cnnviz.json: layers[1].class_name: unknown layer 'LSTM' (cnnviz knows {', '.join(LAYER_TYPES)})"),
    (with_change(lambda d: d["layers"][1]["config"].update(strides=[0, 1])),
     "bad.cnnviz.json: layers[1].config.strides: expected two positive integers, got [0, 1]"),
    (with_change(lambda d: d["layers"][0]["config"].update(strides=[1.5, 1])),
     "bad.cnnviz.json: layers[0].config.strides: expected two positive integers, got [1.5, 1]"),
    (with_change(lambda d: d["layers"][0]["config"].pop("filters")),
     "bad.cnnviz.json: layers[0].config.filters: missing (a Conv2D needs it)"),
    (with_change(lambda d: d["layers"][0]["config"].update(padding="full")),
     "bad.cnnviz.json: layers[0].config.padding: expected 'valid' or 'same', got \"full\""),
    (with_change(lambda d: d["layers"][0]["config"].update(use_bias="yes")),
     "bad.cnnviz.json: layers[0].config.use_bias: expected true or false, got \"yes\""),
    (with_change(lambda d: d["layers"][0]["config"].update(groups=2)),
     "bad.cnnviz.json: layers[0].config.groups: unknown field for Conv2D (expected dilation_rate, filters, "
     "kernel_size, name, padding, strides, use_bias)"),
    (with_change(lambda d: d["layers"][0]["config"].update(kernel_size=[9, 9])),
     "bad.cnnviz.json: layers[0].config.kernel_size: Conv2D #1: kernel 9×9 does not fit a 6×6 input with "
     "padding \"valid\": output would be 0×0"),
    (with_change(lambda d: d["layers"][0]["config"].update(strides=[2, 1], dilation_rate=[1, 2])),
     "bad.cnnviz.json: layers[0].config.dilation_rate: Conv2D: strides 2×1 together with dilation_rate 1×2 is "
     "not allowed: Keras supports strides > 1 or dilation_rate > 1, not both (set one to 1)"),
    (with_change(lambda d: d["layers"][0]["config"].update(kernel_size=[100000, 3])),
     "bad.cnnviz.json: layers[0].config.kernel_size: expected two positive integers of at most 64, "
     "got [100000, 3]"),
    # the file allows what the core computes, no more (cnnviz.core.limits: 64 filters, 64-cell kernels)
    (with_change(lambda d: d["layers"][0]["config"].update(filters=65)),
     "bad.cnnviz.json: layers[0].config.filters: expected an integer from 1 to 64, got 65"),
    (with_change(lambda d: d["layers"][0]["weights"].__setitem__(0, [[[[1.0, 2.0]]]])),
     "bad.cnnviz.json: layers[0].weights[0]: expected shape 3×3×1×2 for Conv2D #1 (kernel rows, cols, in "
     "channels, filters), got 1×1×1×2"),
    (with_change(lambda d: d["layers"][0]["weights"].pop()),
     "bad.cnnviz.json: layers[0].weights: Conv2D #1 has 2 weight arrays (3×3×1×2, 2), got 1"),
    (with_change(lambda d: d["layers"][0]["weights"][1].__setitem__(1, "NaN")),
     "bad.cnnviz.json: layers[0].weights[1][1]: expected a number, got \"NaN\""),
    (with_change(lambda d: d["input"][2].__setitem__(3, [1, 2])),
     "bad.cnnviz.json: input[2][3]: expected 1 entry like input[0][0], got 2 (ragged array)"),
    # rows of equal length whose cells differ from another row's cells: ragged two levels down
    (with_change(lambda d: d["layers"][0]["weights"][0].__setitem__(2, [[[1.0]] * 3] * 3)),
     "bad.cnnviz.json: layers[0].weights[0][2][0]: expected 1 entry like layers[0].weights[0][0][0], got 3 "
     "(ragged array)"),
    (with_change(lambda d: d["input"].append([[0]] * 6) or d["input"][6].__setitem__(0, [True])),
     "bad.cnnviz.json: input[6][0][0]: expected a number, got true"),
    (with_change(lambda d: d["view"].update(selected_layer=9)),
     "bad.cnnviz.json: view.selected_layer: expected a layer number from 0 (the input) to 3, got 9"),
    (with_change(lambda d: d["view"].update(zoom=1.5)),
     "bad.cnnviz.json: view.zoom: unknown field (expected recovery_of, selected_layer, training)"),
    (with_change(lambda d: d["view"].update(recovery_of=["a"])),
     "bad.cnnviz.json: view.recovery_of: expected the path of the session this work recovers, got [\"a\"]"),
    (with_change(lambda d: d["view"].update(training=0)),
     "bad.cnnviz.json: view.training: expected true or false, got 0"),
    (with_change(lambda d: d.update(input=[[[0.0] * 65]])),
     "bad.cnnviz.json: input: grid 1×1×65 is too large (at most 4096×4096×64)"),
]


@pytest.mark.parametrize("data,message", BAD_FILES, ids=[m.split(": ", 1)[1][:40] for _, m in BAD_FILES])
def test_bad_file_message_names_file_and_place(tmp_path, data, message):
    with pytest.raises(SessionError) as err:
        load_session(write(tmp_path, data))
    assert str(err.value) == message


def test_a_strange_unknown_key_is_quoted_on_one_line(tmp_path):
    d = good_dict()
    d["a\nb"] = 1
    with pytest.raises(SessionError) as err:
        load_session(write(tmp_path, d))
    assert str(err.value) == ('bad.cnnviz.json: ["a\\nb"]: unknown field (expected format, generator, input, '
                              'layers, seed, training, view)')
    d = good_dict()
    d["layers"][0]["config"]["x" * 200] = 1
    with pytest.raises(SessionError) as err:
        load_session(write(tmp_path, d))
    assert str(err.value).startswith(f'bad.cnnviz.json: layers[0].config["{"x" * 37}...]: unknown field for Conv2D')


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_with_their_place(tmp_path, token):
    text = json.dumps(good_dict()).replace('"input": [[[1], [0]', f'"input": [[[1], [{token}]', 1)
    with pytest.raises(SessionError, match=r"^bad\.cnnviz\.json: input\[0\]\[1\]\[0\]: expected a finite number"):
        load_session(write(tmp_path, text))


@pytest.mark.parametrize("value,shown", [("NaN", "NaN"), ("-Infinity", "-Infinity"), ("[" * 600 + "]" * 600, "[[[["),
                                         ("{\"a\": {\"b\": NaN}}", "{\"a\"")])
def test_a_view_setting_that_could_not_be_saved_again_is_refused(tmp_path, value, shown):
    """Loaded, these made every later save (and so the autosave) fail with TypeError or RecursionError."""
    for key in ("extra", "selected_layer", "training"):
        d = good_dict()
        d["view"][key] = "VALUE"
        with pytest.raises(SessionError) as err:
            load_session(write(tmp_path, json.dumps(d).replace('"VALUE"', value)))
        problem = ("unknown field (expected recovery_of, selected_layer, training)" if key == "extra"
                   else f"expected {'true or false' if key == 'training' else 'a layer number'}")
        assert str(err.value).startswith(f"bad.cnnviz.json: view.{key}: {problem}")
        assert key == "extra" or shown in str(err.value)


@pytest.mark.parametrize("place", ["input", "seed", "filters", "strides", "selected_layer", "format"])
def test_an_integer_of_thousands_of_digits_is_refused_with_file_and_place(tmp_path, place):
    """Python refuses to read such an int at all (a bare ValueError naming neither the file nor the place)."""
    huge = "9" * 5000
    d = good_dict()
    target = {"input": (d["input"][1][2], 0), "seed": (d, "seed"), "filters": (d["layers"][0]["config"], "filters"),
              "strides": (d["layers"][0]["config"], "strides"), "selected_layer": (d["view"], "selected_layer"),
              "format": (d, "format")}[place]
    target[0][target[1]] = "HUGE"
    with pytest.raises(SessionError) as err:
        load_session(write(tmp_path, json.dumps(d).replace('"HUGE"', huge)))
    where = {"input": "input[1][2][0]", "seed": "seed", "filters": "layers[0].config.filters",
             "strides": "layers[0].config.strides", "selected_layer": "view.selected_layer", "format": "format"}[place]
    assert str(err.value).startswith(f"bad.cnnviz.json: {where}: ")
    assert "an integer of 5000 digits" in str(err.value)


WHAT_A_FILE_ASKS = [
    ({"format": 1, "input": [[[0], [0]], [[0], [0]]],
      "layers": [{"class_name": "Conv2DTranspose", "config": {"filters": 1, "kernel_size": 3, "strides": 4096}}]},
     "layers[0].config: Conv2DTranspose #1: output 8192×8192×1 = 67,108,864 values brings the input and the outputs "
     "up to it to 67,108,868 values, more than 2^23 = 8,388,608: too large to compute interactively"),
    ({"format": 1, "input": [[[0] * 64]],
      "layers": [{"class_name": "Conv2D", "config": {"filters": 64, "kernel_size": 64, "padding": "same"}}]},
     "layers[0].config.filters: Conv2D #1: 16,777,280 weights bring the input (64 values) and the weights up to it "
     "to 16,777,344 numbers, more than 2^20 = 1,048,576: too many to save and reload in about a second"),
    ({"format": 1, "input": [[[0]]], "layers": [{"class_name": "ReLU", "config": {}}] * 20000},
     "layers: 20,000 layers, more than 32: too many to show and compute interactively"),
    ({"format": 1, "input": [[[0]] * 64] * 64, "layers": [{"class_name": "UpSampling2D", "config": {"size": 64}}]},
     "layers[0].config: UpSampling2D #1: output 4096×4096×1 = 16,777,216 values brings the input and the outputs up "
     "to it to 16,781,312 values, more than 2^23 = 8,388,608: too large to compute interactively"),
]


@pytest.mark.parametrize("data,message", WHAT_A_FILE_ASKS, ids=["transpose-strides", "weights", "layers", "upsampling"])
def test_a_small_file_that_asks_for_too_much_is_refused_up_front(tmp_path, data, message):
    """156 to 700 kB files that kept render busy for 30 s, wrote a 236 MB session, took 27 s to load."""
    with pytest.raises(SessionError) as err:
        load_session(write(tmp_path, json.dumps(data, separators=(",", ":"))))
    assert str(err.value) == f"bad.cnnviz.json: {message}"


def test_float32_overflow_is_non_finite(tmp_path):
    d = good_dict()
    d["layers"][0]["weights"][1] = [1e39, 0]
    with pytest.raises(SessionError, match=r"layers\[0\]\.weights\[1\]\[0\]: expected a finite number, got 1e\+39"):
        load_session(write(tmp_path, d))


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(SessionError, match=r"^nothing\.cnnviz\.json: no such file$"):
        load_session(tmp_path / "nothing.cnnviz.json")
    (tmp_path / "bin.cnnviz.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SessionError, match="not a text file"):
        load_session(tmp_path / "bin.cnnviz.json")
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(SessionError, match=r"^bad\.cnnviz\.json: not valid JSON: nested too deeply$"):
        load_session(write(tmp_path, deep))
    (tmp_path / "folder.cnnviz.json").mkdir()
    with pytest.raises(SessionError, match=r"^folder\.cnnviz\.json: is a folder, not a session file$"):
        load_session(tmp_path / "folder.cnnviz.json")


def reads_without_blocking(read, path):
    """Call read(path) in a thread; a reader stuck on a pipe fails the test (the pipe is then unblocked)."""
    import threading

    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_catch(read, path)), daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():
        with open(path, "wb"):  # a writer that closes at once ends the reader's wait
            pass
        thread.join(5)
        pytest.fail(f"{read.__name__} blocked on the pipe {path.name}")
    return outcome[0]


def _catch(read, path):
    try:
        return read(path)
    except Exception as e:  # noqa: BLE001 - the test looks at what came out
        return e


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    from cnnviz.io import import_keras_config, load_image

    fifo = tmp_path / "pipe.cnnviz.json"
    os.mkfifo(fifo)
    for read in (load_session, import_keras_config, load_image):
        error = reads_without_blocking(read, fifo)
        assert isinstance(error, SessionError), (read.__name__, error)
        assert str(error) == "pipe.cnnviz.json: not a regular file (a pipe or device), so not readable here"


def test_huge_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(SessionError, match=r"more than a session can be"):
        load_session(write(tmp_path, good_dict()))


def test_weights_absent_means_fresh_initialisation(tmp_path):
    d = good_dict()
    for entry in d["layers"]:
        entry.pop("weights", None)
    s = load_session(write(tmp_path, d, "fresh.cnnviz.json"))
    assert s.pipeline.layers[0].kernel.shape == (3, 3, 1, 2)


def test_nothing_in_a_file_is_executed(tmp_path):
    d = good_dict()
    d["layers"][0]["class_name"] = "__import__('os').system('touch pwned')"
    with pytest.raises(SessionError, match="unknown layer"):
        load_session(write(tmp_path, d))
    assert not (tmp_path / "pwned").exists()


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "s.cnnviz.json"
    save_session(Session(seed_input(), seed_pipeline(), {}), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_module.os, "fsync", broken_fsync)
    with pytest.raises(SessionError, match=r"^s\.cnnviz\.json: cannot save \(No space left on device\)$"):
        save_session(random_session(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.cnnviz.json"]  # no temp file left behind


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(SessionError) as err:
        save_session(Session(seed_input(), seed_pipeline(), {}), tmp_path / "gone" / "s.cnnviz.json")
    assert str(err.value) == f"s.cnnviz.json: cannot save: there is no folder {tmp_path / 'gone'}"


def test_a_killed_writer_leaves_the_old_file(tmp_path):
    """A process killed in the middle of a save (after writing part of the temp file) loses nothing."""
    path = tmp_path / "s.cnnviz.json"
    save_session(Session(seed_input(), seed_pipeline(), {}), path)
    before = path.read_bytes()
    script = (
        "import os, sys\n"
        "from cnnviz.io import atomic, session\n"
        "real = os.fdopen\n"
        "class Dying:\n"
        "    def __init__(self, f): self.f = f\n"
        "    def __enter__(self): return self\n"
        "    def __exit__(self, *a): pass\n"
        "    def write(self, data): self.f.write(data[:len(data) // 2]); self.f.flush(); os._exit(9)\n"
        "atomic.os.fdopen = lambda fd, mode: Dying(real(fd, mode))\n"
        "from cnnviz.core import seed_input, seed_pipeline\n"
        f"session.save_session(session.Session(seed_input(), seed_pipeline(), {{}}), {str(path)!r})\n"
    )
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    assert path.read_bytes() == before
    assert load_session(path).input.shape == (6, 6, 1)


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(RESOURCES) if f.endswith(".cnnviz.json")))
def test_example_sessions_load_and_save_back_byte_for_byte(name, tmp_path):
    path = os.path.join(RESOURCES, name)
    s = load_session(path)
    assert all(np.isfinite(y).all() for y in s.pipeline.run(s.input))
    save_session(s, tmp_path / name)  # every number, key and view setting survives load + save unchanged
    assert (tmp_path / name).read_bytes() == open(path, "rb").read()


def test_example_sessions_show_the_numbers_the_readme_promises():
    s = load_session(os.path.join(RESOURCES, "same-padding-stride2.cnnviz.json"))
    assert s.pipeline.run(s.input)[-1][:, :, 0].tolist() == [[-6, -6, 30], [-6, -6, 66], [-4, -4, 62]]
    s = load_session(os.path.join(RESOURCES, "transposed-back-to-6x6.cnnviz.json"))
    conv, pooled, back = s.pipeline.run(s.input)
    assert [y.shape for y in (conv, pooled, back)] == [(4, 4, 1), (2, 2, 1), (6, 6, 1)]
    assert pooled[:, :, 0].tolist() == [[3, 0], [3, 1]]  # the lecture's diagonal filter, pooled
    np.testing.assert_allclose(back[3:, 3:, 0], np.arange(1, 10).reshape(3, 3) / 9, rtol=1e-6)  # 1 · kernel


def test_lecture_example_is_the_seed():
    s = load_session(os.path.join(RESOURCES, "lecture.cnnviz.json"))
    assert np.array_equal(s.input, seed_input())
    assert s.pipeline.get_config() == seed_pipeline().get_config()
    for got, want in zip(s.pipeline.layers, seed_pipeline().layers):
        assert [w.tolist() for w in got.get_weights()] == [w.tolist() for w in want.get_weights()]
    outputs = s.pipeline.run(s.input)
    assert [o.shape for o in outputs] == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]


def test_save_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.cnnviz.json"
    save_session(Session(seed_input(), seed_pipeline(), {}), target)
    link = tmp_path / "link.cnnviz.json"
    link.symlink_to(target)
    save_session(random_session(), link)
    assert link.is_symlink() and load_session(target).input.shape == (7, 5, 2)


def test_a_pipe_is_written_into_not_replaced(tmp_path):
    """`-o /dev/stdout` and pipes must never be swapped for a regular file (atomic replace is for files)."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    atomic_module.write_atomic(fifo, b"hello")
    reader.join(10)
    assert received == [b"hello"] and fifo.is_fifo()


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                 st.sampled_from([float("nan"), float("inf"), 1e39, -0.0, 2**63, "NaN", "same", "Conv2D", ""]),
                 st.lists(st.integers(-2, 5), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                 st.just([[[]]]), st.just([[[1.0]] * 3] * 2))


def _paths(obj, prefix=()):
    """Every place in a parsed JSON document (dict keys and list indexes), the root first."""
    yield prefix
    children = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in children:
        yield from _paths(value, prefix + (key,))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_damaged_session_loads_or_is_refused_with_file_and_place(data):
    """One random change anywhere in a valid session (a value replaced by junk, a key dropped or added):
    the loader returns a session or a SessionError naming the file, never another exception."""
    d = json.loads(json.dumps(session_to_dict(random_session())))
    places = list(_paths(d))
    place = data.draw(st.sampled_from(places[1:]))
    parent = d
    for key in place[:-1]:
        parent = parent[key]
    change = data.draw(st.sampled_from(["replace", "drop", "add"]))
    if change == "replace" or (change == "drop" and isinstance(parent, list) and len(parent) < 2):
        parent[place[-1]] = data.draw(JUNK)
    elif change == "drop":
        del parent[place[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=4))] = data.draw(JUNK)
    else:
        parent.insert(place[-1], data.draw(JUNK))
    text = json.dumps(d)
    try:
        s = session_module.session_from_dict(session_module.parse_json(text, "damaged.cnnviz.json"),
                                             source="damaged.cnnviz.json")
    except SessionError as e:
        assert str(e).startswith("damaged.cnnviz.json: ") and len(str(e).splitlines()) == 1, str(e)
        return
    try:
        outputs = s.pipeline.run(s.input, training=bool(s.view["training"]))
    except ConfigError as e:  # a finite but huge weight (3e37, say) can overflow: the layer says so
        assert "output overflows float32" in str(e), str(e)
        return
    assert all(np.isfinite(y).all() for y in outputs)
