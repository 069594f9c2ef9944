"""The seed notebook's way of training one run (nn.Module, torch.optim, a Python loop over the
parallelograms for the RQI every step): the reference for tests and the benchmark, not used by
the workflow."""

from __future__ import annotations

import numpy as np
import torch

from .model import member_data, pairs, parallelograms, seed_modules


def seed_style_run(
    steps: int,
    seed: int = 4,
    train_num: int = 45,
    rep_lr: float = 1e-4,
    dec_lr: float = 1e-3,
    dec_wd: float = 0.0,
    p: int = 10,
    width: int = 200,
    rqi_eps: float = 0.01,
) -> dict[str, np.ndarray]:
    """One run as the seed trains it. Metrics are taken before each update (like the workflow's
    trainer; the seed takes the RQI after it). Returns per-step metrics and the final state."""
    data = member_data(p, train_num, seed, 10, 10, modulo=False)
    rep, decoder = seed_modules(seed, data["x_templates"], 10, width)
    rep = torch.nn.Parameter(rep)
    opt_rep = torch.optim.Adam([rep], lr=rep_lr)
    opt_dec = torch.optim.AdamW(decoder.parameters(), lr=dec_lr, weight_decay=dec_wd)
    ij = torch.from_numpy(pairs(p))
    target = ij.sum(1)
    y = torch.from_numpy(data["y_templates"])
    train_id = torch.from_numpy(np.flatnonzero(data["mask"]))
    test_id = torch.from_numpy(np.flatnonzero(~data["mask"]))
    quads = [(tuple(pairs(p)[a]), tuple(pairs(p)[b])) for a, b in parallelograms(p)]
    out: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": [], "rqi": []}
    for _ in range(steps):
        opt_rep.zero_grad()
        opt_dec.zero_grad()
        # As the seed: separate decoder passes over the training and the test pairs.
        pred_train = decoder(rep[ij[train_id, 0]] + rep[ij[train_id, 1]])
        pred_test = decoder(rep[ij[test_id, 0]] + rep[ij[test_id, 1]])
        loss = torch.mean((pred_train - y[target[train_id]]) ** 2)
        pred = torch.zeros(len(ij), y.shape[1])
        pred[train_id], pred[test_id] = pred_train.detach(), pred_test.detach()
        nearest = torch.cdist(pred, y).argmin(1) == target
        scaled = rep.detach() / rep.detach().std(dim=0)
        good = 0
        for (i, j), (m, n) in quads:  # the seed's per-step Python loop
            d = scaled[i] + scaled[j] - scaled[m] - scaled[n]
            good += bool(torch.mean(d**2) < rqi_eps)
        loss.backward()
        opt_rep.step()
        opt_dec.step()
        out["loss"].append(loss.item())
        out["train_acc"].append(nearest[train_id].float().mean().item())
        out["test_acc"].append(nearest[test_id].float().mean().item())
        out["rqi"].append(good / len(quads))
    result = {k: np.array(v) for k, v in out.items()}
    result["rep"] = rep.detach().numpy()[:, 0]
    result["W2"] = decoder.l2.weight.detach().numpy()
    return result
