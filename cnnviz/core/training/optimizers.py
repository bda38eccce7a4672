"""Keras 3's optimizers SGD, Adam and RMSprop: the same update rules, defaults and configs (docs/training.md).

Where Keras differs from the textbook, it is followed: Adam adds ε to √v of the uncorrected v and folds
the bias correction into the step size α_t = lr·√(1 − β2^t)/(1 − β1^t), computed in float32 as Keras
does; RMSprop puts ε inside the square root; SGD with momentum keeps m ← μ·m − lr·g. The learning
rate is a float32 number, as Keras stores it.

An optimizer keeps one set of slots per weight array, by position in the list it is given each step.
`apply` writes the new values into the arrays in place only when every one is finite; otherwise nothing
changes (no weight, no slot, no step count) and it returns False.
"""

from __future__ import annotations

import numbers

import numpy as np

from cnnviz.core.errors import ConfigError

# Keras's base-optimizer config keys and the values cnnviz supports (their defaults).
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}


class Optimizer:
    KERAS_NAME = "optimizer"
    SLOTS: tuple[str, ...] = ()

    def __init__(self, learning_rate: float, name: str | None = None, **base):
        for key, value in base.items():
            if key not in _BASE_DEFAULTS:
                raise ConfigError(f"{type(self).__name__}: unknown argument {key!r}", param=key)
            if value != _BASE_DEFAULTS[key]:
                raise ConfigError(f"{type(self).__name__}: {key}={value!r} is not supported (only "
                                  f"{_BASE_DEFAULTS[key]!r})", param=key)
        self.learning_rate = self._number(learning_rate, "learning_rate", low=0.0, low_open=True)
        self.name = name or self.KERAS_NAME
        self.iterations = 0
        self._slots: list[dict[str, np.ndarray]] | None = None

    def _number(self, value, param: str, low: float = 0.0, high: float | None = None, low_open=False,
                high_open=False) -> float:
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
            raise ConfigError(f"{type(self).__name__}: {param} must be a number, got {value!r}", param=param)
        too_low = value <= low if low_open else value < low
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            span = f"{'(' if low_open else '['}{low:g}, {'∞)' if high is None else f'{high:g}' + (')' if high_open else ']')}"
            raise ConfigError(f"{type(self).__name__}: {param} must be in {span}, got {value!r}", param=param)
        return float(value)

    @property
    def lr(self) -> float:
        """The learning rate as Keras holds it: a float32 variable (0.01 reads 0.009999999776)."""
        return float(np.float32(self.learning_rate))

    def apply(self, params: list[np.ndarray], grads: list[np.ndarray]) -> bool:
        """One step: params[i] ← update(params[i], grads[i]) in place, if every new value is finite."""
        if self._slots is None:
            self._slots = [{slot: np.zeros(p.shape) for slot in self.SLOTS} for p in params]
        if len(self._slots) != len(params):
            raise ConfigError(f"{type(self).__name__}: was given {len(params)} weight arrays, it holds slots "
                              f"for {len(self._slots)}", param="weights")
        results = [self._update(np.asarray(p, np.float64), np.asarray(g, np.float64), slots)
                   for p, g, slots in zip(params, grads, self._slots)]
        with np.errstate(over="ignore", invalid="ignore"):  # in the weights' own dtype (float32) too
            results = [(new.astype(p.dtype), slots) for p, (new, slots) in zip(params, results)]
        if not all(np.isfinite(new).all() for new, _ in results):
            return False
        for p, (new, slots), old in zip(params, results, self._slots):
            p[...] = new
            old.update(slots)
        self.iterations += 1
        return True

    def _update(self, w, g, slots) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    # ---- the state, and one weight's next step written out -------------------------------------------
    def get_state(self) -> dict:
        """What the next step starts from: the step count and every weight array's slots (copies)."""
        slots = None if self._slots is None else [{k: v.copy() for k, v in s.items()} for s in self._slots]
        return {"iterations": self.iterations, "slots": slots}

    def set_state(self, state: dict) -> None:
        self.iterations = int(state["iterations"])
        slots = state["slots"]
        self._slots = None if slots is None else [{k: np.array(v, np.float64) for k, v in s.items()} for s in slots]

    def explain(self, w: float, g: float, slots: dict[str, float] | None) -> dict:
        """The numbers of this optimizer's next step for one weight w with gradient g, from that weight's
        slot values (None or missing: zeros, as before a first step), by the very rule `apply` uses:
        {"t", "lr", "w", "g", "old": slots before, "slots": after, "step": w − w_new, "w_new" (float32)}
        and the rule's own intermediate numbers (`_terms`)."""
        old = {k: float((slots or {}).get(k, 0.0)) for k in self.SLOTS}
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging weight's step shows as inf, as apply sees it
            new, new_slots = self._update(np.array([float(w)]), np.array([float(g)]),
                                          {k: np.array([v]) for k, v in old.items()})
            numbers = {"t": self.iterations + 1, "lr": self.lr, "w": float(w), "g": float(g), "old": old,
                       "slots": {k: float(v[0]) for k, v in new_slots.items()}, "step": float(w) - float(new[0]),
                       "w_new": float(np.float32(new[0]))}
            numbers.update(self._terms(numbers))
        return numbers

    def _terms(self, numbers: dict) -> dict:
        return {}

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.lr, **_BASE_DEFAULTS}


def slots_at(state: dict, index: int, position: tuple) -> dict[str, float] | None:
    """One weight's slot values in an optimizer state (weight array `index`, element `position`); None
    before the first step or when the array does not have that element."""
    slots = state["slots"]
    if slots is None or not 0 <= index < len(slots):
        return None
    try:
        return {k: float(v[position]) for k, v in slots[index].items()}
    except IndexError:
        return None


