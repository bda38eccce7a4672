"""What differs between two settings of a pipeline, in the words a side-by-side figure is labelled with:
"stride 1 | stride 2", "nearest | bilinear", "valid | same".

Configs are compared key by key (Keras names); the name of a layer never counts as a difference. Edited
weights or input values, a training / inference switch and added or removed layers are said too.
"""

from __future__ import annotations

import numpy as np

# Keys whose value alone says it: "valid", "bilinear", "relu".
_BARE = {"padding", "interpolation", "activation"}
# Keys read better under a short word: "stride 2", "kernel 3×3".
_WORDS = {"strides": "stride", "kernel_size": "kernel", "pool_size": "pool", "dilation_rate": "dilation",
          "size": "size", "output_padding": "output padding", "rate": "rate", "seed": "seed"}


def value_text(value) -> str:
    """(2, 2) -> "2", (1, 2) -> "1×2", 0.25 -> "0.25", None -> "none"."""
    if isinstance(value, (tuple, list)):
        items = [value_text(v) for v in value]
        return items[0] if len(set(items)) == 1 else "×".join(items)
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def setting_text(key: str, value) -> str:
    """One setting as a label: "stride 2", "same", "2 filters", "no bias"."""
    if key in _BARE:
        return value_text(value)
    if key == "filters":
        return f"{value} filter" + ("" if value == 1 else "s")
    if key == "strides" and value is None:  # a pooling layer's Keras default
        return "stride = pool"
    if key == "use_bias":
        return "bias" if value else "no bias"
    return f"{_WORDS.get(key, key)} {value_text(value)}"


def layer_differences(before, after) -> tuple[list[str], list[str]]:
    """The settings of two layers at the same place that differ, as (before texts, after texts)."""
    if type(before) is not type(after):
        return [type(before).__name__], [type(after).__name__]
    old, new = before.get_config(), after.get_config()
    keys = [k for k in old if k != "name" and old.get(k) != new.get(k)]
    left, right = [setting_text(k, old[k]) for k in keys], [setting_text(k, new[k]) for k in keys]
    if not keys and not _same_arrays(before.get_weights(), after.get_weights()):
        left, right = ["weights before"], ["weights edited"]
    return left, right


def _same_arrays(a, b) -> bool:
    return len(a) == len(b) and all(np.shape(x) == np.shape(y) and np.array_equal(x, y) for x, y in zip(a, b))


def differences(before, after, layer: int | None = None) -> tuple[str, str]:
    """Labels for two states, each a (pipeline, input, training) triple: what differs in layer `layer`
    (1-based) and the input it sees, or in the whole pipeline (None). ("snapshot", "live") when nothing
    differs."""
    (p0, x0, t0), (p1, x1, t1) = before, after
    left, right = [], []
    if t0 != t1:
        left.append("training" if t0 else "inference")
        right.append("training" if t1 else "inference")
    if np.shape(x0) != np.shape(x1):
        left.append("input " + value_text(np.shape(x0)))
        right.append("input " + value_text(np.shape(x1)))
    elif not np.array_equal(x0, x1):
        left.append("input before")
        right.append("input edited")
    positions = [layer] if layer is not None else range(1, max(len(p0.layers), len(p1.layers)) + 1)
    changed = []
    for i in positions:
        a = p0.layers[i - 1] if i <= len(p0.layers) else None
        b = p1.layers[i - 1] if i <= len(p1.layers) else None
        if a is None or b is None:  # a layer added or removed at the end
            label = (a or b).label
            changed.append(("", [f"without {label}" if a is None else f"with {label}"],
                            [f"without {label}" if b is None else f"with {label}"]))
            continue
        old, new = layer_differences(a, b)
        if old or new:
            changed.append((b.label, old, new))
    for label, old, new in changed:  # in the whole pipeline each says where; one layer needs no name
        prefix = f"{label} " if label and layer is None and len(changed) > 1 else ""
        left.append(prefix + ", ".join(old))
        right.append(prefix + ", ".join(new))
    if not left:
        return "snapshot", "live"
    return "; ".join(left), "; ".join(right)
