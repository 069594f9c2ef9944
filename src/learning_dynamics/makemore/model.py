"""Makemore study (seed 002): a character-level MLP with BatchNorm, trained on names.

Model: embed 3 context characters (27 × 10 table), flatten, then `depth` blocks of
Linear (no bias with BatchNorm) -> BatchNorm (batch mean, unbiased batch variance, momentum 0.1)
-> tanh, then an output Linear scaled by 0.1 at init; cross-entropy; plain SGD.

Speed: the forward and backward passes are written out by hand (inference mode, no autograd
graph), which also hands us every tanh output and its gradient without `retain_grad`.
`tests/test_makemore.py` checks the gradients against autograd. Plain steps do nothing else; the
statistics are computed only at the history cadence, by `MakemoreTrainer.statistics`.

Minibatch indices come from `sampler.BatchSampler`: by default exactly the seed's
`torch.randperm` stream, drawn ahead of the training in a helper process.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..devices import training_device
from ..history import run_attrs
from ..io import read_arrays, write_arrays
from ..runconfig import typed
from ..training import fit
from .runs import RunConfig
from .sampler import BatchSampler

STUDY = "makemore"
CHARS = ".abcdefghijklmnopqrstuvwxyz"  # '.' (index 0) marks the start and the end of a name
VOCAB = len(CHARS)
SPLITS = ("train", "val", "test")
SATURATED = 0.97  # |tanh| above this counts as saturated
# The lecture's (makemore part 3) final losses of the BatchNorm network, for the loss table.
LECTURE_LOSS = {"train": 2.0668, "val": 2.1048}


# ---- dataset ----------------------------------------------------------------------------------


def build_dataset(
    words: list[str], block_size: int = 3, seed: int = 42
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(context, next character) pairs, split 80/10/10 by name after the seed's shuffle
    (`random.seed(42); random.shuffle(words)`, reproduced with a private `random.Random`)."""
    words = list(words)
    random.Random(seed).shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    index = {c: i for i, c in enumerate(CHARS)}
    out = {}
    for split, part in zip(SPLITS, (words[:n1], words[n1:n2], words[n2:]), strict=True):
        xs, ys = [], []
        for word in part:
            ids = [0] * block_size + [index[c] for c in word] + [0]
            for i in range(len(ids) - block_size):
                xs.append(ids[i : i + block_size])
                ys.append(ids[i + block_size])
        out[split] = (torch.tensor(xs), torch.tensor(ys))
    return out


def read_words(path: str | Path) -> list[str]:
    return [w for w in Path(path).read_text().splitlines() if w]


# ---- model ------------------------------------------------------------------------------------


def param_names(cfg: RunConfig) -> list[str]:
    """Parameters in the seed's order: C, then per block W (b) (gain, beta), then W_out, b_out."""
    names = ["C"]
    for layer in range(1, cfg.depth + 1):
        names.append(f"W{layer}")
        names += [f"gain{layer}", f"beta{layer}"] if cfg.batchnorm else [f"b{layer}"]
    return [*names, "W_out", "b_out"]


