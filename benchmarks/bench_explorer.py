"""Explorer pages in headless Chromium: each page's size and draw time (from navigation to the
drawn plot, median of `--repeat` loads) against a reference page measured in the same run (plotly.js
and an empty plot: the least any self-contained plotly page costs), and with `--screenshots DIR`
a PNG of each page, its slider dragged to the last frame.

    python benchmarks/bench_explorer.py                        # results/figures/*_explorer.html
    python benchmarks/bench_explorer.py page.html --screenshots docs/explorer
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import plotly.graph_objects as go

from learning_dynamics.browser import chromium, drag_slider_to_end, load
from learning_dynamics.explorer import Page


def draw_ms(browser, path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        page, errors = load(browser, path)
        times.append(page.evaluate("explorer.drawnMs"))
        if errors:
            raise RuntimeError(f"{path}: console errors {errors}")
        page.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, help="write <page name>.png here")
    args = parser.parse_args()
    pages = args.pages or sorted(Path("results/figures").glob("*_explorer.html"))
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        reference = Path(tmp) / "reference.html"
        empty = Page(go.Figure(go.Scatter(x=[0], y=[0])), [0, 1], "reference")
        empty.write(reference)
        base = draw_ms(browser, reference, args.repeat)
        print(f"{'page':<32}{'MB':>7}{'frames':>8}{'drawn ms':>10}{'ratio':>7}")
        print(f"{'reference (plotly.js only)':<32}{reference.stat().st_size / 1e6:>7.2f}"
              f"{2:>8}{base:>10.0f}{1:>7.2f}")  # fmt: skip
        for path in pages:
            ms = draw_ms(browser, path, args.repeat)
            page, _ = load(browser, path)
            frames = page.evaluate("explorer.frames")
            if args.screenshots:
                drag_slider_to_end(page)
                args.screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=args.screenshots / f"{path.stem}.png")
            page.close()
            size = path.stat().st_size / 1e6
            print(f"{path.name:<32}{size:>7.2f}{frames:>8}{ms:>10.0f}{ms / base:>7.2f}")


if __name__ == "__main__":
    main()
