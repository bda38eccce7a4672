"""`cnnviz export-code SESSION --framework keras|pytorch --train`: the model module (io/codegen.py) plus the
training the session describes (its `training` section, io/training_settings.py), as one runnable script.

The script trains as cnnviz's Trainer does: the same examples (read by cnnviz's own data loaders, so
the script needs `pip install cnnviz` beside Keras or PyTorch), the same validation split (the last
fraction), each epoch's order from numpy's generator seeded with the seed, the same loss and the same
optimizer with Keras's update rules (written out for PyTorch, whose Adam and RMSprop place epsilon
elsewhere). On CPU its first steps' losses equal cnnviz's to 1e-4 (tests/io/test_train_codegen.py).
"""

from __future__ import annotations

import json

import numpy as np

from cnnviz.io.codegen import generate_code
from cnnviz.io.errors import SessionError

_MAIN = '\nif __name__ == "__main__":'  # where the model module's own demo begins; the script has its own


def generate_training_script(session, framework: str) -> str:
    if session.training is None:
        raise SessionError("the session has no training settings (a \"training\" section: loss, optimizer, "
                           "batch_size, epochs, seed, data); train it once in cnnviz or add them")
    if any(type(layer).__name__ == "Dropout" for layer in session.pipeline.layers):
        dropout_note = ["# Dropout's masks are drawn by the engine here, by cnnviz's generator in cnnviz: the losses",
                        "# agree until the first step that drops a cell."]
    else:
        dropout_note = []
    model = generate_code(session, framework).split(_MAIN)[0].rstrip() + "\n"
    end = model.index('"""', 3)  # the module docstring's end: the training's own paragraph goes before it
    model = model[:end] + _RUN[framework] + model[end:]
    settings = json.dumps(session.training, indent=4, sort_keys=True)
    classes = int(np.prod(session.pipeline.output_shapes()[-1]))
    common = [
        "", "", "# ---- training: the session's settings, as cnnviz trains ------------------------------------", "",
        "import argparse",
        "import json",
        "",
        "from cnnviz.io.training_settings import training_data  # the examples cnnviz trains on (pip install cnnviz)",
        "",
        f"SETTINGS = json.loads(r'''{settings}''')",
        f"CLASSES = {classes}",
        *dropout_note,
        "",
        "",
        "def load_data():",
        '    """(x, y) for training and for validation: validation_split takes the last fraction, as Keras."""',
        "    x, y = training_data(SETTINGS, INPUT.shape, CLASSES)",
        '    cut = int(len(x) * (1 - SETTINGS["validation_split"]))',
        "    return (x[:cut], y[:cut]), (x[cut:], y[cut:])",
        "",
        "",
        "def batches(n):",
        '    """(epoch, indices) of every step: each epoch\'s order drawn as cnnviz\'s Trainer draws it."""',
        '    rng = np.random.default_rng(SETTINGS["seed"])',
        '    size = SETTINGS["batch_size"]',
        '    for epoch in range(1, SETTINGS["epochs"] + 1):',
        "        order = rng.permutation(n)",
        "        for start in range(0, n, size):",
        "            yield epoch, order[start:start + size]",
        "",
    ]
    body = _KERAS if framework == "keras" else _TORCH
    return model + "\n".join(common) + body


_RUN = {
    "keras": """
Training (cnnviz export-code --train): `python train.py [--steps N]` trains as cnnviz does and saves
trained.keras. It needs Keras 3 with a backend and cnnviz (for the same data: pip install cnnviz keras).
On a GPU: install a backend that sees it (pip install "tensorflow[and-cuda]" on Linux, or torch with CUDA and
KERAS_BACKEND=torch); Keras then places the model on the first GPU by itself. CUDA_VISIBLE_DEVICES=1
chooses another one. GPU kernels sum in other orders, so the losses agree with cnnviz's to about 1e-4
on CPU only.
""",
    "pytorch": """
Training (cnnviz export-code --train): `python train.py [--steps N] [--device cpu|cuda]` trains as cnnviz
does and saves trained.pt. It needs torch and cnnviz (for the same data: pip install cnnviz torch).
On a GPU: `python train.py --device cuda` (a torch built with CUDA); the model and the whole data set are
moved to the device once. GPU kernels sum in other orders, so the losses agree with cnnviz's to about
1e-4 on CPU only.
""",
}


_KERAS = '''

def train(max_steps=None):
    """Train build_model() as the session says; returns the model and every step's loss (before its update)."""
    keras.utils.set_random_seed(SETTINGS["seed"])
    model = build_model()
    model.compile(optimizer=keras.optimizers.get(SETTINGS["optimizer"]), loss=keras.losses.get(SETTINGS["loss"]))
    (x, y), _ = load_data()
    losses, epoch_seen = [], 0
    for epoch, part in batches(len(x)):
        if max_steps is not None and len(losses) >= max_steps:
            break
        losses.append(float(model.train_on_batch(x[part], y[part])))
        if epoch != epoch_seen:
            epoch_seen = epoch
            print(f"epoch {epoch}: first step's loss {losses[-1]:.6f}")
    return model, losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="stop after this many steps")
    args = parser.parse_args()
    model, losses = train(args.steps)
    print(f"{len(losses)} steps, last loss {losses[-1]:.6f}")
    model.save("trained.keras")
    print("saved trained.keras (open it in cnnviz: File > Open model...)")
'''

