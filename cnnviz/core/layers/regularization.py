"""Dropout: the identity at inference, inverted dropout through a kept mask in training (docs/layers.md)."""

from __future__ import annotations

import copy
import numbers

import numpy as np

from cnnviz.core import batch_ops, grad_ops, ops
from cnnviz.core.layers.base import CellToCell, Layer, _is_int
from cnnviz.core.layers.description import Param, Terms, TorchCode


class Dropout(CellToCell, Layer):
    """Identity at inference; with training=True, inverted dropout through a kept, injectable mask."""

    DEFAULT_NAME = "dropout"
    HELP = ("While training, sets a random fraction (the rate) of the numbers to 0 and scales the rest by "
            "1/(1 − rate); at inference it changes nothing.")
    PARAMS = (
        Param("rate", "float", "Rate", "The fraction of numbers set to 0 while training (0 ≤ rate < 1). The kept "
              "numbers are divided by 1 − rate so the average stays the same.", minimum=0, maximum=1,
              below_maximum=True, suggested=0.25),
        Param("seed", "int", "Seed", "Seed of the random mask, so the same mask comes back.", default=None,
              minimum=0, nullable=True, placeholder="none"),
    )
    KERAS_EXTRAS = {"noise_shape": None}

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not (0 <= rate < 1):
            raise self._error(f"rate must be a number in [0, 1), got {rate!r}", "rate")
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise self._error(f"seed must be a non-negative integer or None, got {seed!r}", "seed")
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self.mask: np.ndarray | None = None
        self._rng: np.random.Generator | None = None

    def new_mask(self, shape=None) -> np.ndarray:
        """Draw a fresh mask (keep probability 1 − rate) of `shape` or of the current mask's shape."""
        if shape is None:
            if self.mask is not None:
                shape = self.mask.shape
            elif self.input_shape is not None:
                shape = self.input_shape
            else:
                raise self._error("cannot draw a mask before the input shape is known", "mask")
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        self.mask = self._rng.random(tuple(shape)) >= self.rate
        return self.mask

    def set_mask(self, mask) -> None:
        mask = np.asarray(mask)
        expected = self.mask.shape if self.mask is not None else self.input_shape
        if mask.ndim not in (3, 4) or (expected is not None and mask.shape[-3:] != tuple(expected)[-3:]):
            raise self._error(f"mask must have shape {expected}, got {mask.shape}", "mask")
        if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
            raise self._error("mask must hold only true/false (1/0) values", "mask")
        self.mask = mask.astype(bool)

    def _call(self, x, training):
        if not training or self.rate == 0:
            return x.copy()
        if self.mask is None or self.mask.shape != x.shape:
            self.new_mask(x.shape)
        return ops.dropout(x, self.rate, self.mask)

    def _forward(self, x, training):
        """A batch in training draws a fresh mask of its own shape each call, as Keras does every step
        (one image keeps its mask until asked for a new one, so the app can show it)."""
        if not training or self.rate == 0:
            return x.copy()
        return batch_ops.dropout(x, self.rate, self.new_mask(x.shape))

    def _backward(self, x, dy, training):
        if not training or self.rate == 0:
            return dy.copy(), []
        mask = None if self.mask is None else self.mask if self.mask.ndim == 4 else self.mask[None]
        if mask is None or mask.shape != x.shape:
            raise self._error(f"backward in training needs the mask of the forward pass on this {x.shape} "
                              "input: run the layer on it first", "mask")
        return grad_ops.dropout(dy, self.rate, mask), []

    def restart_masks(self, seed) -> None:
        """Start the mask stream again from `seed` (an int or a tuple of ints): a seeded training run."""
        self._rng = np.random.default_rng(seed)

    def _carry_state(self, new):
        if (new.rate, new.seed) == (self.rate, self.seed):
            new.mask = None if self.mask is None else self.mask.copy()
            new._rng = copy.deepcopy(self._rng)

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}

    def provenance(self, x, cell, training):
        """Training: kept cells × 1/(1−rate), dropped cells × 0. Inference: the identity."""
        coefficient = 1.0
        if training and self.rate > 0:
            if self.mask is None or self.mask.shape != x.shape:
                self.new_mask(x.shape)  # as layer(x, training=True) would: drawn on first need, then kept
            coefficient = 1.0 / (1.0 - self.rate) if self.mask[tuple(cell)] else 0.0
        return Terms([self._term(x, cell, coefficient)])

    def torch_code(self, in_shape, out_shape, absorbed_padding=None):
        return TorchCode(f"nn.Dropout(p={self.rate})", ["# the identity in eval mode, as Keras at inference"])