class SGD(Optimizer):
    """w ← w − lr·g; with momentum μ: m ← μ·m − lr·g, w ← w + m (nesterov: w ← w + μ·m − lr·g)."""

    KERAS_NAME = "sgd"
    SLOTS = ("momentum",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **base):
        super().__init__(learning_rate, name, **base)
        self.momentum = self._number(momentum, "momentum", 0.0, 1.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ConfigError(f"SGD: nesterov must be true or false, got {nesterov!r}", param="nesterov")
        self.nesterov = bool(nesterov)

    def _update(self, w, g, slots):
        lr = self.lr
        if self.momentum == 0:
            return w - lr * g, {}
        m = self.momentum * slots["momentum"] - lr * g
        step = self.momentum * m - lr * g if self.nesterov else m
        return w + step, {"momentum": m}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """m ← m + (g − m)(1 − β1); v ← v + (g² − v)(1 − β2); w ← w − α_t·m/(√v + ε)."""

    KERAS_NAME = "adam"
    SLOTS = ("m", "v", "v_hat")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name=None,
                 **base):
        super().__init__(learning_rate, name, **base)
        self.beta_1 = self._number(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = self._number(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = self._number(epsilon, "epsilon", 0.0)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise ConfigError(f"Adam: amsgrad must be true or false, got {amsgrad!r}", param="amsgrad")
        self.amsgrad = bool(amsgrad)

    def step_size(self) -> float:
        """α_t of the next step (t = iterations + 1), computed in float32 from float32 β's as Keras does."""
        t = np.float32(self.iterations + 1)
        b1, b2 = np.float32(self.beta_1) ** t, np.float32(self.beta_2) ** t
        return float(np.float32(self.lr) * np.sqrt(np.float32(1) - b2) / (np.float32(1) - b1))

    def _update(self, w, g, slots):
        m = slots["m"] + (g - slots["m"]) * (1 - self.beta_1)
        v = slots["v"] + (g * g - slots["v"]) * (1 - self.beta_2)
        new = {"m": m, "v": v}
        if self.amsgrad:  # the running maximum of the uncorrected v replaces v
            v = new["v_hat"] = np.maximum(slots["v_hat"], v)
        return w - self.step_size() * m / (np.sqrt(v) + self.epsilon), new

    def _terms(self, numbers):
        t = np.float32(numbers["t"])
        b1, b2 = np.float32(self.beta_1) ** t, np.float32(self.beta_2) ** t
        v = numbers["slots"]["v_hat" if self.amsgrad else "v"]
        return {"correction_1": float(np.float32(1) - b1), "correction_2": float(np.float32(1) - b2),
                "alpha": self.step_size(), "root": float(np.sqrt(v))}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """v ← ρ·v + (1 − ρ)·g²; inc = lr·g/√(v + ε) (centered: √(v − ḡ² + ε)); momentum: M ← μ·M + inc."""

    KERAS_NAME = "rmsprop"
    SLOTS = ("velocity", "average_gradient", "momentum")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name=None,
                 **base):
        super().__init__(learning_rate, name, **base)
        self.rho = self._number(rho, "rho", 0.0, 1.0, high_open=True)
        self.momentum = self._number(momentum, "momentum", 0.0, 1.0)
        self.epsilon = self._number(epsilon, "epsilon", 0.0)
        if not isinstance(centered, (bool, np.bool_)):
            raise ConfigError(f"RMSprop: centered must be true or false, got {centered!r}", param="centered")
        self.centered = bool(centered)

    def _update(self, w, g, slots):
        v = self.rho * slots["velocity"] + (1 - self.rho) * g * g
        new = {"velocity": v}
        denominator = v + self.epsilon
        if self.centered:
            mean = new["average_gradient"] = self.rho * slots["average_gradient"] + (1 - self.rho) * g
            denominator = v - mean * mean + self.epsilon
        increment = self.lr * g / np.sqrt(denominator)
        if self.momentum > 0:
            increment = new["momentum"] = self.momentum * slots["momentum"] + increment
        return w - increment, new

    def _terms(self, numbers):
        v = numbers["slots"]["velocity"]
        mean = numbers["slots"].get("average_gradient", 0.0)
        return {"denominator": v - mean * mean + self.epsilon if self.centered else v + self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.__name__: cls for cls in (SGD, Adam, RMSprop)}
_NAMES = {cls.KERAS_NAME: cls for cls in OPTIMIZERS.values()}


def get_optimizer(identifier) -> Optimizer:
    """An optimizer from a Keras name ("sgd", "adam", "rmsprop": Keras's defaults), a Keras config
    {"class_name": "Adam", "config": {"learning_rate": 0.001, ...}}, or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key, config = identifier, {}
        cls = _NAMES.get(key.lower()) or OPTIMIZERS.get(key)
    elif isinstance(identifier, dict) and "class_name" in identifier:
        key, config = identifier["class_name"], dict(identifier.get("config") or {})
        cls = OPTIMIZERS.get(key)
    else:
        raise ConfigError(f"optimizer must be a name or a Keras config, got {identifier!r}", param="optimizer")
    if cls is None:
        raise ConfigError(f"unknown optimizer {key!r} (known: {', '.join(OPTIMIZERS)})", param="optimizer")
    try:
        return cls(**config)
    except TypeError as exc:
        raise ConfigError(f"{cls.__name__}: bad config keys ({exc})", param="optimizer") from None


def optimizer_to_config(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
