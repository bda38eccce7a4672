"""Take the training with you: a session's training settings (validated like the rest of the file) and the
script `cnnviz export-code --train` writes, whose first steps' losses equal cnnviz's Trainer's to 1e-4
(where Keras or PyTorch is installed: the parity environment)."""

import itertools
import json

import numpy as np
import pytest
from io_support import import_file

from cnnviz.cli import main
from cnnviz.core import LAYER_TYPES, Pipeline
from cnnviz.io import Session, SessionError, load_session, save_session, session_to_dict
from cnnviz.io.train_codegen import generate_training_script
from cnnviz.io.training_settings import trainer_for

STEPS = 4


def L(kind, *args, **kwargs):
    return LAYER_TYPES[kind](*args, **kwargs)


def classifier(shape, classes, head="Dense"):
    layers = [L("Conv2D", 3, 3), L("ReLU"), L("MaxPooling2D", 2), L("Flatten")]
    layers += [L("Dense", classes, activation="softmax")] if head == "Dense" else [L("Dense", classes), L("Softmax")]
    p = Pipeline(shape, layers, seed=3)
    p.build()
    return p


CASES = {
    "digits_adam_crossentropy": (classifier((8, 8, 1), 10), {
        "loss": "categorical_crossentropy", "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
        "batch_size": 32, "epochs": 1, "seed": 5, "validation_split": 0.2, "data": {"source": "digits"}}),
    "patterns_rmsprop_sparse": (classifier((6, 6, 1), 5, head="Softmax"), {
        "loss": "sparse_categorical_crossentropy",
        "optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 0.01, "momentum": 0.5}},
        "batch_size": 16, "epochs": 2, "seed": 1, "data": {"source": "patterns", "count": 40, "seed": 2}}),
    "patterns_sgd_mse": (classifier((6, 6, 1), 5), {
        "loss": "mse", "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.9,
                                                                      "nesterov": True}},
        "batch_size": 8, "epochs": 1, "seed": 0, "data": {"source": "patterns", "count": 48, "noise": 0.2}}),
}


def session_file(tmp_path, name):
    pipeline, training = CASES[name]
    path = tmp_path / f"{name}.cnnviz.json"
    data = session_to_dict(Session(np.zeros(pipeline.input_shape, np.float32), pipeline))
    path.write_text(json.dumps({**data, "training": training}))
    return path


def cnnviz_losses(session, steps=STEPS):
    trainer, x, y = trainer_for(session)
    t = session.training
    progress = trainer.fit(x, y, epochs=t["epochs"], batch_size=t["batch_size"], validation_split=t["validation_split"])
    return [p.batch_loss for p in itertools.islice(progress, steps)]


def script(tmp_path, session_path, framework):
    out = tmp_path / f"train_{framework}.py"
    assert main(["export-code", str(session_path), "--framework", framework, "--train", "-o", str(out)]) == 0
    return import_file(out, f"train_{framework}_{tmp_path.name}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_keras_script_trains_as_cnnviz_does(tmp_path, name):
    from keras_support import import_keras

    import_keras()
    path = session_file(tmp_path, name)
    _, losses = script(tmp_path, path, "keras").train(STEPS)
    np.testing.assert_allclose(losses, cnnviz_losses(load_session(path)), atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_pytorch_script_trains_as_cnnviz_does(tmp_path, name):
    pytest.importorskip("torch")
    path = session_file(tmp_path, name)
    _, losses = script(tmp_path, path, "pytorch").train(STEPS)
    np.testing.assert_allclose(losses, cnnviz_losses(load_session(path)), atol=1e-4, rtol=0)


@pytest.mark.parametrize("framework", ["keras", "pytorch"])
def test_the_script_says_how_to_run_it_on_a_gpu_and_compiles(tmp_path, framework):
    session = load_session(session_file(tmp_path, "digits_adam_crossentropy"))
    source = generate_training_script(session, framework)
    compile(source, "train.py", "exec")
    doc = source.split('"""')[1]
    assert "On a GPU" in doc
    assert ("--device cuda" in doc) if framework == "pytorch" else ("tensorflow[and-cuda]" in doc)


def test_the_training_section_round_trips(tmp_path):
    session = load_session(session_file(tmp_path, "patterns_sgd_mse"))
    assert session.training["loss"]["class_name"] == "MeanSquaredError"
    assert session.training["optimizer"]["config"]["nesterov"] is True
    again = tmp_path / "again.cnnviz.json"
    save_session(session, again)
    assert load_session(again).training == session.training


@pytest.mark.parametrize("change, message", [
    ({"batch_size": 0}, "training.batch_size: expected an integer ≥ 1, got 0"),
    ({"loss": "hinge"}, "training.loss: unknown loss 'hinge'"),
    ({"optimizer": {"class_name": "Adam", "config": {"beta_1": 2}}}, "training.optimizer: Adam: beta_1 must be in"),
    ({"data": {"source": "mnist"}}, "training.data.source: expected one of digits, teacher, patterns, image_folder"),
    ({"data": {"source": "digits", "count": 3}}, "training.data.count: unknown field"),
    ({"validation_split": 1}, "training.validation_split: expected a number in [0, 1)"),
    ({"shuffle": False}, "training.shuffle: unknown field"),
])
def test_bad_training_settings_are_refused_by_place(tmp_path, change, message):
    path = session_file(tmp_path, "patterns_sgd_mse")
    data = json.loads(path.read_text())
    data["training"].update(change)
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as e:
        load_session(path)
    assert message in str(e.value)


def test_a_session_without_training_settings_says_so(tmp_path, capsys):
    pipeline, _ = CASES["patterns_sgd_mse"]
    path = tmp_path / "plain.cnnviz.json"
    save_session(Session(np.zeros(pipeline.input_shape, np.float32), pipeline), path)
    assert main(["export-code", str(path), "--framework", "keras", "--train", "-o", str(tmp_path / "t.py")]) == 2
    assert "has no training settings" in capsys.readouterr().err


def test_the_teacher_task_is_trained_in_the_app_and_a_script_for_it_is_refused_in_words():
    from cnnviz.core import ConfigError
    from cnnviz.io.training_settings import training_data

    settings = {"loss": {"class_name": "MeanSquaredError", "config": {}}, "data": {"source": "teacher"}}
    with pytest.raises(ConfigError, match="the teacher task is trained in the app"):
        training_data(settings, (6, 6, 1), 1)
