"""Command line: `python -m learning_dynamics <study> <verb> --key value ...`, and
`python -m learning_dynamics view <history.h5> [--out page.html]` (a page for any history,
see `explorer`).

Each study package (and `reproduction`, the scorecard) maps its DAG verbs (make_data, train,
extract, analyse, plot_*) to "module:function" in a `VERBS` dict. This entry point builds the
verb's command line from its signature (`verb_parser`): every parameter is an option `--name`
(or `--na-me`), converted to the type its hint declares, required unless it has a default:

    int, float, str, Path, bool      one value (bool: true/false, yes/no or 1/0)
    list[T], T | list[T]             any number of values, each converted to T, always a list
    dict (e.g. dict[str, Any])       the path of a JSON file (a run config the workflow wrote),
                                     loaded; an inline JSON object `{...}` is read as such

A parameter without a hint is refused (every verb's signature says what it takes).

`--threads N` (every verb) sets torch's thread count before the verb runs. `--help` after a
study lists its verbs; after a verb it prints the verb's docstring and options.
Workflow rules call nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import packages, studies

__all__ = ["main", "packages", "studies"]


def verbs(study: str) -> dict[str, str]:
    """The study's verb -> "module:function" table."""
    return importlib.import_module(f"learning_dynamics.{study}").VERBS


def resolve(study: str, verb: str) -> Callable[..., Any]:
    """The function behind `study verb` (imports only its module)."""
    table = verbs(study)
    if verb not in table:
        raise SystemExit(f"{study} has no verb {verb!r}; choose from {sorted(table)}")
    module, function = table[verb].split(":")
    return getattr(importlib.import_module(f"learning_dynamics.{study}.{module}"), function)


def json_file(value: str) -> dict[str, Any]:
    """A `dict` parameter's value: the path of a run config file (checked against its digest,
    see `runconfig.load`), or an inline JSON object; read strictly (no repeated key, no NaN)."""
    from .runconfig import RunConfigError, load
    from .strict import json_text

    try:
        if value.lstrip().startswith("{"):
            return json_text(value, "the inline JSON")
        return load(value)
    except (RunConfigError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def boolean(value: str) -> bool:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if value.lower() not in words:
        raise ValueError(value)
    return words[value.lower()]


SCALARS: dict[Any, Callable[[str], Any]] = {
    int: int,
    float: float,
    str: str,
    Path: Path,
    bool: boolean,
}


def converter(hint: Any) -> tuple[Callable[[str], Any], bool]:
    """(convert one value, takes a list) for a parameter hint."""
    if hint in SCALARS:
        return SCALARS[hint], False
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is dict or origin is dict:
        return json_file, False
    if origin is list and len(args) == 1 and args[0] in SCALARS:
        return SCALARS[args[0]], True
    if origin in (typing.Union, types.UnionType):
        kinds = [converter(a) for a in args if a is not type(None)]
        # `T | list[T]`: always a list; `T | None`: T
        if len({c for c, _ in kinds}) == 1:
            return kinds[0][0], any(many for _, many in kinds)
    raise TypeError(f"no command-line conversion for the hint {hint!r}")


def verb_parser(study: str, verb: str, function: Callable[..., Any]) -> argparse.ArgumentParser:
    """The verb's argparse parser, built from its signature; description: its docstring."""
    parser = argparse.ArgumentParser(
        prog=f"python -m learning_dynamics {study} {verb}",
        description=inspect.getdoc(function),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    hints = typing.get_type_hints(function)
    for name, param in inspect.signature(function).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name not in hints:
            raise TypeError(f"{study} {verb}: parameter {name!r} has no type hint")
        hint = hints[name]
        convert, many = converter(hint)
        flags = dict.fromkeys([f"--{name}", f"--{name.replace('_', '-')}"])
        options: dict[str, Any] = {"dest": name, "help": _describe(hint, param.default)}
        if param.default is param.empty:
            options["required"] = True
        else:
            options["default"] = param.default
        options["type"] = convert
        options["metavar"] = convert.__name__.upper()
        if many:
            options["nargs"] = "*"
        parser.add_argument(*flags, **options)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    return parser


def _describe(hint: Any, default: Any) -> str:
    text = str(hint).replace("typing.", "")
    text = text.replace("<class '", "").replace("'>", "").replace("pathlib.", "")
    return text if default is inspect.Parameter.empty else f"{text} (default: {default!r})"


def study_help(study: str) -> str:
    """`python -m learning_dynamics <study> --help`: its verbs, each with its first doc line."""
    lines = [f"usage: python -m learning_dynamics {study} VERB --key value ...", "", "verbs:"]
    for verb in verbs(study):
        doc = (inspect.getdoc(resolve(study, verb)) or "").split("\n")[0]
        lines.append(f"  {verb:<24}{doc}")
    lines.append(f"\n`python -m learning_dynamics {study} VERB --help`: the verb's options")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "view":  # a page for any history (learning_dynamics.explorer)
        from .explorer import view_command

        return view_command(argv[1:])
    if argv[:1] == ["new-study"]:
        from .newstudy import main as new_study

        return new_study(argv[1:])
    names = ",".join(packages())
    usage = (
        f"usage: python -m learning_dynamics {{{names}}} VERB --key value ... (or --help)\n"
        "       python -m learning_dynamics view HISTORY.h5 [--out PAGE.html]\n"
        "       python -m learning_dynamics new-study NAME   (writes a new study; see README)"
    )
    if not argv or argv[0] not in packages():
        if argv and argv[0] in ("-h", "--help"):
            print(usage)
            return
        raise SystemExit(usage)
    study = argv[0]
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(study_help(study))
        if len(argv) < 2:
            raise SystemExit(2)
        return
    function = resolve(study, argv[1])
    options = vars(verb_parser(study, argv[1], function).parse_args(argv[2:]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    threads = options.pop("threads")
    if threads is not None:
        from .devices import set_threads

        set_threads(threads)
    function(**options)


if __name__ == "__main__":
    main()
