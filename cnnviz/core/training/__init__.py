"""Learning in the core: Keras's losses, optimizers and training loop, and data sets to learn from."""

from cnnviz.core.training.data import (
    PATTERNS,
    one_hot,
    pattern_dataset,
    teacher_dataset,
    train_validation_split,
)
from cnnviz.core.training.losses import (
    LOSSES,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
    accuracy,
    get_loss,
    loss_to_config,
)
from cnnviz.core.training.optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    Optimizer,
    RMSprop,
    get_optimizer,
    optimizer_to_config,
)
from cnnviz.core.training.trainer import Progress, Trainer, TrainingDiverged

__all__ = [
    "LOSSES", "OPTIMIZERS", "PATTERNS", "SGD", "Adam", "BinaryCrossentropy", "CategoricalCrossentropy", "Loss",
    "MeanSquaredError", "Optimizer", "Progress", "RMSprop", "SparseCategoricalCrossentropy", "Trainer",
    "TrainingDiverged", "accuracy", "get_loss", "get_optimizer", "loss_to_config", "one_hot",
    "optimizer_to_config", "pattern_dataset", "teacher_dataset", "train_validation_split",
]
