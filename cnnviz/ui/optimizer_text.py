"""One weight's next update written out with its numbers, for the backward step-through: the optimizer's
own rule (Optimizer.explain, cnnviz/core/training/optimizers.py) from its real state, so every number shown
is one the optimizer computes: SGD's velocity, Adam's m, v, bias corrections at the real step t and step,
RMSprop's running average (and its mean gradient and momentum when it keeps them)."""

from __future__ import annotations

from cnnviz.core.training import SGD, Adam, Optimizer
from cnnviz.ui.arithmetic.backward_steps import fmt


def par(v: float) -> str:
    """An operand after an operator: a negative one in brackets (0.9·(-0.12), not 0.9·-0.12)."""
    return fmt(v) if v >= 0 else f"({fmt(v)})"


def update_text(optimizer: Optimizer, n: dict, state_known: bool) -> str:
    """HTML lines for Optimizer.explain's numbers `n`; `state_known` says whether the slots are a run's
    (else they start at 0, as before a first step)."""
    name = type(optimizer).__name__
    w, g, eta = fmt(n["w"]), par(n["g"]), fmt(n["lr"])
    t = n["t"]
    where = (f"step t = {t}, from the optimizer's state after {t - 1} steps" if state_known
             else "step t = 1: no run on this data yet, its slots start at 0")
    head = f"<b>Update ({name}, {where}):</b>"
    old, new = n["old"], n["slots"]
    if isinstance(optimizer, SGD):
        lines = _sgd(optimizer, n, old, new, w, g, eta)
    elif isinstance(optimizer, Adam):
        lines = _adam(optimizer, n, old, new, w, g, eta)
    else:
        lines = _rmsprop(optimizer, n, old, new, w, g, eta)
    return "<br>".join([head, *lines])


def _sgd(opt, n, old, new, w, g, eta):
    if not opt.momentum:
        return [f"w ← w − η·g = {w} − {eta}·{g} = <b>{fmt(n['w_new'])}</b>"]
    mu, m0, m = fmt(opt.momentum), par(old["momentum"]), par(new["momentum"])
    lines = [f"velocity m ← μ·m − η·g = {mu}·{m0} − {eta}·{g} = {fmt(new['momentum'])}"]
    if opt.nesterov:
        lines.append(f"w ← w + μ·m − η·g (Nesterov) = {w} + {mu}·{m} − {eta}·{g} = <b>{fmt(n['w_new'])}</b>")
    else:
        lines.append(f"w ← w + m = {w} + {m} = <b>{fmt(n['w_new'])}</b>")
    return lines


def _adam(opt, n, old, new, w, g, eta):
    t, b1, b2 = n["t"], fmt(opt.beta_1), fmt(opt.beta_2)
    lines = [f"m ← m + (g − m)(1 − β₁) = {fmt(old['m'])} + ({g} − {par(old['m'])})·(1 − {b1}) = {fmt(new['m'])}",
             f"v ← v + (g² − v)(1 − β₂) = {fmt(old['v'])} + ({g}² − {fmt(old['v'])})·(1 − {b2}) = {fmt(new['v'])}"]
    v_name = "v"
    if opt.amsgrad:
        lines.append(f"v̂ ← max(v̂, v) = max({fmt(old['v_hat'])}, {fmt(new['v'])}) = {fmt(new['v_hat'])}")
        v_name = "v̂"
    lines += [(f"bias corrections at t = {t}: 1 − β₁<sup>{t}</sup> = {fmt(n['correction_1'])}, "
               f"1 − β₂<sup>{t}</sup> = {fmt(n['correction_2'])}; α<sub>t</sub> = η·√(1 − β₂<sup>{t}</sup>)/"
               f"(1 − β₁<sup>{t}</sup>) = {eta}·√{fmt(n['correction_2'])}/{fmt(n['correction_1'])} = "
               f"{fmt(n['alpha'])}"),
              (f"step α<sub>t</sub>·m/(√{v_name} + ε) = {fmt(n['alpha'])}·{par(new['m'])}/({fmt(n['root'])} + "
               f"{fmt(opt.epsilon)}) = {fmt(n['step'])}"),
              f"w ← w − step = {w} − {par(n['step'])} = <b>{fmt(n['w_new'])}</b>"]
    return lines


def _rmsprop(opt, n, old, new, w, g, eta):
    rho = fmt(opt.rho)
    lines = [(f"running average v ← ρ·v + (1 − ρ)·g² = {rho}·{fmt(old['velocity'])} + (1 − {rho})·{g}² = "
              f"{fmt(new['velocity'])}")]
    if opt.centered:
        lines.append(f"mean gradient ḡ ← ρ·ḡ + (1 − ρ)·g = {rho}·{par(old['average_gradient'])} + (1 − {rho})·{g} "
                     f"= {fmt(new['average_gradient'])}; under the root: v − ḡ² + ε = {fmt(n['denominator'])}")
        root = "√(v − ḡ² + ε)"
    else:
        root = "√(v + ε)"
    rule, numbers = f"η·g/{root}", f"{eta}·{g}/√{fmt(n['denominator'])}"
    if opt.momentum > 0:
        lines.append(f"momentum M ← μ·M + {rule} = {fmt(opt.momentum)}·{par(old['momentum'])} + {numbers} = "
                     f"{fmt(new['momentum'])}")
        lines.append(f"w ← w − M = {w} − {par(new['momentum'])} = <b>{fmt(n['w_new'])}</b>")
    else:
        lines.append(f"step {rule} = {numbers} = {fmt(n['step'])}")
        lines.append(f"w ← w − step = {w} − {par(n['step'])} = <b>{fmt(n['w_new'])}</b>")
    return lines
