"""Headless Chromium for the explorer pages (tests, screenshots, draw times): Debian's browser
(`apt-get install chromium`, /usr/bin/chromium; `LD_CHROMIUM` names another) driven by
Playwright, which downloads no browser of its own here. Needs the `dev` extras (playwright).

    with chromium() as browser:
        page, errors = load(browser, "results/figures/superposition_explorer.html")
        drag_slider_to_end(page)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("LD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's Browser), closed on exit."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        raise FileNotFoundError(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def load(browser: Any, path: str | os.PathLike, timeout_ms: float = 60_000) -> tuple[Any, list]:
    """Open a page file and wait until its plot is drawn; returns (page, console errors so
    far, a list that keeps growing while the page lives). `page.evaluate("explorer.drawnMs")`
    is the time from navigation to the drawn plot, in ms."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("window.explorer !== undefined", timeout=timeout_ms)
    return page, errors


def drag_slider_to_end(page: Any) -> None:
    """Drag the slider's grip with the mouse past the rail's right end (the last frame), and
    wait until that frame is drawn."""
    grip = page.locator(".slider-grip-rect").first.bounding_box()
    rail = page.locator(".slider-rail-rect").first.bounding_box()
    y = grip["y"] + grip["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(rail["x"] + rail["width"] + 30, y, steps=12)
    page.mouse.up()
    page.wait_for_function(
        "explorer.state.frame === explorer.frames - 1 && explorer.state.drawing === null"
    )


def trace(page: Any, name: str, nth: int = 0) -> dict[str, Any]:
    """What the page's `nth` trace named `name` holds now (typed arrays as lists)."""
    return page.evaluate(
        """([name, nth]) => {
          const traces = document.getElementById("ld-plot").data.filter((t) => t.name === name);
          if (traces.length <= nth) throw new Error(`no trace ${nth} named ${name}`);
          const plain = (v) => ArrayBuffer.isView(v) ? Array.from(v)
              : Array.isArray(v) ? v.map(plain) : v;
          const t = traces[nth], out = {};
          for (const k of ["x", "y", "z", "visible"]) out[k] = plain(t[k]);
          return out;
        }""",
        [name, nth],
    )


def choose_view(page: Any, label: str) -> None:
    """Open the page's dropdown and click entry `label`; wait until that view is drawn."""
    page.locator(".updatemenu-header").first.click()
    page.locator(".updatemenu-dropdown-button", has_text=label).first.click()
    page.wait_for_function(
        """(label) => {
          const menu = document.getElementById("ld-plot").layout.updatemenus.at(-1);
          return menu.buttons[explorer.state.view].label === label
            && explorer.state.drawing === null;
        }""",
        arg=label,
    )


def slider_label(page: Any) -> str:
    """The step the slider shows (its current-value text)."""
    return page.locator("text.slider-label").first.text_content()