_TORCH = '''

def keras_loss(output, target):
    """The session's loss as Keras computes it: the mean over the last axis, then over the batch; a
    probability is clipped to [1e-7, 1 - 1e-7] before its log."""
    loss, config = SETTINGS["loss"]["class_name"], SETTINGS["loss"]["config"]
    if output.dim() == 4:  # torch's (N, C, H, W) -> cnnviz's and Keras's channels last
        output = output.permute(0, 2, 3, 1)
    logits = config.get("from_logits", False)
    if loss == "MeanSquaredError":
        return ((output - target) ** 2).mean()
    if loss == "SparseCategoricalCrossentropy":
        target = torch.nn.functional.one_hot(target.long(), output.shape[-1]).to(output.dtype)
    if loss in ("CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
        if logits:
            return -(target * torch.log_softmax(output, dim=-1)).sum(-1).mean()
        p = (output / output.sum(-1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
        return -(target * torch.log(p)).sum(-1).mean()
    if loss == "BinaryCrossentropy":
        if logits:
            return F.binary_cross_entropy_with_logits(output, target, reduction="none").mean(-1).mean()
        p = output.clamp(1e-7, 1 - 1e-7)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean(-1).mean()
    raise ValueError(f"unknown loss {loss}")


class KerasOptimizer:
    """SGD, Adam or RMSprop with Keras's update rules and float32 hyperparameters (torch.optim's Adam and
    RMSprop put epsilon elsewhere, which changes the numbers)."""

    def __init__(self, params, config):
        self.kind, self.c = config["class_name"], config["config"]
        self.params = list(params)
        self.lr = float(np.float32(self.c["learning_rate"]))
        self.slots = [{} for _ in self.params]
        self.iterations = 0

    @torch.no_grad()
    def step(self):
        for w, slots in zip(self.params, self.slots):
            g = w.grad
            zeros = lambda: torch.zeros_like(w)  # noqa: E731
            if self.kind == "SGD":
                momentum = self.c.get("momentum", 0.0)
                if momentum == 0:
                    w -= self.lr * g
                    continue
                m = slots["m"] = momentum * slots.get("m", zeros()) - self.lr * g
                w += momentum * m - self.lr * g if self.c.get("nesterov") else m
            elif self.kind == "Adam":
                b1, b2 = self.c.get("beta_1", 0.9), self.c.get("beta_2", 0.999)
                m = slots["m"] = slots.get("m", zeros()) + (g - slots.get("m", zeros())) * (1 - b1)
                v = slots["v"] = slots.get("v", zeros()) + (g * g - slots.get("v", zeros())) * (1 - b2)
                if self.c.get("amsgrad"):
                    v = slots["v_hat"] = torch.maximum(slots.get("v_hat", zeros()), v)
                t = np.float32(self.iterations + 1)
                size = np.float32(self.lr) * np.sqrt(1 - np.float32(b2) ** t) / (1 - np.float32(b1) ** t)
                w -= float(size) * m / (torch.sqrt(v) + self.c.get("epsilon", 1e-7))
            else:  # RMSprop
                rho, eps = self.c.get("rho", 0.9), self.c.get("epsilon", 1e-7)
                v = slots["v"] = rho * slots.get("v", zeros()) + (1 - rho) * g * g
                denominator = v + eps
                if self.c.get("centered"):
                    mean = slots["mean"] = rho * slots.get("mean", zeros()) + (1 - rho) * g
                    denominator = v - mean * mean + eps
                increment = self.lr * g / torch.sqrt(denominator)
                if self.c.get("momentum", 0.0) > 0:
                    increment = slots["mom"] = self.c["momentum"] * slots.get("mom", zeros()) + increment
                w -= increment
        self.iterations += 1

    def zero_grad(self):
        for w in self.params:
            w.grad = None


def train(max_steps=None, device="cpu"):
    """Train build_model() as the session says; returns the model and every step's loss (before its update)."""
    torch.manual_seed(SETTINGS["seed"])
    model = build_model().to(device).train()
    optimizer = KerasOptimizer([p for p in model.parameters() if p.requires_grad], SETTINGS["optimizer"])
    (x, y), _ = load_data()
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)  # NHWC -> NCHW
    y = torch.from_numpy(np.asarray(y)).to(device)
    losses, epoch_seen = [], 0
    for epoch, part in batches(len(x)):
        if max_steps is not None and len(losses) >= max_steps:
            break
        index = torch.from_numpy(part).to(device)
        loss = keras_loss(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if epoch != epoch_seen:
            epoch_seen = epoch
            print(f"epoch {epoch}: first step's loss {losses[-1]:.6f}")
    return model.eval(), losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="stop after this many steps")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for a GPU (cuda:1 for the second one)")
    args = parser.parse_args()
    model, losses = train(args.steps, args.device)
    print(f"{len(losses)} steps, last loss {losses[-1]:.6f}")
    torch.save(model.state_dict(), "trained.pt")
    print("saved trained.pt")
'''
