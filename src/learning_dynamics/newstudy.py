"""`python -m learning_dynamics new-study NAME`: a complete, working study named NAME.

It copies the templates of `scaffold/` (a study called `skeleton`: a two-layer linear network
learning a linear teacher, through data -> train -> extract -> analyse -> plot, with one figure
and its caption, one claim, a test, a doc page and a benchmark) into the study's own new files,
and appends its config block to config/config.yaml, quick.yaml and full.yaml: the only existing
files it edits. Nothing else registers a study (see `learning_dynamics.studies`), so the new one
builds (`snakemake NAME_loss`), is scored (`snakemake reproduction_NAME`), tested and linted
at once. The templates are real files, linted with the package.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from . import HERE

SCAFFOLD = HERE / "scaffold"
TOKEN = "skeleton"  # the templates' study name, replaced by NAME (also in SKELETON, Skeleton)
# template under scaffold/ -> new file under the checkout
FILES = {
    **{
        f"skeleton/{p.name}": f"src/learning_dynamics/{{name}}/{p.name}"
        for p in sorted((SCAFFOLD / "skeleton").iterdir())
        if p.suffix in (".py", ".yaml")
    },
    "skeleton.smk": "workflow/rules/{name}.smk",
    "skeleton_loss.rst": "workflow/report/{name}_loss.rst",
    "claims.yaml": "config/claims/{name}.yaml",
    "test_skeleton.py": "tests/test_{name}.py",
    "bench_skeleton.py": "benchmarks/bench_{name}.py",
    "skeleton.md": "docs/{name}.md",
}
# config block templates, appended to the config file of each level
CONFIGS = {"config.yaml": "config/config.yaml", "quick.yaml": "config/quick.yaml",
           "full.yaml": "config/full.yaml"}  # fmt: skip
NAME = re.compile(r"^[a-z][a-z0-9]{1,19}$")
# results/ folders of the shared layer (workflow/rules/common.smk), and `reproduction_scorecard`
RESERVED = {"figures", "logs", "benchmarks", "scorecard"}


def problems(name: str, root: Path) -> list[str]:
    """Why `name` cannot be a new study in the checkout `root` (empty: it can)."""
    if not NAME.match(name) or keyword.iskeyword(name):
        return [
            f"{name!r} is not a study name: a lowercase Python identifier of letters and digits, "
            "2 to 20 characters, no underscore (rules are named <study>_<what>)"
        ]
    out = []
    taken = {p.stem for p in HERE.iterdir()} | RESERVED
    if name in taken:
        out.append(f"{name!r} clashes with learning_dynamics.{name} or a results/ folder")
    config = (root / "config" / "config.yaml").read_text()
    if re.search(rf"^{name}:", config, re.M):
        out.append(f"{name!r} is already a key of config/config.yaml")
    for target in FILES.values():
        path = root / target.format(name=name)
        if path.exists():
            out.append(f"{path} exists")
    return out


def fill(text: str, name: str) -> str:
    return (
        text.replace(TOKEN, name)
        .replace(TOKEN.upper(), name.upper())
        .replace(TOKEN.capitalize(), name.capitalize())
    )


def new_study(name: str, root: Path = HERE.parents[1]) -> list[Path]:
    """Write study `name` into the checkout `root`; return the paths written or edited."""
    found = problems(name, root)
    if found:
        raise SystemExit("new-study: nothing written:\n" + "\n".join(f"  {p}" for p in found))
    written = []
    for template, target in FILES.items():
        path = root / target.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill((SCAFFOLD / template).read_text(), name))
        written.append(path)
    for template, target in CONFIGS.items():
        with open(root / target, "a") as f:
            f.write(fill((SCAFFOLD / template).read_text(), name))
        written.append(root / target)
    return written


def main(argv: list[str]) -> None:
    """The `new-study` command: `python -m learning_dynamics new-study NAME`."""
    if len(argv) != 1 or argv[0].startswith("-"):
        raise SystemExit("usage: python -m learning_dynamics new-study NAME")
    root = HERE.parents[1]
    for path in new_study(argv[0], root):
        print(f"wrote {path.relative_to(root)}")
    print(
        f"\nStudy {argv[0]!r} is registered and builds as it is:\n"
        f"  snakemake {argv[0]}_loss --configfile config/quick.yaml\n"
        f"  snakemake reproduction_{argv[0]} --configfile config/quick.yaml\n"
        f"  pytest tests/test_{argv[0]}.py\n"
        "Then replace the model with yours: README.md, 'Adding a study', has the checklist."
    )
