"""The explorer pages (learning_dynamics.explorer): the five study pages and `view`, built by the
workflow at small budgets and opened in a real browser, Debian's Chromium driven by Playwright.

Each page is loaded, must log no console error and draw its plot; the slider is dragged with the
mouse to its last frame, and the numbers the page then shows are compared with the last snapshot
read from the history with h5py. Where Chromium or Playwright is missing these tests skip,
saying why, except in CI (CI=true), where they fail. Draw times are printed, not asserted."""

from __future__ import annotations

import importlib.util
import os
import shutil

import h5py
import numpy as np
import pytest
from conftest import ROOT, run_cli, snakemake

from learning_dynamics import explorer
from learning_dynamics.browser import (
    CHROMIUM,
    choose_view,
    chromium,
    drag_slider_to_end,
    load,
    slider_label,
    trace,
)

QUICK = str(ROOT / "config" / "quick.yaml")
PAGES = [
    "superposition_explorer",
    "linear_explorer",
    "grokking_explorer",
    "makemore_explorer",
    "memorization_explorer",
]
# quick.yaml's budgets cut further: every history of the pages in a few CPU seconds
TINY = """
superposition: {epochs: 600, snapshot_every: 50, ensemble: {first_seed: 0, count: 3},
                figure_epochs: [0, 600]}
linear: {steps: 3000, snapshot_every: 500}
grokking: {steps: 400, snapshot_every: 50}
makemore: {history_every: 50, deep: {steps: 200}}
memorization: {snapshot_every: 20, dynamics: {steps: 100, extra_seeds: []}}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A workflow directory with the five pages (and their histories) built at TINY budgets."""
    workdir = tmp_path_factory.mktemp("explorer")
    (workdir / "tiny.yaml").write_text(TINY)
    snakemake(workdir, *PAGES, "--cores", "2", "--configfile", QUICK, str(workdir / "tiny.yaml"))
    return workdir / "results"


@pytest.fixture(scope="module")
def browser():
    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    elif not os.path.isfile(CHROMIUM):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    with chromium() as b:
        yield b


def opened_at_end(browser, path):
    """Load page `path`, check it draws without console errors, drag its slider to the end."""
    assert path.stat().st_size <= explorer.MAX_BYTES
    page, errors = load(browser, path)
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, drawn in", end=" ")
    print(f"{page.evaluate('explorer.drawnMs'):.0f} ms")
    drawn = "document.querySelectorAll('#ld-plot .main-svg g.trace, #ld-plot .hm image').length"
    assert page.evaluate(drawn) > 0
    drag_slider_to_end(page)
    layout = page.evaluate("document.getElementById('ld-plot').layout.sliders[0]")
    assert layout["active"] == page.evaluate("explorer.frames") - 1
    assert errors == [], errors
    return page, errors, layout["steps"][-1]["label"]