def init_params(cfg: RunConfig, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The seed's initialisation, drawing from `generator` in its order: C ~ N(0, 1), hidden
    W ~ gain·N(0, 1/fan_in), W_out ~ 0.1·N(0, 1/fan_in); biases 0, BatchNorm gain 1, beta 0."""
    p = {"C": torch.randn(VOCAB, cfg.emb_dim, generator=generator)}
    fan_in = cfg.block_size * cfg.emb_dim
    for layer in range(1, cfg.depth + 1):
        w = torch.randn(fan_in, cfg.hidden, generator=generator) / fan_in**0.5
        p[f"W{layer}"] = w * cfg.gain if cfg.gain != 1.0 else w
        if cfg.batchnorm:
            p[f"gain{layer}"], p[f"beta{layer}"] = torch.ones(cfg.hidden), torch.zeros(cfg.hidden)
        else:
            p[f"b{layer}"] = torch.zeros(cfg.hidden)
        fan_in = cfg.hidden
    p["W_out"] = torch.randn(fan_in, VOCAB, generator=generator) / fan_in**0.5 * cfg.out_scale
    p["b_out"] = torch.zeros(VOCAB)
    return p


def init_running(cfg: RunConfig, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    if not cfg.batchnorm:
        return {}
    ones, zeros = torch.ones(cfg.hidden, device=device), torch.zeros(cfg.hidden, device=device)
    return {
        k: v.clone()
        for i in range(1, cfg.depth + 1)
        for k, v in ((f"mean{i}", zeros), (f"var{i}", ones))
    }


def flat_views(
    template: dict[str, torch.Tensor], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One flat buffer on `device` and a view of it per tensor (same names and shapes), so that
    an SGD update over every parameter is a single op."""
    flat = torch.zeros(sum(v.numel() for v in template.values()), device=device)
    views, offset = {}, 0
    for name, value in template.items():
        views[name] = flat[offset : offset + value.numel()].view(value.shape)
        offset += value.numel()
    return flat, views


@torch.inference_mode()
def forward(
    cfg: RunConfig,
    p: dict[str, torch.Tensor],
    x: torch.Tensor,
    running: dict[str, torch.Tensor] | None = None,
    train: bool = True,
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, ...]]]:
    """Logits, and per block what the backward pass needs: (input, x̂, std, tanh output).

    train=True normalises with the batch mean and unbiased batch variance (as the seed) and, if
    `running` is given, updates it; train=False uses `running` (eval mode: any batch size)."""
    h = p["C"][x].view(len(x), -1)
    cache = []
    for layer in range(1, cfg.depth + 1):
        xhat = std = None
        if cfg.batchnorm:
            pre = h @ p[f"W{layer}"]
            if train:  # (torch.var over dim 0 takes a slow path: 6x the time of this)
                mean = pre.mean(0)
                xhat = pre - mean
                var = (xhat * xhat).sum(0).div_(len(x) - 1)  # unbiased, as the seed's x.var(0)
                if running is not None:
                    running[f"mean{layer}"].lerp_(mean, cfg.momentum)
                    running[f"var{layer}"].lerp_(var, cfg.momentum)
            else:
                mean, var = running[f"mean{layer}"], running[f"var{layer}"]
                xhat = pre - mean
            std = (var + cfg.eps).sqrt_()
            xhat.div_(std)
            pre = torch.addcmul(p[f"beta{layer}"], p[f"gain{layer}"], xhat)
        else:
            pre = torch.addmm(p[f"b{layer}"], h, p[f"W{layer}"])
        cache.append((h, xhat, std, h := pre.tanh_()))
    return torch.addmm(p["b_out"], h, p["W_out"]), cache


@torch.inference_mode()
def backward(
    cfg: RunConfig,
    p: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    logits: torch.Tensor,
    cache: list[tuple[torch.Tensor, ...]],
    g: dict[str, torch.Tensor] | None = None,
) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """Gradients of the mean cross-entropy w.r.t. every parameter (written into `g` if given),
    and w.r.t. every tanh output (the activation gradients the seed reads via `retain_grad`)."""
    n = len(y)
    g = {k: torch.empty_like(v) for k, v in p.items()} if g is None else g
    d = logits.softmax(1)
    d[torch.arange(n, device=d.device), y] -= 1
    d /= n  # dL/dlogits
    torch.mm(cache[-1][3].T, d, out=g["W_out"])
    torch.sum(d, 0, out=g["b_out"])
    dh = d @ p["W_out"].T
    act_grads = []
    for layer in range(cfg.depth, 0, -1):
        h_in, xhat, std, t = cache[layer - 1]
        act_grads.append(dh)
        dpre = torch.ops.aten.tanh_backward(dh, t)
        if cfg.batchnorm:
            gain, dgain, dbeta = p[f"gain{layer}"], g[f"gain{layer}"], g[f"beta{layer}"]
            torch.sum(dpre * xhat, 0, out=dgain)
            torch.sum(dpre, 0, out=dbeta)
            # BatchNorm with the unbiased variance σ² = Σ(x − μ)²/(n − 1):
            # dL/dx = γ/σ · (dL/dy − Σ dL/dy / n − x̂ · Σ(dL/dy · x̂) / (n − 1))
            dpre = torch.addcmul(dpre - dbeta / n, xhat, dgain, value=-1 / (n - 1))
            dpre *= gain / std
        else:
            torch.sum(dpre, 0, out=g[f"b{layer}"])
        torch.mm(h_in.T, dpre, out=g[f"W{layer}"])
        dh = dpre @ p[f"W{layer}"].T
    g["C"].zero_().index_add_(0, x.view(-1), dh.view(-1, cfg.emb_dim))
    return g, act_grads[::-1]


