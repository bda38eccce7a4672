"""A session's training settings (the optional `training` section of a .cnnviz.json) and its data.

    "training": {"loss": "categorical_crossentropy",             (a Keras name or config)
                 "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.001, ...}},
                 "batch_size": 32, "epochs": 5, "seed": 0, "validation_split": 0.0,
                 "frozen": [1],                                          (layers that do not train)
                 "class_names": ["0", "1", ...],          (optional: the classifier's classes, label order)
                 "data": {"source": "digits"} | {"source": "teacher"}
                       | {"source": "patterns", "count": 200, "noise": 0.1, "seed": 0}
                       | {"source": "image_folder", "folder": "shapes/", "mode": "grey"}}

Validated as the rest of a session (unknown keys, wrong kinds, Keras configs the core refuses), so an
exported training script (io/train_codegen.py) can rely on it. The data loader is shared by cnnviz's
Trainer and the scripts, so both see the same examples in the same order.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core import ConfigError
from cnnviz.core.training import (
    get_loss,
    get_optimizer,
    loss_to_config,
    one_hot,
    optimizer_to_config,
    pattern_dataset,
)
from cnnviz.io.validation import _is_int, _is_number, _show

DEFAULTS = {"loss": "categorical_crossentropy", "optimizer": {"class_name": "Adam", "config": {}},
            "batch_size": 32, "epochs": 1, "seed": 0, "validation_split": 0.0}
SOURCES = {"digits": set(), "teacher": set(), "patterns": {"count", "noise", "seed"},
           "image_folder": {"folder", "mode"}}


def read_training(r, data) -> dict:
    """The validated `training` section, normalised (loss and optimizer as full Keras configs)."""
    if not isinstance(data, dict):
        r.fail("training", f"expected an object of training settings, got {_show(data)}")
    r.no_unknown_keys(data, {*DEFAULTS, "data", "frozen", "class_names"}, "training")
    out = {**DEFAULTS, **data}
    try:
        out["loss"] = loss_to_config(get_loss(out["loss"]))
    except ConfigError as e:
        r.fail("training.loss", str(e))
    try:
        out["optimizer"] = optimizer_to_config(get_optimizer(out["optimizer"]))
    except ConfigError as e:
        r.fail("training.optimizer", str(e))
    for key, low in (("batch_size", 1), ("epochs", 1), ("seed", 0)):
        if not _is_int(out[key]) or out[key] < low:
            r.fail(f"training.{key}", f"expected an integer ≥ {low}, got {_show(out[key])}")
    if not _is_number(out["validation_split"]) or not 0 <= out["validation_split"] < 1:
        r.fail("training.validation_split", f"expected a number in [0, 1), got {_show(out['validation_split'])}")
    frozen = out.get("frozen", [])
    if not isinstance(frozen, list) or not all(_is_int(i) and i >= 1 for i in frozen):
        r.fail("training.frozen", f"expected a list of layer numbers (from 1), got {_show(frozen)}")
    if "class_names" in data:
        _read_class_names(r, data["class_names"])
    source = r.need(data, "data", "training")
    if not isinstance(source, dict) or source.get("source") not in SOURCES:
        r.fail("training.data.source", f"expected one of {', '.join(SOURCES)}, got "
                                       f"{_show(source.get('source') if isinstance(source, dict) else source)}")
    r.no_unknown_keys(source, {"source", *SOURCES[source["source"]]}, "training.data")
    if source["source"] == "image_folder" and not isinstance(source.get("folder"), str):
        r.fail("training.data.folder", f"expected the folder's path, got {_show(source.get('folder'))}")
    return out


def _read_class_names(r, names):
    if not isinstance(names, list):
        r.fail("training.class_names", f"expected a list of names, got {_show(names)}")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            r.fail(f"training.class_names[{i}]", f"expected a name (text that is not empty), got {_show(name)}")
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        r.fail("training.class_names", f"{twice!r} is named twice")


def check_class_names(r, training: dict | None, pipeline) -> None:
    """The section's class names against the pipeline they label: one name per output of its last level."""
    names = (training or {}).get("class_names")
    if names is None:
        return
    shape = tuple(pipeline.output_shapes()[-1]) if pipeline.layers else tuple(pipeline.input_shape)
    if len(shape) != 1:
        r.fail("training.class_names", f"the pipeline ends in a {'×'.join(map(str, shape))} map, not in classes")
    if len(names) != shape[0]:
        r.fail("training.class_names", f"{len(names)} names for the pipeline's {shape[0]} outputs")


def training_data(settings: dict, input_shape, classes: int):
    """(x, y) the settings' data source gives for a pipeline with `input_shape` and `classes` outputs:
    images resized to the input, labels one-hot unless the loss is a sparse one."""
    from cnnviz.io.datasets import load_digits, load_image_folder

    source = settings["data"]
    if source["source"] == "teacher":  # its targets come from a teacher pipeline the file does not hold
        raise ConfigError("training data: the teacher task is trained in the app; a training script for it is "
                          "not written (choose digits, patterns or an image folder)", param="data")
    h, w = input_shape[:2]
    if source["source"] == "digits":
        x, labels = load_digits()
    elif source["source"] == "patterns":
        x, labels = pattern_dataset(count=source.get("count", 200), size=(h, w), noise=source.get("noise", 0.1),
                                    seed=source.get("seed", 0))
    else:
        x, labels, _ = load_image_folder(source["folder"], size=(h, w), mode=source.get("mode", "grey"))
    if x.shape[1:] != tuple(input_shape):
        raise ConfigError(f"training data: {source['source']} images are {'×'.join(map(str, x.shape[1:]))}, the "
                          f"pipeline takes {'×'.join(map(str, input_shape))}", param="data")
    if settings["loss"]["class_name"] == "SparseCategoricalCrossentropy":
        return x, labels
    return x, one_hot(labels, classes)


def trainer_for(session):
    """cnnviz's Trainer with the session's training settings, and the data it trains on."""
    from cnnviz.core.training import Trainer

    settings = session.training
    trainer = Trainer(session.pipeline, loss=settings["loss"], optimizer=settings["optimizer"], seed=settings["seed"])
    x, y = training_data(settings, session.pipeline.input_shape, int(np.prod(session.pipeline.output_shapes()[-1])))
    return trainer, x, y
