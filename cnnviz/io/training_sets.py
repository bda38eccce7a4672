"""What the training dock learns from and how: the data choice (the teacher task, the patterns, the 8×8
digits, a folder of images) and the training settings a session file keeps. No Qt here.

The data decides the pipeline's input shape: the digits are 8×8×1 whatever the pipeline had; the teacher
task and the patterns take the pipeline's own input size; a folder is resized into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.core import ConfigError, Pipeline
from cnnviz.core.layers import Conv2D, layer_from_config, layer_to_config
from cnnviz.core.training import (
    LOSSES,
    OPTIMIZERS,
    get_loss,
    get_optimizer,
    pattern_dataset,
    teacher_dataset,
)
from cnnviz.core.training.data import DIAGONAL_FILTER, PATTERNS
from cnnviz.io.datasets import class_folders, load_digits, load_image_folder

DATA_KINDS = {
    "teacher": "Teacher: learn the lecture's diagonal filter from its outputs",
    "patterns": "Patterns: bars, diagonals and crosses",
    "digits": "Digits: the 8×8 handwritten digits (UCI)",
    "folder": "A folder of my images (one sub-folder per class)",
}
TEACHER_COUNT, PATTERN_COUNT = 256, 600


@dataclass(frozen=True)
class TrainingData:
    kind: str
    x: np.ndarray  # (N, H, W, C) float32
    y: np.ndarray  # the teacher's maps, or integer class labels (N,)
    class_names: tuple = ()  # () for the teacher task: a regression

    @property
    def classification(self) -> bool:
        return bool(self.class_names)

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    def describe(self) -> str:
        shape = "×".join(map(str, self.input_shape))
        if not self.classification:
            return f"{len(self.x)} random {shape} grids and what the diagonal filter makes of them"
        return f"{len(self.x)} images of {shape}, {len(self.class_names)} classes"


def teacher_pipeline(student: Pipeline) -> Pipeline:
    """The hidden teacher of the teacher task: the student's own layers with the lecture's diagonal filter
    in every 3×3 slice of every Conv2D and zero biases (what the student should end up with)."""
    layers = [layer_from_config(layer_to_config(layer)) for layer in student.layers]
    teacher = Pipeline(student.input_shape, layers)
    teacher.build()
    convs = [layer for layer in layers if isinstance(layer, Conv2D)]
    if not convs:
        raise ConfigError("Teacher task: the pipeline has no Conv2D whose filter could learn the diagonal one",
                          param="data")
    for layer in layers:
        weights = layer.get_weights()
        if isinstance(layer, Conv2D):
            if tuple(layer.kernel_size) != (3, 3):
                raise ConfigError(f"Teacher task: {layer.label} has a {layer.kernel_size[0]}×{layer.kernel_size[1]} "
                                  "kernel; the lecture's diagonal filter is 3×3", layer=layer.label,
                                  param="kernel_size")
            weights[0][:] = DIAGONAL_FILTER[:, :, None, None]
            weights[1:] = [np.zeros_like(w) for w in weights[1:]]
        layer.set_weights(weights)
    return teacher


def load_training_data(kind: str, pipeline: Pipeline, folder: str | None = None, seed: int = 0) -> TrainingData:
    """The data set `kind` (a key of DATA_KINDS) for `pipeline`; a refusal is a ConfigError or SessionError
    that says why."""
    h, w, c = pipeline.input_shape
    if kind == "teacher":
        x, y = teacher_dataset(teacher_pipeline(pipeline), TEACHER_COUNT, seed)
        return TrainingData(kind, x, y)
    if kind == "patterns":
        x, y = pattern_dataset(PATTERN_COUNT, (h, w), seed=seed)
        return TrainingData(kind, x, y, PATTERNS)
    if kind == "digits":
        x, y = load_digits()
        return TrainingData(kind, x, y, tuple(str(d) for d in range(10)))
    if kind == "folder":
        if not folder:
            raise ConfigError("Folder of images: choose a folder first", param="folder")
        x, y, names = load_image_folder(folder, (h, w), "rgb" if c == 3 else "grey")
        return TrainingData(kind, x, y, tuple(names))
    raise ConfigError(f"Unknown data {kind!r} (known: {', '.join(DATA_KINDS)})", param="data")


def missing_head(pipeline: Pipeline, classes: int) -> str | None:
    """Why `pipeline` cannot classify into `classes` classes (None when it can): it must end in a vector of
    `classes` probabilities, a softmax."""
    shape = pipeline.output_shapes()[-1] if pipeline.layers else pipeline.input_shape
    last = pipeline.layers[-1] if pipeline.layers else None
    activation = getattr(last, "logits_activation", lambda: None)() if last is not None else None
    if tuple(shape) == (classes,) and activation == "softmax":
        return None
    ends = "×".join(map(str, shape))
    what = f"a vector of {shape[0]} values" if len(shape) == 1 else f"a {ends} map"
    if len(shape) == 1 and shape[0] == classes:
        what += " without a softmax"
    return (f"The pipeline ends in {what}; a classifier of {classes} classes ends in {classes} probabilities: "
            f"Flatten → Dense({classes}, softmax)")


@dataclass(frozen=True)
class TrainingSettings:
    """The dock's settings, as a session file's `training` section keeps them (Keras names)."""

    data: str = "teacher"
    folder: str | None = None
    loss: str = "mean_squared_error"
    optimizer: str = "Adam"
    learning_rate: float = 0.01
    momentum: float = 0.9  # SGD's and RMSprop's
    batch_size: int = 32
    epochs: int = 5
    validation_split: float = 0.2
    seed: int = 0
    frozen: tuple = ()  # 1-based indices of layers that do not train
    class_names: tuple = ()  # the classifier's classes, in label order (the probability bars' labels)

    def optimizer_config(self) -> dict:
        config = {"learning_rate": self.learning_rate}
        if self.optimizer in ("SGD", "RMSprop"):
            config["momentum"] = self.momentum
        return {"class_name": self.optimizer, "config": config}

    def check(self) -> TrainingSettings:
        """Self, or a ConfigError naming the setting."""
        if self.data not in DATA_KINDS:
            raise ConfigError(f"data must be one of {', '.join(DATA_KINDS)}, got {self.data!r}", param="data")
        get_loss(self.loss)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}",
                              param="optimizer")
        get_optimizer(self.optimizer_config())
        for name, value, low in (("batch_size", self.batch_size, 1), ("epochs", self.epochs, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}", param=name)
        if not (isinstance(self.validation_split, (int, float)) and 0 <= self.validation_split < 1):
            raise ConfigError(f"validation_split must be in [0, 1), got {self.validation_split!r}",
                              param="validation_split")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}", param="seed")
        return self

    def to_section(self) -> dict:
        """The session file's `training` section (read back and checked by io/training_settings.py, which the
        exported training scripts read too)."""
        data = {"source": "image_folder", "folder": self.folder} if self.data == "folder" else {"source": self.data}
        return {"loss": self.loss, "optimizer": self.optimizer_config(), "batch_size": self.batch_size,
                "epochs": self.epochs, "seed": self.seed, "validation_split": self.validation_split,
                "data": data, "frozen": list(self.frozen),
                **({"class_names": list(self.class_names)} if self.class_names else {})}

    @classmethod
    def from_section(cls, section: dict) -> TrainingSettings:
        """The dock's settings from a checked `training` section; what the dock cannot show (an optimizer's
        other options) keeps the dock's defaults."""
        source = section["data"]
        config = section["optimizer"]["config"]
        return cls(data="folder" if source["source"] == "image_folder" else source["source"],
                   folder=source.get("folder"), loss=get_loss(section["loss"]).name,
                   optimizer=section["optimizer"]["class_name"],
                   learning_rate=float(config.get("learning_rate", cls.learning_rate)),
                   momentum=float(config.get("momentum", cls.momentum)), batch_size=section["batch_size"],
                   epochs=section["epochs"], validation_split=float(section["validation_split"]),
                   seed=section["seed"], frozen=tuple(section.get("frozen", ())),
                   class_names=tuple(section.get("class_names", ())) or class_names_for(source)).check()


def class_names_for(source: dict) -> tuple:
    """The class names a training section's data source gives: the digits 0…9, the patterns' names, an
    image folder's sub-folders (none when the folder is gone), none for the teacher task (a regression)."""
    kind = source.get("source")
    if kind == "digits":
        return tuple(str(d) for d in range(10))
    if kind == "patterns":
        return PATTERNS
    if kind == "image_folder" and Path(source.get("folder", "")).is_dir():
        return tuple(class_folders(Path(source["folder"])))
    return ()


LOSS_NAMES = tuple(LOSSES)