@torch.inference_mode()
def split_loss(
    cfg: RunConfig, p: dict[str, torch.Tensor], running: dict[str, torch.Tensor], x, y
) -> float:
    """Mean cross-entropy in eval mode (BatchNorm from its running statistics)."""
    return float(F.cross_entropy(forward(cfg, p, x, running, train=False)[0], y))


@torch.inference_mode()
def sample_names(
    cfg: RunConfig,
    p: dict[str, torch.Tensor],
    running: dict[str, torch.Tensor],
    count: int,
    seed: int,
    max_len: int = 50,
) -> list[str]:
    """`count` names drawn in eval mode, all at once. (The seed samples with BatchNorm in training
    mode on a batch of one: the unbiased variance of one value is 0/0 = NaN and multinomial
    fails. In eval mode the running statistics serve any batch size.)"""
    g = torch.Generator().manual_seed(seed)
    context = torch.zeros(count, cfg.block_size, dtype=torch.int64)
    chars = torch.zeros(count, max_len, dtype=torch.int64)
    for i in range(max_len):
        logits = forward(cfg, p, context, running, train=False)[0]
        nxt = torch.multinomial(logits.softmax(1), 1, generator=g)
        chars[:, i] = nxt[:, 0]
        context = torch.cat([context[:, 1:], nxt], dim=1)
        if bool((chars[:, : i + 1] == 0).any(1).all()):
            break
    names = []
    for row in chars.tolist():
        end = row.index(0) + 1 if 0 in row else len(row)
        names.append("".join(CHARS[c] for c in row[:end]))
    return names


# ---- trainer ----------------------------------------------------------------------------------


