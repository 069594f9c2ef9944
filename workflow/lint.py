"""`snakemake --lint` for this workflow: fails on every lint except the kinds turned off below.

Snakemake cannot switch a lint off, so this runs `snakemake --lint` (text output; `--lint json`
prints text in Snakemake 9) and drops the lints whose title is in IGNORED, each with its reason.
Run by `make lint`; any other lint is printed in full and the exit status is 1.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

IGNORED = {
    "Specify a conda environment or container for each rule.": (
        "every rule runs the one environment that runs Snakemake (pyproject.toml, `make setup`)"
    ),
    "Shell command directly uses variable LD from outside of the rule": (
        "LD is the package's command line (the interpreter running Snakemake), not a parameter"
    ),
}

BLOCK = re.compile(r"^Lints for (?P<item>.+):$")
TITLE = re.compile(r"^    \* (?P<title>.+):$")


def lint_blocks(text: str) -> list[tuple[str, str, list[str]]]:
    """(item, lint title, lines) for every lint in `snakemake --lint` output."""
    out: list[tuple[str, str, list[str]]] = []
    item = None
    for line in text.splitlines():
        if m := BLOCK.match(line):
            item = m["item"]
        elif (m := TITLE.match(line)) and item is not None:
            out.append((item, m["title"], [line]))
        elif out and line.startswith("      "):
            out[-1][2].append(line)
    return out


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    snakemake = Path(sys.executable).with_name("snakemake")
    run = subprocess.run(
        [str(snakemake), "--lint", "-s", str(root / "workflow" / "Snakefile"), "-d", str(root)],
        capture_output=True,
        text=True,
    )
    blocks = lint_blocks(run.stdout + run.stderr)
    if run.returncode not in (0, 1) or (run.returncode == 1 and not blocks):
        print(run.stdout + run.stderr)
        return 1
    ignored = Counter(title for _, title, _ in blocks if title in IGNORED)
    for title, count in sorted(ignored.items()):
        print(f"snakemake --lint: {count} x '{title}' ignored: {IGNORED[title]}")
    left = [(item, title, lines) for item, title, lines in blocks if title not in IGNORED]
    for item, _, lines in left:
        print(f"Lints for {item}:\n" + "\n".join(lines))
    print(f"snakemake --lint: {len(left)} lint(s) left")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
