"""Command line: `python -m learning_dynamics <study> <verb> --key value ...`.

Each study package maps its DAG verbs (make_data, train, extract, analyse, plot_*) to
"module:function" in a `VERBS` dict. This entry point parses `--key value` pairs into keyword
arguments (a key given several values gets a list; `--config` is decoded from JSON) and calls
the verb. Workflow rules call nothing else.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys


def studies() -> list[str]:
    """Study packages: subpackages of learning_dynamics that define VERBS."""
    import pkgutil

    import learning_dynamics

    return sorted(m.name for m in pkgutil.iter_modules(learning_dynamics.__path__) if m.ispkg)


def parse_options(argv: list[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    key = None
    for token in argv:
        if token.startswith("--"):
            key = token[2:].replace("-", "_")
            options[key] = []
        elif key is None:
            raise SystemExit(f"unexpected argument {token!r}: expected --key value")
        else:
            options[key].append(token)  # type: ignore[union-attr]
    parsed = {k: (v[0] if len(v) == 1 else v) for k, v in options.items()}
    if "config" in parsed:
        parsed["config"] = json.loads(parsed["config"])  # type: ignore[arg-type]
    return parsed


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] not in studies():
        names = ",".join(studies())
        raise SystemExit(f"usage: python -m learning_dynamics {{{names}}} VERB --key value ...")
    package = f"learning_dynamics.{argv[0]}"
    target = importlib.import_module(package).VERBS.get(argv[1])
    if target is None:
        verbs = sorted(importlib.import_module(package).VERBS)
        raise SystemExit(f"{argv[0]} has no verb {argv[1]!r}; choose from {verbs}")
    module, function = target.split(":")
    verb = getattr(importlib.import_module(f"{package}.{module}"), function)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = parse_options(argv[2:])
    threads = options.pop("threads", None)
    if threads is not None:
        from .devices import set_threads

        set_threads(int(threads))  # type: ignore[arg-type]
    verb(**options)


if __name__ == "__main__":
    main()
