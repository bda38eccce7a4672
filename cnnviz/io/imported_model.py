"""What a model reader returns (io/keras_model.py, io/onnx_model.py): the leading layers cnnviz computes, with
their weights, what was left out, and the session's input: the user's picture resized to the model's input
where its channels are grey or RGB, zeros otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.core import Pipeline
from cnnviz.io.session import Session

_IMAGE_MODES = {1: "grey", 3: "rgb"}


@dataclass
class ImportedModel:
    """The supported leading part of a model file, built with its weights, and what was left out."""

    pipeline: Pipeline
    source: str
    left_out: list[str] = field(default_factory=list)  # "BatchNormalization 'batch_normalization'", …
    stopped_by: str = ""  # why the first left-out layer ended the pipeline
    input_note: str = ""  # what session() made the input from

    def summary(self) -> str:
        n = len(self.pipeline.layers)
        kept = f"{self.source}: {n} layer{'s' if n != 1 else ''} imported with their weights"
        if not self.left_out:
            return kept
        return f"{kept}; {self.stopped_by}, so it and the layers after it were left out: {', '.join(self.left_out)}"

    def session(self, image=None, current: np.ndarray | None = None) -> Session:
        """A session on this pipeline. Its input: the picture file `image`, else the array `current` (the
        user's current input), resized to the model's (H, W) where the model takes 1 or 3 channels; zeros
        where it cannot be (input_note says which happened)."""
        h, w, c = self.pipeline.input_shape
        x = np.zeros((h, w, c), np.float32)
        if (image is not None or current is not None) and c not in _IMAGE_MODES:
            self.input_note = f"input: zeros, {h}×{w}×{c} (a picture has 1 or 3 channels, the model takes {c})"
            return Session(x, self.pipeline)
        if image is not None:
            from cnnviz.io.image import load_image

            x = load_image(image, size=(h, w), mode=_IMAGE_MODES[c])
            self.input_note = f"input: {Path(image).name} resized to {h}×{w}, {_IMAGE_MODES[c]}"
        elif current is not None:
            x = resize_grid(np.asarray(current, np.float32), (h, w), c)
            self.input_note = (f"input: your {current.shape[0]}×{current.shape[1]}×{current.shape[2]} grid "
                               f"resized to the model's {h}×{w}×{c}")
        else:
            self.input_note = f"input: zeros, {h}×{w}×{c} (give a picture for the model to look at)"
        return Session(x, self.pipeline)


def resize_grid(x: np.ndarray, size, channels: int) -> np.ndarray:
    """The grid x (H, W, C) as `size` rows × cols with `channels` channels: bilinear resampling of each
    channel (Pillow, as a picture import does), grey copied to RGB or RGB averaged to grey."""
    from PIL import Image

    rows, cols = size
    planes = [np.asarray(Image.fromarray(x[:, :, k]).resize((cols, rows), Image.Resampling.BILINEAR))
              for k in range(x.shape[2])]
    y = np.stack(planes, axis=2).astype(np.float32)
    if y.shape[2] != channels:
        y = np.repeat(y.mean(axis=2, keepdims=True), channels, axis=2)
    return np.ascontiguousarray(y)