def close(a, b, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(np.asarray(a, dtype=float), b, rtol=rtol, atol=atol)


def test_superposition_page_shows_the_last_snapshot_of_every_seed(built, browser):
    page, errors, last = opened_at_end(browser, built / "figures" / "superposition_explorer.html")
    with h5py.File(built / "superposition" / "main" / "history.h5") as f:
        assert last == str(f["params/step"][-1]) and slider_label(page).endswith(last)
        w_e, w_u = f["params/W_E"][-1, 0], f["params/W_U"][-1, 0]  # (2, 50), (50, 2)
    columns, rows = trace(page, "W_E columns"), trace(page, "W_U rows")
    close(columns["x"], w_e[0])
    close(columns["y"], w_e[1])
    close(rows["x"], w_u[:, 0])
    close(rows["y"], w_u[:, 1])
    product = w_u.astype(float) @ w_e
    close(trace(page, "W_U·W_E")["z"], product, rtol=1e-5, atol=1e-6)
    close(trace(page, "ReLU(W_U·W_E)")["z"], np.maximum(product, 0), rtol=1e-5, atol=1e-6)
    choose_view(page, "seed 2 (ensemble)")  # the dropdown: the same views for another seed
    with h5py.File(built / "superposition" / "ensemble" / "history.h5") as f:
        assert list(f.attrs["seed"]) == [0, 1, 2]
        w_e = f["params/W_E"][-1, 2]
    close(trace(page, "W_E columns")["x"], w_e[0])
    assert errors == []


def test_linear_page_shows_the_map_and_modes_of_the_last_step(built, browser):
    page, errors, last = opened_at_end(browser, built / "figures" / "linear_explorer.html")
    with h5py.File(built / "linear" / "main" / "history.h5") as f:
        assert last == str(f["params/step"][-1])
        u = f["params/a"][-1, 0] * f["params/b"][-1, 0]  # synaptic basis: u = a·b
    with h5py.File(built / "linear" / "main" / "extract.h5") as f:
        s, final_map = f["s"][()], f["map"][-1]
    close(trace(page, "u/s, GD at the step")["y"], u / s, rtol=1e-5)
    close(trace(page, "W₂W₁ at the step")["y"], final_map.ravel(), rtol=1e-5, atol=1e-9)
    # play starts again from the first step and moves the slider; pause stops it there
    page.locator(".updatemenu-button", has_text="play").first.click()
    page.wait_for_function("explorer.state.frame >= 2")
    page.locator(".updatemenu-button", has_text="pause").first.click()
    page.wait_for_function("explorer.state.drawing === null")
    frame = page.evaluate("explorer.state.frame")
    page.wait_for_timeout(500)
    assert page.evaluate("explorer.state.frame") == frame < page.evaluate("explorer.frames") - 1
    assert page.evaluate("document.getElementById('ld-plot').layout.sliders[0].active") == frame
    assert errors == []


def test_grokking_page_shows_the_last_representation(built, browser):
    page, errors, last = opened_at_end(browser, built / "figures" / "grokking_explorer.html")
    with h5py.File(built / "grokking" / "default" / "job0" / "history.h5") as f:
        assert last == str(f["params/step"][-1])
        rep = f["params/rep"][-1, 0]
    close(trace(page, "E_i")["x"], rep)
    with h5py.File(built / "grokking" / "default" / "job0" / "data.h5") as f:
        pairs, train = f["pairs"][()], f["mask"][0]
    scaled = rep / rep.std(ddof=1)  # as RQI scales it
    i, j = pairs[train].T  # the seed's 45 training pairs: E_i + E_j of each
    close(trace(page, "training pairs")["y"], scaled[i] + scaled[j], rtol=1e-5)
    assert errors == []


def test_makemore_page_shows_the_last_histograms(built, browser):
    page, errors, last = opened_at_end(browser, built / "figures" / "makemore_explorer.html")
    with h5py.File(built / "makemore" / "deepbn" / "history.h5") as f:
        assert last == str(f["params/step"][-1])
        counts = f["activations/hist"][-1].astype(float)  # (layers, bins) over [-1, 1]
    density = counts / counts.sum(1, keepdims=True) / (2 / counts.shape[1])
    for layer in range(len(counts)):  # the BatchNorm run's panel comes first
        close(trace(page, f"layer {layer + 1}")["y"], density[layer], rtol=1e-5)
    assert errors == []


def test_memorization_page_shows_the_last_attention_maps(built, browser):
    import torch

    from learning_dynamics.memorization import interp
    from learning_dynamics.memorization.laws import prior
    from learning_dynamics.memorization.model import Arch, skip_coefficients
    from learning_dynamics.memorization.train import read_laws

    page, errors, last = opened_at_end(browser, built / "figures" / "memorization_explorer.html")
    job = built / "memorization" / "dynamics"
    with h5py.File(job / "history.h5") as f:
        assert last == str(f["params_g0/step"][-1])
        params = {n: torch.from_numpy(f[f"params_g0/{n}"][-1:, 0]) for n in ("E", "P", "QKV")}
    import json

    with h5py.File(job / "history.h5") as f:
        member = json.loads(f.attrs["config"])["members"][0]
    arch = Arch.of(member)
    keep = skip_coefficients([member["skips"]], torch.device("cpu"))
    maps = interp.attention_maps(params, arch, keep)[0].numpy()  # (H, N, N)
    support = prior(read_laws(str(job / "data.h5"))[0][0]).numpy() > 0
    rows, cols = np.flatnonzero(support.any(1)), np.flatnonzero(support.any(0))
    for head in range(arch.n_heads):
        close(trace(page, f"head {head}")["z"], maps[head][np.ix_(rows, cols)], rtol=1e-5)
    assert errors == []


def test_view_draws_any_history(built, browser, tmp_path):
    history = built / "superposition" / "main" / "history.h5"
    out = tmp_path / "main.html"
    assert "wrote" in run_cli("view", str(history), "--out", str(out)).stdout
    page, errors, last = opened_at_end(browser, out)
    with h5py.File(history) as f:
        assert last == str(f["params/step"][-1])
        w_e, loss = f["params/W_E"][-1, 0], f["metrics/loss"][:, 0]
    close(trace(page, "matrix")["z"], w_e)  # params/W_E, the first dataset: (2, 50)
    close(trace(page, "loss at the slider's step")["y"], [loss[-1]])
    choose_view(page, "params/W_U")
    close(trace(page, "matrix")["z"], f_read(history, "params/W_U")[-1, 0])
    assert errors == []


def f_read(path, name):
    with h5py.File(path) as f:
        return f[name][()]


# ---- `view` refuses what is not a complete, undamaged history, naming the file --------------


def test_view_refuses_what_is_not_a_history(built, tmp_path):
    missing = tmp_path / "nothing.h5"
    assert f"{missing} does not exist" in run_cli("view", str(missing), check=False).stderr
    text = tmp_path / "notes.h5"
    text.write_text("not HDF5")
    refused = run_cli("view", str(text), check=False)
    assert refused.returncode != 0 and f"{text} is not an HDF5 file" in refused.stderr
    assert text.exists()  # a file that is not ours is never moved aside
    extract = built / "linear" / "main" / "extract.h5"
    refused = run_cli("view", str(extract), "--out", str(tmp_path / "x.html"), check=False)
    assert f"{extract} is not a history" in refused.stderr


def test_view_refuses_an_incomplete_or_damaged_history(built, tmp_path):
    incomplete = tmp_path / "incomplete.h5"
    shutil.copy(built / "grokking" / "default" / "job0" / "history.h5", incomplete)
    with h5py.File(incomplete, "r+") as f:
        f.attrs["complete"] = False
    refused = run_cli("view", str(incomplete), check=False)
    assert refused.returncode != 0 and f"{incomplete} is incomplete" in refused.stderr
    damaged = tmp_path / "damaged.h5"
    shutil.copy(built / "grokking" / "default" / "job0" / "history.h5", damaged)
    data = bytearray(damaged.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(4096)  # zeros over compressed rows and/or metadata
    damaged.write_bytes(bytes(data))
    refused = run_cli("view", str(damaged), check=False)
    assert refused.returncode != 0 and f"{damaged} is damaged or truncated" in refused.stderr
    assert not (tmp_path / "damaged.html").exists()


# ---- the page machinery ---------------------------------------------------------------------


def test_frames_are_bounded_and_keep_the_first_and_last_snapshot():
    idx = explorer.frame_indices(1001)
    assert len(idx) == explorer.MAX_FRAMES and idx[0] == 0 and idx[-1] == 1000
    assert list(explorer.frame_indices(5)) == [0, 1, 2, 3, 4]
    assert explorer.frames_within(explorer.VALUES // 10) == 10
    assert explorer.frames_within(10**9) == 2
    steps = np.array([0, 10, 20])
    assert list(explorer.rows_at(steps, np.array([0, 5, 10, 25]))) == [0, 0, 1, 2]
    log = explorer.thin(100_000, 100, log=True)  # dense early, sparse late: a log step axis
    assert list(log[:5]) == [0, 1, 2, 3, 4] and log[-1] == 99_999 and len(log) <= 102
    assert 0.85 < log[-2] / log[-1] < 0.95
    # view: small datasets keep every step, a large one what the budget leaves (at least the last)
    assert explorer._frames_each([0, 10, 10**4, 10**9], 200, budget=10**6) == [200, 200, 99, 1]
    assert list(explorer.frame_indices(50, 1)) == [49]  # one frame: the last snapshot
    # many large datasets (a memorization capacity job: 12 shapes of 6 parameters) stay within
    # the budget by keeping only their last step, where two frames each would not fit
    sizes = [20000, 8000, 1000, 500, 500, 300] * 12
    kept = explorer._frames_each(sizes, 9)
    assert sum(k * n for k, n in zip(kept, sizes, strict=True)) <= explorer.VALUES
    assert 2 * sum(sizes) > explorer.VALUES


def test_a_binding_needs_one_row_per_frame_and_a_page_stays_small(tmp_path, monkeypatch):
    import plotly.graph_objects as go

    page = explorer.Page(go.Figure(), np.arange(3), "t")
    t = page.add(go.Scatter())
    with pytest.raises(ValueError, match="2 rows for 3 frames"):
        page.bind(t, "y", np.zeros((2, 4)))
    page.bind(t, "y", np.zeros((3, 4)))
    monkeypatch.setattr(explorer, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="over 0 MB"):
        page.write(tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()
