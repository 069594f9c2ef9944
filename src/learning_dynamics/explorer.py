"""Interactive pages: one self-contained HTML page (plotly, the seed's library) per history, with a
slider over its stored steps, and `python -m learning_dynamics view <history.h5>` for any history.

Every page has a slider over at most `MAX_FRAMES` stored steps (play/pause, the step shown),
hover values, the loss curve with a marker at the slider's step, and optionally a dropdown over
*views* (an ensemble's seeds; a history's datasets). plotly.js is inlined, so a page opens offline.

How a page works: a plotly figure (traces, axes, slider, buttons) plus *bindings*, each
`trace attribute <- row k of an array`, k the slider's frame. The arrays travel once, as float32
in base64, and a few lines of JavaScript (`SCRIPT`) put frame k's rows into the traces
(`Plotly.react`) when the slider, the play button or the dropdown moves. A binding can also
multiply two arrays (Aᵀ·B, then optionally ReLU), so a page can show W_U·W_E for every seed of
an ensemble from its two factors instead of carrying 2,500 numbers per seed and frame. The data
of a page is bounded (`DATA_BYTES`): pages with many views get fewer frames (`frames_within`).
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from .history import History
from .io import DamagedFileError, IncompleteHistoryError, atomic_path

MAX_FRAMES = 200  # slider positions of a page, at most
CURVE_POINTS = 1500  # points of a curve over all steps (every k-th step, and the last)
DATA_BYTES = 2_500_000  # bound on the frame data of a page (base64); plotly.js adds 4.8 MB
MAX_BYTES = 8_000_000  # a page larger than this is refused (it would open slowly)
VALUES = DATA_BYTES * 3 // 16  # float32 values within DATA_BYTES (4 bytes, base64 4/3)


def frame_indices(n: int, frames: int = MAX_FRAMES) -> np.ndarray:
    """At most `frames` indices into `n` stored rows, evenly spaced, first and last included
    (one frame: the last row)."""
    if frames <= 1:
        return np.array([n - 1])
    return np.unique(np.linspace(0, n - 1, min(n, frames)).round().astype(int))


def frames_within(values_per_frame: int, budget: int = VALUES) -> int:
    """How many frames of `values_per_frame` numbers fit the page's data budget (2..MAX_FRAMES)."""
    return int(np.clip(budget // max(1, values_per_frame), 2, MAX_FRAMES))


def rows_at(steps: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of the last row at or before each wanted step (the first row for earlier steps)."""
    idx = np.searchsorted(np.asarray(steps), np.asarray(wanted), side="right") - 1
    return np.clip(idx, 0, len(steps) - 1)


def thin(n: int, points: int = CURVE_POINTS, log: bool = False) -> np.ndarray:
    """Indices of at most ~`points` of `n` rows, the first and the last included: every k-th
    row, or (`log`) rows evenly spaced in log(1 + index), for a log step axis."""
    if log:
        idx = np.geomspace(1, n, points).astype(int) - 1
    else:
        idx = np.arange(0, n, max(1, math.ceil(n / points)))
    return np.unique(np.concatenate([[0], idx, [n - 1]]))


def colorbar(fig: go.Figure, row: int, col: int) -> dict[str, float]:
    """A heatmap colour bar just right of subplot (row, col), as tall as it."""
    sub = fig.get_subplot(row, col)
    (_, x1), (y0, y1) = sub.xaxis.domain, sub.yaxis.domain
    return {"x": x1 + 0.005, "xanchor": "left", "y": (y0 + y1) / 2, "len": y1 - y0, "thickness": 12}


class Page:
    """A plotly figure whose traces follow a slider over `steps` (and a dropdown over `views`).

    Build the figure (e.g. with `make_subplots`), add traces with `add`, tie their attributes to
    frames with `bind` (or `curve` for a curve with its marker at the slider's step), then
    `write`. `views` are the dropdown's labels (none: no dropdown)."""

    def __init__(
        self,
        fig: go.Figure,
        steps: np.ndarray,
        title: str,
        step_label: str = "step",
        views: list[str] | None = None,
    ) -> None:
        self.fig, self.title, self.step_label = fig, title, step_label
        # the page fills the window (at least 780 px high); room for the title and controls
        fig.update_layout(template="plotly_white", margin={"t": 100, "b": 120, "l": 70, "r": 30})
        self.steps = np.asarray(steps, dtype=np.int64)
        self.views = list(views or [])
        self.arrays: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}  # id(array) -> name: an array bound twice travels once
        self._kept: list[np.ndarray] = []
        self.binds: list[dict[str, Any]] = []
        self.view_traces: list[dict[int, dict[str, Any]]] = [{} for _ in self.views]
        self.view_layout: list[dict[str, Any]] = [{} for _ in self.views]
        self._curves: dict[tuple, tuple[int, int]] = {}  # (row, col, name) -> its two traces
        # (id(steps), log, points) -> (steps, thinned steps, frame steps): views share them
        self._xs: dict[tuple, tuple] = {}

    @property
    def frames(self) -> int:
        return len(self.steps)

    def add(self, trace: go.BaseTraceType, row: int | None = None, col: int | None = None) -> int:
        """Add `trace` (to subplot row, col); returns its index for `bind`."""
        self.fig.add_trace(trace, row=row, col=col)
        return len(self.fig.data) - 1

    def _array(self, values: np.ndarray) -> str:
        key = id(values)
        if key not in self._names:
            name = f"a{len(self.arrays)}"
            self.arrays[name] = np.ascontiguousarray(values, dtype=np.float32)
            self._names[key] = name
            self._kept.append(values)  # alive, so its id is never reused for another array
        return self._names[key]

    def bind(
        self,
        trace: int,
        attr: str,
        values: np.ndarray,
        *,
        view: int | None = None,
        fixed: bool = False,
        index: int | None = None,
        times: np.ndarray | None = None,
        relu: bool = False,
        rows: np.ndarray | None = None,
    ) -> None:
        """Trace `trace`'s attribute `attr` (x, y, z, ...) shows `values[k]` at frame k.

        `values` has one row per frame (`fixed`: one value for every frame; `rows`: frame k shows
        row `rows[k]`, for data kept at fewer frames); `index` picks `values[k][index]`; `times`
        (rows like `values`) makes it `values[k]ᵀ · times[k]`, and `relu` takes max(0, ·) of
        that. `view`: only while that dropdown entry is chosen."""
        values = np.asarray(values)
        wanted = self.frames if rows is None else int(np.max(rows)) + 1
        if rows is not None and len(rows) != self.frames:
            raise ValueError(f"{attr} of trace {trace}: a row map of {len(rows)} frames")
        if not fixed and len(values) != wanted:
            raise ValueError(f"{attr} of trace {trace}: {len(values)} rows for {wanted} frames")
        self.binds.append(
            {
                "trace": trace,
                "attr": attr,
                "array": self._array(values),
                "fixed": fixed,
                "index": index,
                "times": None if times is None else self._array(times),
                "relu": relu,
                "view": view,
                "rows": None if rows is None else [int(r) for r in rows],
            }
        )

    def on_view(self, view: int, trace: int | None = None, **attrs: Any) -> None:
        """When dropdown entry `view` is chosen: set trace `trace`'s `attrs` (e.g. visible,
        zmin), or with no trace the layout's (e.g. `xaxis_range`, as plotly's update_layout)."""
        target = self.view_layout[view] if trace is None else self.view_traces[view]
        if trace is None:
            target.update({k.replace("_", "."): v for k, v in attrs.items()})
        else:
            target.setdefault(trace, {}).update(attrs)

    def curve(
        self,
        steps: np.ndarray,
        values: np.ndarray,
        row: int | None = None,
        col: int | None = None,
        name: str = "loss",
        view: int | None = None,
        log: bool = False,
        points: int = CURVE_POINTS,
        **line: Any,
    ) -> tuple[int, int]:
        """A curve over all `steps` (thinned to `points`, evenly in log(1 + step) with `log`)
        and a marker at the slider's step (the last recorded value at or before it).
        With `view`, one curve per view: call once per view with the same row, col and name;
        the traces are shared. Returns the indices of the two traces."""
        idx = thin(len(steps), points, log=log)
        key = (row, col, name)
        made = self._curves
        if key not in made:
            c = self.add(go.Scatter(name=name, mode="lines", line=line or None), row, col)
            m = self.add(
                go.Scatter(
                    name=f"{name} at the slider's step",
                    mode="markers",
                    marker={"size": 11, "color": "crimson", "symbol": "circle-open-dot"},
                    showlegend=False,
                ),
                row,
                col,
            )
            made[key] = (c, m)
        c, m = made[key]
        # the x arrays are kept (by the steps' identity), so views sharing steps share them
        shared = (id(steps), log, points)
        xs = self._xs.setdefault(shared, (steps, steps[idx], self.steps[:, None]))
        self.bind(c, "x", xs[1], fixed=True, view=view)
        self.bind(c, "y", np.asarray(values)[idx], fixed=True, view=view)
        self.bind(m, "x", xs[2], view=view)
        self.bind(m, "y", np.asarray(values)[rows_at(steps, self.steps)][:, None], view=view)
        return c, m

    def _controls(self) -> None:
        """The slider (one position per frame, its step shown), play/pause and the dropdown."""
        self.fig.update_layout(
            sliders=[
                {
                    "active": 0,
                    "currentvalue": {"prefix": f"{self.step_label} "},
                    "pad": {"t": 40},
                    "len": 0.84,
                    "x": 0.16,
                    "steps": [
                        {"label": str(s), "method": "skip", "args": [None]} for s in self.steps
                    ],
                }
            ],
            updatemenus=[
                {
                    "type": "buttons",
                    "direction": "left",
                    "x": 0.0,
                    "y": 0.0,
                    "xanchor": "left",
                    "yanchor": "top",
                    "pad": {"t": 60},
                    "showactive": False,
                    "buttons": [
                        {"label": "▶ play", "method": "skip", "args": ["play"]},
                        {"label": "❚❚ pause", "method": "skip", "args": ["pause"]},
                    ],
                },
                *(
                    [
                        {
                            "type": "dropdown",
                            "x": 0.0,
                            "y": 1.0,
                            "xanchor": "left",
                            "yanchor": "bottom",
                            "pad": {"b": 34},
                            "active": 0,
                            "buttons": [
                                {"label": label, "method": "skip", "args": ["view", v]}
                                for v, label in enumerate(self.views)
                            ],
                        }
                    ]
                    if self.views
                    else []
                ),
            ],
        )

    def html(self) -> str:
        """The page: plotly.js, the figure, the frame data and `SCRIPT`, in one file."""
        self._controls()
        self.fig.update_layout(title={"text": self.title, "x": 0.5, "y": 0.99, "yanchor": "top"})
        if self.views:
            self.fig.plotly_relayout(self.view_layout[0])  # the page opens on view 0
        payload = {
            "frames": self.frames,
            "arrays": {
                name: {
                    "shape": list(a.shape),
                    "b64": base64.b64encode(a.astype("<f4").tobytes()).decode(),
                }
                for name, a in self.arrays.items()
            },
            "binds": self.binds,
            "viewTraces": [{str(t): a for t, a in v.items()} for v in self.view_traces],
            "viewLayout": self.view_layout,
        }
        figure = pio.to_json(self.fig, validate=True, remove_uids=True)
        return "".join(
            [
                '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
                f"<title>{_escape(self.title)}</title>\n",
                "<style>body{margin:0;font-family:sans-serif}#ld-plot{width:100vw;height:100vh;min-height:780px}"
                '</style>\n</head>\n<body>\n<div id="ld-plot"></div>\n<script>',
                get_plotlyjs(),
                '</script>\n<script type="application/json" id="ld-figure">',
                _script_safe(figure),
                '</script>\n<script type="application/json" id="ld-payload">',
                _script_safe(json.dumps(payload, separators=(",", ":"))),
                "</script>\n<script>",
                SCRIPT,
                "</script>\n</body>\n</html>\n",
            ]
        )

    def write(self, out: str | os.PathLike) -> int:
        """Write the page atomically; returns its size in bytes (refused over MAX_BYTES)."""
        text = self.html().encode()
        if len(text) > MAX_BYTES:
            raise ValueError(
                f"{out}: the page would be {len(text) / 1e6:.1f} MB, over {MAX_BYTES / 1e6:.0f} MB;"
                " give it fewer frames (for `view`: fewer datasets, --names)"
            )
        with atomic_path(out) as tmp:
            tmp.write_bytes(text)
        return len(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _script_safe(text: str) -> str:
    """JSON that cannot end its <script> element early."""
    return text.replace("</", "<\\/")


# The page's JavaScript: decodes the arrays, draws frame 0, and redraws on every move of the
# slider, the play button or the dropdown. `window.explorer` exposes the state (frame, view).
SCRIPT = r"""
(function () {
  const fig = JSON.parse(document.getElementById("ld-figure").textContent);
  const P = JSON.parse(document.getElementById("ld-payload").textContent);
  const gd = document.getElementById("ld-plot");
  const size = (shape) => shape.reduce((a, b) => a * b, 1);
  const arrays = {};
  for (const [name, a] of Object.entries(P.arrays)) {
    const text = atob(a.b64), bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    arrays[name] = { data: new Float32Array(bytes.buffer), shape: a.shape };
  }
  const row = (a, k) => {
    const n = size(a.shape.slice(1));
    return { data: a.data.subarray(k * n, (k + 1) * n), shape: a.shape.slice(1) };
  };
  function tmul(a, b) {  // aᵀ·b for a (r, n), b (r, m), in double precision
    const [r, n] = a.shape, m = b.shape[1], out = new Float64Array(n * m);
    for (let q = 0; q < r; q++)
      for (let i = 0; i < n; i++) {
        const x = a.data[q * n + i];
        for (let j = 0; j < m; j++) out[i * m + j] += x * b.data[q * m + j];
      }
    return { data: out, shape: [n, m] };
  }
  function plain(a) {  // what plotly takes: [v] for a scalar, a typed array, or rows of them
    if (a.shape.length === 0) return [a.data[0]];
    if (a.shape.length === 1) return a.data;
    return Array.from({ length: a.shape[0] }, (_, i) => plain(row(a, i)));
  }
  function value(b, frame) {
    const k = b.rows === null ? frame : b.rows[frame];
    let a = arrays[b.array];
    if (!b.fixed) a = row(a, k);
    if (b.index !== null) a = row(a, b.index);
    if (b.times !== null) a = tmul(a, row(arrays[b.times], k));
    if (b.relu) a = { data: a.data.map((v) => Math.max(v, 0)), shape: a.shape };
    return plain(a);
  }
  const state = { frame: 0, view: 0, timer: null, drawing: null };
  function traces(base) {
    const data = base.map((t) => Object.assign({}, t));
    for (const [t, attrs] of Object.entries(P.viewTraces[state.view] || {}))
      Object.assign(data[+t], attrs);
    for (const b of P.binds)
      if (b.view === null || b.view === state.view) data[b.trace][b.attr] = value(b, state.frame);
    return data;
  }
  function draw() {
    const slider = Object.assign({}, gd.layout.sliders[0], { active: state.frame });
    const layout = Object.assign({}, gd.layout, { sliders: [slider] });
    state.drawing = Plotly.react(gd, traces(gd.data), layout).then(() => (state.drawing = null));
    return state.drawing;
  }
  function go(frame) { state.frame = frame; return draw(); }
  function stop() { clearInterval(state.timer); state.timer = null; }
  function play() {
    if (state.timer) return;
    if (state.frame >= P.frames - 1) go(0);
    state.timer = setInterval(() => {
      if (state.drawing) return;  // still drawing the previous frame
      if (state.frame >= P.frames - 1) return stop();
      go(state.frame + 1);
    }, 120);
  }
  Plotly.newPlot(gd, traces(fig.data), fig.layout, { responsive: true, displaylogo: false })
    .then(() => {
      gd.on("plotly_sliderchange", (e) => {
        if (e.slider.active !== state.frame) go(e.slider.active);
      });
      gd.on("plotly_buttonclicked", (e) => {
        const [what, v] = e.button.args;
        if (what === "play") play();
        else if (what === "pause") stop();
        else if (what === "view") {
          state.view = v;
          state.drawing = Plotly.relayout(gd, P.viewLayout[v] || {}).then(draw);
        }
      });
      window.explorer = { state, go, frames: P.frames, drawnMs: performance.now() };
    });
})();
"""


# ---- `python -m learning_dynamics view <history.h5>`: a page for any history ------------------

ROW_VALUES = 20_000  # numbers of one dataset's row on the page, at most (larger ones are strided)


def _as_shown(rows: np.ndarray) -> tuple[np.ndarray, str]:
    """Rows (S, ...) as one frame draws them: () a value, (n,) a line, else a matrix (leading
    axes stacked as rows), strided to at most ROW_VALUES numbers; and a note of what was done."""
    rows = rows.reshape(rows.shape[0], *[n for n in rows.shape[1:] if n != 1])
    notes = []
    if rows.ndim > 3:
        notes.append(f"{' × '.join(map(str, rows.shape[1:]))} as rows × last axis")
        rows = rows.reshape(rows.shape[0], -1, rows.shape[-1])
    per_row = math.prod(rows.shape[1:])
    if rows.ndim == 3 and per_row > ROW_VALUES:
        every = math.ceil(math.sqrt(per_row / ROW_VALUES))
        rows = rows[:, ::every, ::every]
        notes.append(f"every {every}th row and column")
    elif rows.ndim == 2 and per_row > ROW_VALUES:
        every = math.ceil(per_row / ROW_VALUES)
        rows = rows[:, ::every]
        notes.append(f"every {every}th entry")
    return rows, "; ".join(notes)


def history_page(path: str | os.PathLike, names: list[str] | None = None) -> Page:
    """A page for any history: a dropdown over its datasets (every series' quantities, the
    parameters first; `names` keeps those whose `series/name` contains one of the strings), a
    heatmap for a matrix, a line for a vector, a curve for a value per step, the slider over the
    parameter snapshots, and the loss curve. Within the page's data budget a large dataset keeps
    fewer of the slider's steps (its label says how many; a frame then shows the last kept step
    at or before it, and the last step is always kept)."""
    path = Path(path)
    with History(path) as h:  # refuses an unfinished or damaged file, naming it
        if "format_version" not in h.attrs:
            raise ValueError(f"{path} is not a history (no format_version attribute)")
        series = sorted(h.series(), key=lambda s: (not s.startswith("params"), s))
        found = [(f"{s}/{n}", h.steps(s), s, n) for s in series for n in h.names(s)]
        wanted = [d for d in found if not names or any(n in d[0] for n in names)]
        if not wanted:
            raise ValueError(f"{path}: no dataset matches {names}")
        datasets = [(name, steps, *_as_shown(h.read(s, n))) for name, steps, s, n in wanted]
        metrics = h.names("metrics") if "metrics" in series else []
        loss = (h.steps("metrics"), h.read("metrics", "loss")) if "loss" in metrics else None
        study = str(h.attrs.get("study", "?"))
    snapshots = next((s for n, s, _, _ in datasets if n.startswith("params")), datasets[0][1])
    steps = snapshots[frame_indices(len(snapshots))]
    sizes = [math.prod(r.shape[1:]) if r.ndim > 1 else 0 for _, _, r, _ in datasets]
    kept = _frames_each(sizes, len(steps))
    for k, ((name, s, r, note), count) in enumerate(zip(datasets, kept, strict=True)):
        if count < len(steps):
            kept_text = "last step only" if count == 1 else f"{count} of {len(steps)} steps"
            note = f"{note}; {kept_text}" if note else kept_text
            datasets[k] = (name, s, r, note)

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.12,
        subplot_titles=("", "loss" if loss is not None else "no loss in this history"),
    )
    labels = [name + (f" ({note})" if note else "") for name, _, _, note in datasets]
    page = Page(fig, steps, f"{study} history {path.name}", views=labels)
    heat = page.add(
        go.Heatmap(name="matrix", colorscale="RdBu_r", colorbar=colorbar(fig, 1, 1)), 1, 1
    )
    line = page.add(go.Scatter(mode="lines+markers", name="value", showlegend=False), 1, 1)
    curve = marker = None
    for v, (name, series_steps, rows, _) in enumerate(datasets):
        sub = frame_indices(len(steps), kept[v])  # the frames this dataset keeps
        at = rows_at(series_steps, steps[sub])
        shown = rows_at(sub, np.arange(len(steps)))  # frame k: the last kept frame <= k
        if rows.ndim == 3:
            limit = float(np.abs(rows).max()) or 1.0  # one colour scale over all frames
            page.bind(heat, "z", rows[at], view=v, rows=shown)
            page.on_view(v, heat, zmin=-limit, zmax=limit)
            axes = ("column", "row", "reversed")
        elif rows.ndim == 2:
            page.bind(line, "x", np.arange(rows.shape[1]), fixed=True, view=v)
            page.bind(line, "y", rows[at], view=v, rows=shown)
            axes = ("index", name, True)
        else:  # one value per step: the whole curve and the slider's step on it
            curve, marker = page.curve(series_steps, rows, 1, 1, name="value", view=v)
            axes = ("step", name, True)
        page.on_view(v, xaxis_title_text=axes[0], yaxis_title_text=axes[1])
        page.on_view(v, yaxis_autorange=axes[2])
    for v, (_, _, rows, _) in enumerate(datasets):  # each view shows its own kind of trace
        page.on_view(v, heat, visible=rows.ndim == 3)
        page.on_view(v, line, visible=rows.ndim == 2)
        for t in (curve, marker):
            if t is not None:
                page.on_view(v, t, visible=rows.ndim == 1)
    if loss is not None:
        loss_steps, values = loss
        members = values.reshape(len(values), -1)
        for k in range(min(members.shape[1], 8)):
            label = "loss" if members.shape[1] == 1 else f"loss, member {k}"
            page.curve(loss_steps, members[:, k], 1, 2, name=label)
        fig.update_yaxes(type="log", row=1, col=2)
    fig.update_xaxes(title_text="step", row=1, col=2)
    return page


def _frames_each(sizes: list[int], frames: int, budget: int = VALUES) -> list[int]:
    """Frames each dataset keeps (1..frames) within `budget` numbers in all. Every dataset that
    fits the budget alone keeps its last step; what the budget leaves then buys more steps, the
    smallest datasets first, each at most an equal share of what is left. Size 0 (a curve):
    every frame; a dataset larger than the budget: its last step (the page is then refused)."""
    out = [frames if n == 0 else 1 for n in sizes]
    fit = sorted((i for i, n in enumerate(sizes) if 0 < n <= budget), key=lambda i: sizes[i])
    left = budget - sum(sizes[i] for i in fit)  # after one frame each
    for rank, i in enumerate(fit):
        share = max(left, 0) // (len(fit) - rank)
        out[i] = int(min(frames, 1 + share // sizes[i]))
        left -= (out[i] - 1) * sizes[i]
    return out


def view(history: Path, out: Path | None = None, names: list[str] | None = None) -> Path:
    """Write a page for any history (default: beside it, `.html` for `.h5`). Stops, naming the
    file, if it is not an HDF5 file, not a complete history, or damaged."""
    history = Path(history)
    if not history.is_file():
        raise SystemExit(f"view: {history} does not exist")
    if not h5py.is_hdf5(history):
        raise SystemExit(f"view: {history} is not an HDF5 file, so not a history")
    out = Path(out) if out else history.with_suffix(".html")
    try:
        page = history_page(history, names)
    except (ValueError, IncompleteHistoryError, DamagedFileError) as err:
        raise SystemExit(f"view: {err}") from err
    size = page.write(out)
    print(f"wrote {out}: {size / 1e6:.1f} MB, {page.frames} frames, {len(page.views)} datasets")
    return out


def view_command(argv: list[str]) -> None:
    """`python -m learning_dynamics view <history.h5> [--out page.html] [--names W_E loss]`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m learning_dynamics view",
        description="Write a self-contained HTML page exploring a history: a dropdown over its "
        "datasets, a slider over its snapshots, the loss curve.",
    )
    parser.add_argument("history", type=Path, help="a history.h5 the workflow wrote")
    parser.add_argument("--out", type=Path, help="the page (default: the history's name, .html)")
    parser.add_argument(
        "--names", nargs="+", help="keep the datasets whose series/name contains one of these"
    )
    args = parser.parse_args(argv)
    view(args.history, args.out, args.names)
