"""What happens to the filters when the input's channel count changes, said before it happens.

A Conv2D filter has one slice per input channel, so 1 → 3 channels needs two new slices per filter. Two
honest answers: keep the filters as they are (the new slices are 0 and the new channels start blank: the
outputs do not move), or spread them (each slice copied into every channel and scaled by old/new, the
picture copied into the new channels: the outputs do not move either, and every channel now matters).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QMessageBox

KEEP, SPREAD = "keep", "spread"


def first_kernel_layer(document):
    """The first layer with filters (whose slices follow the input's channels), or None."""
    for layer in document.pipeline.layers:
        if getattr(layer, "TRAINABLE", False):
            return layer if layer.built else None
    return None


def channel_change_box(layer, old: int, new: int, parent=None) -> QMessageBox:
    """The question, with Keep / Spread / Cancel buttons (their objectName is the answer)."""
    factor = f"{old}/{new}"
    more = new > old
    text = (
        f"The input goes from {old} to {new} channel{'s' if new > 1 else ''}. Every filter of {layer.label} has one "
        f"slice per input channel, so each gets {new - old if more else old - new} slice"
        f"{'s' if abs(new - old) > 1 else ''} {'more' if more else 'fewer'}."
    )
    keep = (
        "<b>Keep the weights as they are</b>: the slices of the channels that remain stay exactly as they are"
        + (", the new slices are 0 and the new channels start blank." if more else ".")
    )
    spread = (
        f"<b>Spread the weights</b>: every channel gets a copy of the slices scaled by {factor}"
        + (", and the picture is copied into the new channels, so the outputs stay the same." if more else ".")
    )
    box = QMessageBox(QMessageBox.Icon.Question, "Channels and filters", text, QMessageBox.StandardButton.NoButton,
                      parent)
    box.setInformativeText(f"{keep}<br><br>{spread}")
    for name, label, role in ((KEEP, "Keep weights", QMessageBox.ButtonRole.AcceptRole),
                              (SPREAD, "Spread weights", QMessageBox.ButtonRole.AcceptRole)):
        button = box.addButton(label, role)
        button.setObjectName(name)
    box.setDefaultButton(box.findChild(type(button), KEEP))
    box.addButton(QMessageBox.StandardButton.Cancel)
    return box


def ask_channel_change(layer, old: int, new: int, parent=None) -> str | None:
    """KEEP, SPREAD, or None (cancelled)."""
    box = channel_change_box(layer, old, new, parent)
    box.exec()
    clicked = box.clickedButton()
    return clicked.objectName() if clicked is not None and clicked.objectName() in (KEEP, SPREAD) else None


def resized_input(old: np.ndarray, shape, copy_picture: bool) -> np.ndarray:
    """`old` cut or padded with 0 to `shape`; new channels get a copy of the old ones if `copy_picture`."""
    new = np.zeros(shape, np.float32)
    h, w, c = (min(a, b) for a, b in zip(shape, old.shape))
    new[:h, :w, :c] = old[:h, :w, :c]
    if copy_picture:
        for ch in range(c, shape[2]):
            new[:h, :w, ch] = old[:h, :w, ch % old.shape[2]]
    return new
