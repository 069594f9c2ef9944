"""Linear study: the interactive page. The network map W₂W₁ against the teacher, and each mode's
strength against the exact solution, at the slider's step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explorer import MAX_FRAMES, Page, thin
from ..io import read_arrays
from .theory import exact_trajectory


def page(extract: str, out: str) -> None:
    """A slider over the steps (spaced evenly in log(1 + step): the modes are learnt stage by
    stage on a log time axis): the entries of W₂W₁ (original basis) with the teacher β; each
    mode's strength u = a·b with the exact closed form u(t), both as fractions of the target s;
    the trajectories u(t)/s (GD and exact); the training loss and test risk, with markers at
    the slider's step."""
    x = read_arrays(extract)
    steps, maps, u = x["step"], x["map"], x["u"]
    idx = thin(len(steps), MAX_FRAMES, log=True)
    frame_steps = steps[idx].astype(np.float64)
    modes = len(x["s"])
    u0, c = x["a0"] * x["b0"], x["a0"] ** 2 - x["b0"] ** 2
    exact = np.stack(
        [
            exact_trajectory(
                frame_steps, s=x["s"][i], lam=x["lam"][i], lr=float(x["lr"]), u0=u0[i], c=c[i]
            )
            for i in range(modes)
        ],
        axis=1,
    )  # (F, modes)

    fig = make_subplots(
        rows=2,
        cols=2,
        horizontal_spacing=0.1,
        vertical_spacing=0.16,
        subplot_titles=(
            "network map W₂W₁ against the teacher",
            "mode strengths u = a·b against the exact solution (u/s; 1: learnt)",
            "mode strengths over training (u/s)",
            "training loss and test risk (summed squared errors)",
        ),
    )
    p = Page(fig, steps[idx], "Linear network: stage-wise learning of singular modes")
    d_out, d_in = maps.shape[1:]
    entries = [f"W[{i + 1},{j + 1}]" for i in range(d_out) for j in range(d_in)]
    t_map = p.add(go.Bar(x=entries, name="W₂W₁ at the step", marker_color="#636efa"), 1, 1)
    p.bind(t_map, "y", maps[idx].reshape(len(idx), -1))
    teacher = {"symbol": "x", "size": 16, "line": {"width": 2}, "color": "black"}
    p.add(
        go.Scatter(
            x=entries, y=x["beta"].ravel(), mode="markers", name="teacher β", marker=teacher
        ),
        1,
        1,
    )
    # strengths as fractions of their targets: the modes' s differ by orders of magnitude
    s = x["s"]
    names = [f"mode {i + 1} (s = {s[i]:.4g})" for i in range(modes)]
    t_u = p.add(go.Bar(x=names, name="u/s, GD at the step", marker_color="#00cc96"), 1, 2)
    p.bind(t_u, "y", u[idx] / s)
    t_e = p.add(
        go.Scatter(
            x=names,
            mode="markers",
            name="u/s, exact at the step",
            marker={"symbol": "diamond", "size": 12, "color": "crimson"},
        ),
        1,
        2,
    )
    p.bind(t_e, "y", exact / s)
    t = steps[thin(len(steps), log=True)].astype(np.float64)
    for i in range(modes):
        p.curve(steps, u[:, i] / s[i], 2, 1, name=f"mode {i + 1}: GD", log=True, width=4)
        theory = exact_trajectory(t, s=s[i], lam=x["lam"][i], lr=float(x["lr"]), u0=u0[i], c=c[i])
        p.add(
            go.Scatter(
                x=t,
                y=theory / s[i],
                mode="lines",
                name=f"mode {i + 1}: exact",
                line={"color": "black", "width": 1, "dash": "dot"},
            ),
            2,
            1,
        )
    p.curve(steps, x["loss"], 2, 2, name="training loss (50 samples)", log=True)
    p.curve(steps, x["risk"], 2, 2, name="test risk (5000 samples)", log=True)
    fig.update_xaxes(type="log", title_text="iteration", row=2)
    fig.update_yaxes(title_text="u / s", row=2, col=1)
    fig.update_yaxes(type="log", title_text="summed squared error", row=2, col=2)
    fig.update_yaxes(title_text="value", row=1)
    fig.update_layout(barmode="group", legend={"font": {"size": 10}})
    p.write(out)