class MakemoreTrainer:
    """SGD on minibatches of (context, next character), the seed's loop without its per-step
    host syncs; `snapshot` adds parameter copies and the statistics of the coming update.

    Everything lives on the device of the data `x`, `y`; the random draws (initialisation and
    minibatch indices) stay on the CPU generator, so every device sees the same stream."""

    def __init__(self, cfg: RunConfig, x: torch.Tensor, y: torch.Tensor) -> None:
        self.cfg, self.x, self.y = cfg, x, y
        self.device = x.device  # state and buffers live where the data was put
        generator = torch.Generator().manual_seed(cfg.seed)  # == torch.manual_seed(42) stream
        init = init_params(cfg, generator)
        self.flat, self.p = flat_views(init, self.device)  # parameters: views of one flat buffer
        self.flat_grad, self.grad = flat_views(init, self.device)
        self.flat.copy_(torch.cat([v.flatten() for v in init.values()]))
        self.running = init_running(cfg, self.device)
        self.sampler = BatchSampler(
            cfg.sampler, len(y), cfg.batch_size, generator, device=self.device
        )
        self.next_step = 0  # the update the next snapshot describes

    def lr(self, step: int) -> float:
        return self.cfg.lr if step < self.cfg.lr_drop else self.cfg.lr_low

    @torch.inference_mode()
    def step(self, step: int) -> dict[str, torch.Tensor]:
        idx = self.sampler(step)
        x, y = self.x[idx], self.y[idx]
        logits, cache = forward(self.cfg, self.p, x, self.running)
        loss = F.cross_entropy(logits, y)
        backward(self.cfg, self.p, x, y, logits, cache, self.grad)
        self.flat.sub_(self.lr(step) * self.flat_grad)  # the seed's p.data -= lr * p.grad
        self.next_step = step + 1
        return {"loss": loss}

    @torch.inference_mode()
    def statistics(self, step: int) -> dict[str, dict[str, torch.Tensor]]:
        """Activation, activation-gradient and weight-gradient statistics of update `step`: its
        forward/backward pass repeated on its own minibatch, without the update (so plain steps
        never pay for statistics, and the numbers are exactly those of that update)."""
        cfg, bins = self.cfg, self.cfg.bins
        idx = self.sampler(step)
        x, y = self.x[idx], self.y[idx]
        logits, cache = forward(cfg, self.p, x)  # batch statistics, running stats untouched
        grads, act_grads = backward(cfg, self.p, x, y, logits, cache)
        acts = torch.stack([c[3] for c in cache])  # (L, batch, hidden)
        dacts = torch.stack(act_grads)
        flat = acts.flatten(1)
        out = {
            "activations": {
                "mean": flat.mean(1),
                "std": flat.std(1),
                "saturated": (flat.abs() > SATURATED).float().mean(1),
                "hist": torch.stack([torch.histc(a, bins, -1.0, 1.0) for a in flat]),
            },
            "activation_grads": _summary(dacts.flatten(1), bins),
        }
        names = list(self.p)
        g = [grads[k].flatten() for k in names]
        weights = [k for k in names if self.p[k].ndim == 2]
        out["weight_grads"] = {
            "mean": torch.stack([v.mean() for v in g]),
            "grad_std": torch.stack([v.std() for v in g]),
            "param_std": torch.stack([self.p[k].std() for k in names]),
            "lr": torch.tensor(self.lr(step), device=self.device),
            **{
                f"w_{k}": v
                for k, v in _summary([grads[w].flatten() for w in weights], bins).items()
            },
        }
        return out

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        running = {k: v.clone() for k, v in self.running.items()}
        return {
            "params": {k: v.clone() for k, v in self.p.items()},
            "running": running or {"none": torch.zeros((), device=self.device)},
            **self.statistics(self.next_step),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "params": {k: v.clone() for k, v in self.p.items()},
            "running": {k: v.clone() for k, v in self.running.items()},
            "sampler": self.sampler.state_dict(),
            "next_step": self.next_step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in state["params"].items():
            self.p[k].copy_(v)
        self.running = {k: v.to(self.device, copy=True) for k, v in state["running"].items()}
        self.sampler.load_state_dict(state["sampler"])
        self.next_step = int(state["next_step"])


def _summary(rows: list[torch.Tensor] | torch.Tensor, bins: int) -> dict[str, torch.Tensor]:
    """Mean, std and a histogram over each row's own [min, max] range (as torch.histogram)."""
    lo = torch.stack([r.min() for r in rows])
    hi = torch.stack([r.max() for r in rows])
    return {
        "mean": torch.stack([r.mean() for r in rows]),
        "std": torch.stack([r.std() for r in rows]),
        "lo": lo,
        "hi": hi,
        "hist": torch.stack(
            [torch.histc(r, bins, float(a), float(b)) for r, a, b in zip(rows, lo, hi, strict=True)]
        ),
    }


# ---- DAG verbs: generate data, train ------------------------------------------------------


def make_data(names: str, block_size: int, seed: int, out: str) -> None:
    """The three splits of (context, next character) pairs, from the names file."""
    data = build_dataset(read_words(names), block_size, seed)
    arrays = {f"{s}/{k}": v for s, (x, y) in data.items() for k, v in (("x", x), ("y", y))}
    write_arrays(out, arrays, {"study": STUDY, "seed": seed})


def load_split(data: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    arrays = read_arrays(data)
    return torch.from_numpy(arrays[f"{split}/x"]), torch.from_numpy(arrays[f"{split}/y"])


def train(config: dict[str, Any], data: str, out: str) -> None:
    """Train run `config` (a `run_config`) on the train split of `data`; the history of
    parameters, activations, gradients and updates goes to `out`."""
    cfg = typed(RunConfig, config)  # refuses an unknown key or a value of another type
    device = training_device()
    x, y = (t.to(device) for t in load_split(data, "train"))
    trainer = MakemoreTrainer(cfg, x, y)
    attrs = run_attrs(STUDY, dataclasses.asdict(cfg), cfg.seed)
    fit(trainer, steps=cfg.steps, snapshot_every=cfg.history_every, out=out, attrs=attrs)
