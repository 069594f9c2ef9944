"""Superposition study: the interactive page, the seed's `plot_weights_interactive` and
`visualize_matrices_with_slider` over the seed-42 run and every seed of the ensemble."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explorer import Page, colorbar, frame_indices, frames_within
from ..history import History

SEEDS = 32  # ensemble seeds in the dropdown (full.yaml trains 256: each seed costs frames)
LOSS_POINTS = 500  # points of each seed's loss curve


def _runs(main: str, ensemble: str) -> list[tuple[str, np.ndarray, dict[str, np.ndarray]]]:
    """(label, snapshot steps, arrays) of the seed-42 run and of each ensemble member."""
    out = []
    for path, kind in ((main, "main run"), (ensemble, "ensemble")):
        with History(path) as h:
            steps, seeds = h.steps("params"), h.seed
            w_e, w_u = h.read("params", "W_E"), h.read("params", "W_U")
            loss_steps, loss = h.steps("metrics"), h.read("metrics", "loss")
        for k, seed in enumerate(seeds[:SEEDS]):
            arrays = {"W_E": w_e[:, k], "W_U": w_u[:, k], "loss_step": loss_steps}
            out.append((f"seed {seed} ({kind})", steps, {**arrays, "loss": loss[:, k]}))
    return out


def page(main: str, ensemble: str, out: str) -> None:
    """The seed's two views over the stored epochs, one slider: W_E's columns and W_U's rows as
    2-D points labelled by feature (the seed's markers and text, axes fixed at ±1.1 the largest
    weight of any epoch), W_U·W_E and ReLU(W_U·W_E) (magma, each on one colour scale over all
    epochs: the seed's `const_colorbar`), and the loss with a marker at the slider's epoch; a
    dropdown over the seed-42 run and the ensemble's seeds (its first `SEEDS`)."""
    runs = _runs(main, ensemble)
    steps = runs[0][1]
    for label, other, _ in runs:
        if not np.array_equal(other, steps):
            raise ValueError(f"{label}: snapshot epochs differ from the main run's")
    features = runs[0][2]["W_E"].shape[-1]
    idx = frame_indices(len(steps), frames_within(len(runs) * 4 * features))
    fig = make_subplots(
        rows=2,
        cols=3,
        specs=[[{}, {}, {"rowspan": 2}], [{}, {}, None]],
        column_widths=[0.32, 0.32, 0.36],
        horizontal_spacing=0.1,
        vertical_spacing=0.12,
        subplot_titles=(
            "embedding.weight: W_E columns",
            "unembedding.weight: W_U rows",
            "training loss",
            "W_U·W_E",
            "ReLU(W_U·W_E)",
        ),
    )
    p = Page(
        fig,
        steps[idx],
        "Superposition: the seed's interactive views",
        "epoch",
        views=[label for label, _, _ in runs],
    )
    labels = [str(i) for i in range(features)]
    # the seed's points: plotly's first colour, feature numbers above (one figure per matrix)
    points = dict(
        mode="markers+text",
        text=labels,
        textposition="top center",
        marker={"size": 8, "color": "#636efa"},
    )
    t_e = p.add(go.Scatter(name="W_E columns", **points), 1, 1)
    t_u = p.add(go.Scatter(name="W_U rows", **points), 1, 2)
    heat = {"colorscale": "magma", "hovertemplate": "output %{y}, input %{x}: %{z}"}
    t_m = p.add(go.Heatmap(name="W_U·W_E", colorbar=colorbar(fig, 2, 1), **heat), 2, 1)
    t_r = p.add(go.Heatmap(name="ReLU(W_U·W_E)", colorbar=colorbar(fig, 2, 2), **heat), 2, 2)
    for v, (_, _, a) in enumerate(runs):
        w_e = a["W_E"][idx]  # (F, hidden, f)
        w_ut = np.ascontiguousarray(a["W_U"][idx].transpose(0, 2, 1))  # (F, hidden, f)
        p.bind(t_e, "x", w_e, index=0, view=v)
        p.bind(t_e, "y", w_e, index=1, view=v)
        p.bind(t_u, "x", w_ut, index=0, view=v)
        p.bind(t_u, "y", w_ut, index=1, view=v)
        p.bind(t_m, "z", w_ut, times=w_e, view=v)  # (W_Uᵀ)ᵀ·W_E = W_U·W_E
        p.bind(t_r, "z", w_ut, times=w_e, relu=True, view=v)
        products = a["W_U"] @ a["W_E"]  # every stored epoch: the colour scales
        p.on_view(v, t_m, zmin=float(products.min()), zmax=float(products.max()))
        relu = np.maximum(products, 0)
        p.on_view(v, t_r, zmin=float(relu.min()), zmax=float(relu.max()))
        for axis, w in (("", a["W_E"]), ("2", a["W_U"])):
            limit = 1.1 * float(np.abs(w).max())
            p.on_view(v, **{f"xaxis{axis}_range": [-limit, limit]})
            p.on_view(v, **{f"yaxis{axis}_range": [-limit, limit]})
        p.curve(a["loss_step"], a["loss"], 1, 3, "loss", v, points=LOSS_POINTS, color="#636efa")
    for col in (1, 2):
        fig.update_xaxes(title_text="X Value", row=1, col=col)
        fig.update_yaxes(title_text="Y Value", row=1, col=col)
        fig.update_xaxes(title_text="input feature", row=2, col=col)
        fig.update_yaxes(title_text="output feature", autorange="reversed", row=2, col=col)
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_xaxes(title_text="epoch", row=1, col=3)
    fig.update_yaxes(title_text="MSE loss", type="log", row=1, col=3)
    fig.update_layout(showlegend=False)
    p.write(out)
