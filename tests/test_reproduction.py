"""The reproduction scorecard: the claims reader, the evaluation, a quick build, the GPU-check
comparison."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_cli, snakemake

from learning_dynamics import studies
from learning_dynamics.reproduction.claims import ClaimsError, claim_files, load_claims
from learning_dynamics.reproduction.compare import compare_trees
from learning_dynamics.reproduction.figures import deviation
from learning_dynamics.reproduction.scorecard import COLUMNS, counts, evaluate, markdown, scorecard

QUICK = str(ROOT / "config" / "quick.yaml")
CLAIMS_DIR = ROOT / "config" / "claims"
MY_STUDIES = ("superposition", "linear", "makemore")  # the other studies' files are their own


def claim(**overrides) -> dict:
    base = {
        "id": "final_loss",
        "kind": "reproduction",
        "claim": "the final loss",
        "source": "closed form",
        "expected": 0.5,
        "tolerance": {"abs": 0.01},
        "tolerance_reason": "float32 training converges to 1e-4",
        "value": {"file": "toy/summary.json", "key": "loss.final"},
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}  # None: leave out


def write_claims(path, *claims, study="toy") -> str:
    path.write_text(yaml.safe_dump({"study": study, "claims": list(claims)}, sort_keys=False))
    return str(path)


def test_unknown_key_is_an_error_naming_the_file_and_the_claim(tmp_path):
    path = write_claims(tmp_path / "toy.yaml", claim(expcted=0.5))
    with pytest.raises(ClaimsError) as err:
        load_claims([path])
    message = str(err.value)
    assert path in message and "'final_loss'" in message and "'expcted'" in message
    # inside `value` too, and at the top of the file
    path = write_claims(tmp_path / "toy.yaml", claim(value={"file": "a.json", "kee": "x"}))
    with pytest.raises(
        ClaimsError, match=r"toy.yaml: claim 'final_loss': value: unknown key 'kee'"
    ):
        load_claims([path])
    (tmp_path / "top.yaml").write_text(
        yaml.safe_dump({"study": "toy", "claims": [claim()], "x": 1})
    )
    with pytest.raises(ClaimsError, match=r"top.yaml: unknown key 'x'"):
        load_claims([tmp_path / "top.yaml"])


def test_missing_fields_bad_values_and_duplicate_ids_are_errors(tmp_path):
    no_source = claim(id="no_source")
    del no_source["source"]
    no_reason = claim(id="no_reason")
    del no_reason["tolerance_reason"]
    no_kind = claim(id="no_kind")
    del no_kind["kind"]
    paths = [
        write_claims(
            tmp_path / "a.yaml",
            no_source,
            no_reason,
            no_kind,
            claim(id="bad_kind", kind="regression"),
            claim(id="two_tolerances", tolerance={"abs": 1, "rel": 0.1}),
            claim(id="no_tolerance", tolerance=None),
            claim(id="Bad-Id"),
            claim(id="key_and_column", value={"file": "a.json", "key": "x", "column": "y"}),
            claim(id="escapes", value={"file": "../outside.json", "key": "x"}),
            claim(id="bad_agg", value={"file": "t.csv", "column": "x", "agg": "sum"}),
            claim(id="dup"),
        ),
        write_claims(tmp_path / "b.yaml", claim(id="dup")),
    ]
    with pytest.raises(ClaimsError) as err:
        load_claims(paths, studies=["toy"])
    message = str(err.value)
    for expected in [
        "claim 'no_source': missing required field 'source'",
        "claim 'no_reason': missing required field 'tolerance_reason'",
        "claim 'no_kind': missing required field 'kind'",
        "claim 'bad_kind': kind: 'regression'; choose from ['reproduction', 'consistency']",
        "claim 'two_tolerances': tolerance:",
        "claim 'no_tolerance': tolerance:",
        "claim 'Bad-Id': id:",
        "claim 'key_and_column': value: give exactly one of key",
        "claim 'escapes': value.file:",
        "claim 'bad_agg': value.agg:",
        "b.yaml: claim 'dup': duplicate id in study 'toy'",
    ]:
        assert expected in message, expected
    # a study the config does not have
    with pytest.raises(ClaimsError, match="'toy' is not one of"):
        load_claims([write_claims(tmp_path / "c.yaml", claim())], studies=["linear"])


@pytest.fixture
def results(tmp_path):
    """A synthetic results tree: one summary.json and one CSV."""
    root = tmp_path / "results"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "summary.json").write_text(
        json.dumps({"loss": {"final": 0.505, "curve": [3.0, 2.0]}, "name": "pentagon"})
    )
    pd.DataFrame(
        {
            "mode": [0, 0, 1],
            "fraction": [0.5, 0.9, 0.5],
            "t": [100.0, 180.0, 40.0],
            "ok": [True, False, True],
        }  # fmt: skip
    ).to_csv(root / "toy" / "times.csv", index=False)
    return root


def test_a_value_moved_beyond_its_tolerance_turns_the_claim_to_differs(tmp_path, results):
    csv_value = {"file": "toy/times.csv", "column": "t", "where": {"mode": 0, "fraction": 0.5}}
    claims = load_claims(
        [
            write_claims(
                tmp_path / "toy.yaml",
                claim(),  # 0.505 vs 0.5 ± 0.01
                claim(id="rel", expected=101.0, tolerance={"rel": 0.02}, value=csv_value),
                claim(
                    id="indexed",
                    expected=2.0,
                    value={"file": "toy/summary.json", "key": "loss.curve.1"},
                ),  # fmt: skip
                claim(
                    id="exact",
                    expected="pentagon",
                    tolerance=None,
                    value={"file": "toy/summary.json", "key": "name"},
                ),  # fmt: skip
                claim(
                    id="counted",
                    expected=2,
                    tolerance={"abs": 0},
                    value={
                        "file": "toy/times.csv",
                        "column": "t",
                        "where": {"ok": True},
                        "agg": "count",
                    },
                ),  # fmt: skip
                claim(id="stated", expected=0.4, deviation="the seed has a bug"),
                claim(id="missing", value={"file": "toy/summary.json", "key": "loss.best"}),
            )
        ]
    )
    table = scorecard(claims, results, "default").set_index("claim")
    assert set(COLUMNS) == {*table.columns, "claim"}
    assert (
        table.loc[["final_loss", "rel", "indexed", "exact", "counted"], "status"]
        .eq("reproduced")
        .all()
    )
    assert table.loc["final_loss", "reproduced"] == "0.505"
    assert table.loc["stated", "status"] == "differs"
    assert table.loc["stated", "note"] == "deviation: the seed has a bug"
    assert table.loc["missing", "status"] == "differs"
    assert "no key 'loss.best'" in table.loc["missing", "note"]
    assert table.loc["missing", "note"].endswith("unknown")
    assert (table.note[table.status == "reproduced"] == "").all()

    # Move each reproduced value just beyond its tolerance: every claim turns to differs.
    summary = json.loads((results / "toy" / "summary.json").read_text())
    summary["loss"] |= {"final": 0.5 + 0.0101, "curve": [3.0, 2.0 + 0.0101]}
    summary["name"] = "hexagon"
    (results / "toy" / "summary.json").write_text(json.dumps(summary))
    frame = pd.read_csv(results / "toy" / "times.csv")
    frame.loc[0, "t"] = 101.0 * 1.0201
    frame.loc[1, "ok"] = True
    frame.to_csv(results / "toy" / "times.csv", index=False)
    moved = scorecard(claims, results, "default").set_index("claim")
    for name in ("final_loss", "rel", "indexed", "exact", "counted"):
        assert moved.loc[name, "status"] == "differs", name
        assert moved.loc[name, "note"] == "unknown", name
    # Just inside again: reproduced.
    summary["loss"]["final"] = 0.5 - 0.0099
    (results / "toy" / "summary.json").write_text(json.dumps(summary))
    assert evaluate(claims[0], results)["status"] == "reproduced"


def test_consistency_checks_are_counted_apart_from_reproductions(tmp_path, results):
    claims = load_claims(
        [
            write_claims(
                tmp_path / "toy.yaml",
                claim(),  # reproduced
                claim(id="off", expected=9.0),  # differs
                claim(id="own", kind="consistency"),  # holds
                claim(id="own_off", kind="consistency", expected=9.0),  # fails
                claim(id="own_too", kind="consistency"),  # holds
            )
        ]
    )
    table = scorecard(claims, results, "default")
    assert list(table.kind) == ["reproduction"] * 2 + ["consistency"] * 3
    assert counts(table) == (
        "1 reproduced, 1 differ (of 2 reproductions); consistency checks: 2 hold, 1 fail (of 3)"
    )
    assert counts(table) in markdown(table, claims, "default")
    csv = tmp_path / "scorecard.csv"
    table.to_csv(csv, index=False)
    printed = run_cli("reproduction", "summary", "--scorecard", str(csv)).stdout
    assert counts(table) in printed
    assert "differs: toy/off" in printed and "fails (consistency): toy/own_off" in printed


def test_the_note_says_which_level_built_the_values(tmp_path, results):
    claims = load_claims([write_claims(tmp_path / "toy.yaml", claim(), claim(id="b", expected=9))])
    rows = scorecard(claims, results, "quick").set_index("claim")
    assert rows.loc["final_loss", "status"] == "reproduced"
    assert "values built at level quick" in rows.loc["final_loss", "note"]
    assert rows.loc["b", "note"].startswith("unknown; values built at level quick")
    with pytest.raises(ValueError, match="level"):
        scorecard(claims, results, "medium")


def test_figure_places_each_claim_in_units_of_its_tolerance():
    assert deviation("0.5", "abs 0.01", "0.505", "reproduced") == pytest.approx(0.5)
    assert deviation("100", "rel 0.02", "97", "differs") == pytest.approx(-1.5)
    assert deviation("pentagon", "exact", "pentagon", "reproduced") == 0
    assert deviation("pentagon", "exact", "hexagon", "differs") == float("inf")
    assert deviation("1", "abs 0", "0", "differs") == float("-inf")
    assert deviation("1", "abs 0.1", "", "differs") == float("inf")  # no value


def test_the_projects_claims_files_are_valid():
    claims = load_claims(claim_files(CLAIMS_DIR), studies=studies())
    for study in studies():  # every study has claims (config/claims/<study>*.yaml)
        mine = [c for c in claims if c.study == study]
        assert mine, study
        for c in mine:
            assert c.source and c.claim and (c.tolerance.kind == "exact" or c.tolerance_reason)
    # Every claim says what kind it is (the reader requires it); each study reproduces something.
    for study in {c.study for c in claims}:
        assert any(c.kind == "reproduction" for c in claims if c.study == study), study


def test_compare_trees_flags_numbers_beyond_rtol(tmp_path):
    for name, final, text in (("a", 1.0, "x"), ("b", 1.0005, "x"), ("c", 1.01, "y")):
        root = tmp_path / name / "results" / "toy"
        root.mkdir(parents=True)
        (root / "summary.json").write_text(json.dumps({"final": final, "tag": text}))
        pd.DataFrame({"t": [1.0, final], "n": [text, "z"]}).to_csv(root / "t.csv", index=False)
        (tmp_path / name / "results" / "logs").mkdir()
        (tmp_path / name / "results" / "logs" / "time.csv").write_text(f"s\n{final}\n")
    close = compare_trees(tmp_path / "a", tmp_path / "b", rtol=1e-3, atol=0)
    assert close.ok and close.files == 2 and close.numbers == 3
    assert close.max_rel == pytest.approx(5e-4)
    far = compare_trees(tmp_path / "a", tmp_path / "c", rtol=1e-3, atol=0)
    assert not far.ok
    assert any("summary.json: final" in m for m in far.mismatches)
    assert any("summary.json: tag" in m for m in far.mismatches)
    assert any("t.csv: row 1 t" in m for m in far.mismatches)


@pytest.mark.slow
def test_quick_build_scores_every_claim(tmp_path):
    """Builds, at quick budgets, the files the superposition, linear and makemore claims read
    (through the DAG) and scores them with the rule's verb."""
    claims = [c for c in load_claims(claim_files(CLAIMS_DIR)) if c.study in MY_STUDIES]
    targets = sorted({f"results/{c.value.file}" for c in claims})
    snakemake(tmp_path, *targets, "--cores", "2", "--configfile", QUICK)
    mine = [p for p in claim_files(CLAIMS_DIR) if yaml.safe_load(open(p))["study"] in MY_STUDIES]
    out = tmp_path / "results" / "reproduction"
    csv, md = str(out / "scorecard.csv"), str(out / "scorecard.md")
    results = str(tmp_path / "results")
    run_cli("reproduction", "scorecard", "--claims", *mine, "--results", results,
            "--level", "quick", "--csv", csv, "--md", md)  # fmt: skip
    table = pd.read_csv(out / "scorecard.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == COLUMNS
    assert len(table) == len(claims)
    assert (table.source != "").all() and (table.tolerance != "").all()
    assert set(table.status) <= {"reproduced", "differs"}
    # A value may be missing at quick budgets (e.g. no transient plateau in 4000 epochs), but
    # then the note says so; most values are read.
    missing = table.reproduced == ""
    assert table.note[missing].str.startswith("no value: ").all()
    assert missing.sum() <= 2, table[missing]
    assert table.note.str.contains("values built at level quick").all()
    assert (table.note[table.status == "differs"].str.contains("deviation: |unknown")).all()
    # The seed's printed minibatch losses do not depend on the budget: reproduced at quick too.
    printed = table[table.claim.str.startswith("printed_loss")]
    assert len(printed) == 3 and (printed.status == "reproduced").all()
    summary = run_cli("reproduction", "summary", "--scorecard", str(out / "scorecard.csv")).stdout
    assert counts(table) in summary


def test_each_scorecard_rule_reads_exactly_its_claims_files(tmp_path):
    """`reproduction` reads every claims file and every file a claim reads; `reproduction_<study>`
    (one per study) that study's claims files and the files they read, nothing else."""
    claims = load_claims(claim_files(CLAIMS_DIR))
    targets = ["reproduction", *(f"reproduction_{s}" for s in studies())]
    plan = snakemake(tmp_path, *targets, "-n", "--configfile", QUICK).stdout
    inputs = dict(re.findall(r"^(?:local)?rule (reproduction\w*):\n    input: (.*)$", plan, re.M))
    assert sorted(inputs) == sorted(targets)
    for rule, planned in inputs.items():
        study = rule.removeprefix("reproduction_") if rule != "reproduction" else None
        mine = [c for c in claims if study in (None, c.study)]
        assert mine, f"{rule}: no claims (config/claims/{study}*.yaml)"
        expected = {c.path for c in mine} | {f"results/{c.value.file}" for c in mine}
        assert set(planned.split(", ")) == expected, rule


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu_passes(tmp_path):
    """`benchmarks/gpu_check.py --device cpu`: two CPU builds of one summary agree exactly, the
    report names every step (the GPU path itself needs a GPU; see docs/reproduction.md)."""
    import subprocess
    import sys

    out = tmp_path / "check"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu_check.py"),
            "--device",
            "cpu",
            "--skip-tests",
            "--cores",
            "2",
            "--out",
            str(out),
            "--quick-targets",
            "results/linear/main/summary.json",
            "--full-budget-s",
            "0",
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["ok"] and report["comparison"]["files"] == 2  # summary.json, modes.csv
    assert report["comparison"]["max_rel"] == 0 and report["comparison"]["numbers"] > 10
    assert all(p.get("skipped") == "budget spent" for p in report["full"]["parts"])
    assert "Overall: PASS" in (out / "report.md").read_text()
