"""The command line: verbs get typed arguments from their signatures, and print their help."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import pytest
from conftest import run_cli

from learning_dynamics.__main__ import packages, resolve, study_help, verb_parser, verbs


@pytest.mark.parametrize(("study", "verb"), [(s, v) for s in packages() for v in verbs(s)])
def test_every_verb_has_a_command_line(study, verb):
    """Every hint converts (int, float, str, Path, bool, list of them, dict = a JSON file)."""
    parser = verb_parser(study, verb, resolve(study, verb))
    assert parser.format_help().startswith(f"usage: python -m learning_dynamics {study} {verb}")


def typed(
    n: int,
    x: float,
    name: str,
    path: Path,
    flag: bool,
    ks: list[int],
    files: str | list[str],
    config: dict[str, Any],
    rate: float = 0.5,
) -> dict:
    """A verb with every kind of hint."""
    return locals()


def parse(*argv: str) -> dict:
    return vars(verb_parser("x", "typed", typed).parse_args(list(argv)))


def test_values_take_the_type_of_their_hint(tmp_path):
    config = tmp_path / "run.config.json"
    config.write_text(json.dumps({"lr": 0.1, "seeds": [1, 2]}))
    args = parse(
        "--n", "3", "--x", "1e-3", "--name", "007", "--path", "a/b", "--flag", "false",
        "--ks", "1", "2", "--files", "one.h5", "--config", str(config),
    )  # fmt: skip
    assert args["n"] == 3 and args["x"] == 1e-3 and args["name"] == "007"
    assert args["path"] == Path("a/b") and args["flag"] is False
    assert args["ks"] == [1, 2] and args["files"] == ["one.h5"]  # `T | list[T]`: always a list
    assert args["config"] == {"lr": 0.1, "seeds": [1, 2]}
    assert args["rate"] == 0.5 and args["threads"] is None
    # an inline JSON object is a config too (what a rule without a config file passes)
    inline = parse(*"--n 1 --x 1 --name a --path p --flag 1 --ks --files f".split(),
                   "--config", '{"a": 1}')  # fmt: skip
    assert inline["config"] == {"a": 1} and inline["ks"] == []


def test_a_parameter_without_a_hint_is_refused():
    def loose(out: str, anything) -> None:
        """A verb that does not say what `anything` takes."""

    with pytest.raises(TypeError, match="x loose: parameter 'anything' has no type hint"):
        verb_parser("x", "loose", loose)


def test_bad_values_are_refused_naming_the_option(capsys):
    with pytest.raises(SystemExit):
        parse("--n", "three", "--x", "1", "--name", "a", "--path", "p", "--flag", "yes")
    assert "--n" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse("--x", "1")  # required options missing
    assert "required" in capsys.readouterr().err


def test_verb_runs_with_typed_values_and_prints_help(tmp_path):
    out = tmp_path / "data.h5"
    run_cli("superposition", "make_data", "--features", "7", "--out", str(out))
    with h5py.File(out) as f:
        assert f["inputs"].shape == (7, 7)
    usage = run_cli("superposition", "plot_geometry", "--help").stdout
    assert "--epochs [INT ...]" in usage and "--frames INT" in usage and "GIF" in usage
    listing = study_help("superposition")
    assert "plot_geometry" in listing and "The dataset: the f one-hot vectors" in listing
    refused = run_cli("superposition", "make_data", "--features", "seven", check=False)
    assert refused.returncode == 2 and "invalid int value" in refused.stderr
