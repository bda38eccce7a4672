"""Which layers the step-through shows, and the step model for each (step_model, dense_steps, sides_steps).

Every model has the same face (step_model.LayerSteps), so the dock, the playback bar and the animation
export step through any of them alike.
"""

from __future__ import annotations

from cnnviz.core.layers import Cropping2D, Dense, ZeroPadding2D
from cnnviz.ui.arithmetic.dense_steps import DenseStepModel
from cnnviz.ui.arithmetic.sides_steps import SidesStepModel
from cnnviz.ui.arithmetic.step_model import SLIDING_KINDS, LayerSteps, StepModel

STEPPED_KINDS = (*SLIDING_KINDS, Dense, ZeroPadding2D, Cropping2D)
KIND_NAMES = ("Conv2D, DepthwiseConv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, Dense, ZeroPadding2D "
              "and Cropping2D")


def has_steps(layer) -> bool:
    """True for a layer the step-through can show."""
    return isinstance(layer, STEPPED_KINDS)


def step_model_for(layers, levels, index: int, as_convolution: bool = False) -> LayerSteps:
    """The steps of layer `index` (1-based) of `layers`, whose levels (input first) are `levels`.
    `as_convolution` steps a Conv2DTranspose as a convolution of its flipped kernel."""
    layer, x, y = layers[index - 1], levels[index - 1], levels[index]
    if isinstance(layer, Dense):
        previous = layers[index - 2] if index > 1 else None
        return DenseStepModel(layer, x, y, index, previous, levels[index - 2].shape if index > 1 else None)
    if isinstance(layer, (ZeroPadding2D, Cropping2D)):
        return SidesStepModel(layer, x, y, index)
    return StepModel(layer, x, y, index, as_convolution)
