"""Central finite differences in float64: the oracle every backward pass is checked against."""

from __future__ import annotations

import numpy as np


def numeric_gradient(f, array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂array by central differences, one entry at a time (array is changed and restored in place)."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat, g = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + h
        up = f()
        flat[i] = keep - h
        down = f()
        flat[i] = keep
        g[i] = (up - down) / (2 * h)
    return grad


def check_vjp(forward, backward, arrays: list[np.ndarray], rng, atol=1e-6, rtol=1e-5):
    """forward(*arrays) -> y; backward(dy, *arrays) -> gradients of Σ y·dy w.r.t. each array (None = skip)."""
    dy = rng.standard_normal(np.shape(forward(*arrays)))
    analytic = backward(dy, *arrays)
    for k, (array, grad) in enumerate(zip(arrays, analytic)):
        if grad is None:
            continue
        numeric = numeric_gradient(lambda: float((forward(*arrays) * dy).sum()), array)
        np.testing.assert_allclose(grad, numeric, atol=atol, rtol=rtol, err_msg=f"gradient {k}")
