"""The numeric core: numpy only, no Qt, no files. Every number cnnviz shows is computed here."""

from cnnviz.core.errors import ConfigError
from cnnviz.core.layers import *  # noqa: F403 (every registered layer type, the registry, the limits)
from cnnviz.core.layers import __all__ as _layer_names
from cnnviz.core.ops import (
    activation,
    bilinear_matrix,
    conv2d,
    conv2d_transpose,
    dropout,
    pool2d,
    upsample2d,
)
from cnnviz.core.matrix import ConvMatrix, conv_matrix, transpose_matrix
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.presets import (
    FILTER_PRESETS,
    INPUT_EXAMPLES,
    example_input,
    filter_preset,
    seed_input,
    seed_pipeline,
)
from cnnviz.core.training import (
    SGD,
    Adam,
    Progress,
    RMSprop,
    Trainer,
    TrainingDiverged,
    get_loss,
    get_optimizer,
    pattern_dataset,
    teacher_dataset,
    train_validation_split,
)
from cnnviz.core.provenance import (
    Provenance,
    Term,
    cell_provenance,
    receptive_field,
    weight_footprint,
    weights_used,
)

__all__ = [
    *_layer_names,
    "ConfigError",
    "activation",
    "bilinear_matrix",
    "conv2d",
    "conv2d_transpose",
    "dropout",
    "pool2d",
    "upsample2d",
    "Pipeline",
    "FILTER_PRESETS",
    "INPUT_EXAMPLES",
    "example_input",
    "filter_preset",
    "seed_input",
    "seed_pipeline",
    "Provenance",
    "Term",
    "cell_provenance",
    "receptive_field",
    "weight_footprint",
    "weights_used",
    "SGD",
    "Adam",
    "Progress",
    "RMSprop",
    "Trainer",
    "TrainingDiverged",
    "get_loss",
    "get_optimizer",
    "pattern_dataset",
    "teacher_dataset",
    "train_validation_split",
    "ConvMatrix",
    "conv_matrix",
    "transpose_matrix",
]
