# Grokking study (seed 004): representation quality, grokking times and learning-rate phases.
# Every run is one or more jobs, each a batched ensemble of members; sweeps split into
# `jobs` chunks from the config (grokking_run_config gives each job's members).

from learning_dynamics.grokking.runs import data_config as grokking_data_config
from learning_dynamics.grokking.runs import fraction_runs as grokking_fraction_runs
from learning_dynamics.grokking.runs import jobs as grokking_jobs
from learning_dynamics.grokking.runs import run_config as grokking_run_config
from learning_dynamics.grokking.runs import SINGLE_RUNS as GROKKING_SINGLE_RUNS
from learning_dynamics.grokking.runs import SWEEPS as GROKKING_SWEEPS

GK = config["grokking"]
GK_DIR = f"{RESULTS}/grokking"
GK_RUNS = one_of(GROKKING_SINGLE_RUNS + GROKKING_SWEEPS)
GK_FRACTION = grokking_fraction_runs(GK)


rule grokking_data:
    input:
        config=config_file(
            f"{GK_DIR}/{{run}}/job{{job}}/data.config.json",
            lambda w: grokking_data_config(grokking_run_config(GK, w.run, int(w.job))),
        ),
    output:
        f"{GK_DIR}/{{run}}/job{{job}}/data.h5",
    wildcard_constraints:
        run=GK_RUNS,
        job=r"\d+",
    log:
        f"{LOGS}/grokking/data_{{run}}_{{job}}.log",
    shell:
        "{LD} grokking make_data --config {input.config} --out {output} > {log} 2>&1"


rule grokking_train:
    input:
        data=f"{GK_DIR}/{{run}}/job{{job}}/data.h5",
        config=config_file(
            f"{GK_DIR}/{{run}}/job{{job}}/config.json",
            lambda w: grokking_run_config(GK, w.run, int(w.job)),
        ),
    output:
        f"{GK_DIR}/{{run}}/job{{job}}/history.h5",
    wildcard_constraints:
        run=GK_RUNS,
        job=r"\d+",
    log:
        f"{LOGS}/grokking/train_{{run}}_{{job}}.log",
    benchmark:
        f"{BENCH}/grokking/train_{{run}}_{{job}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} grokking train --config {input.config} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule grokking_extract:
    input:
        history=f"{GK_DIR}/{{run}}/job{{job}}/history.h5",
        data=f"{GK_DIR}/{{run}}/job{{job}}/data.h5",
    output:
        f"{GK_DIR}/{{run}}/job{{job}}/extract.h5",
    wildcard_constraints:
        run=GK_RUNS,
        job=r"\d+",
    log:
        f"{LOGS}/grokking/extract_{{run}}_{{job}}.log",
    shell:
        "{LD} grokking extract --history {input.history} --data {input.data}"
        " --out {output} > {log} 2>&1"


rule grokking_analyse:
    input:
        extracts=lambda w: [
            f"{GK_DIR}/{w.run}/job{k}/extract.h5" for k in range(grokking_jobs(GK, w.run))
        ],
        config=config_file(
            f"{GK_DIR}/{{run}}/analysis.config.json",
            lambda w: {
                **GK["analysis"],
                "p": GK["p"],
                "rqi_eps": GK["rqi_eps"],
                "run": w.run,
                "steps": grokking_run_config(GK, w.run)["steps"],
            },
        ),
    output:
        summary=f"{GK_DIR}/{{run}}/summary.json",
        members=f"{GK_DIR}/{{run}}/members.csv",
    wildcard_constraints:
        run=GK_RUNS,
    log:
        f"{LOGS}/grokking/analyse_{{run}}.log",
    shell:
        "{LD} grokking analyse --config {input.config} --extracts {input.extracts}"
        " --summary {output.summary} --members {output.members} > {log} 2>&1"


rule grokking_cells:
    input:
        f"{GK_DIR}/{{run}}/members.csv",
    output:
        f"{GK_DIR}/{{run}}/cells.csv",
    wildcard_constraints:
        run="lr|wd",
    params:
        rows=lambda w: {"lr": "rep_lr", "wd": "dec_wd"}[w.run],
    log:
        f"{LOGS}/grokking/cells_{{run}}.log",
    shell:
        "{LD} grokking cells --members {input} --rows {params.rows} --out {output} > {log} 2>&1"


rule grokking_theory:
    input:
        config=config_file(f"{GK_DIR}/theory/config.json", {**GK["theory"], "p": GK["p"]}),
    output:
        table=f"{GK_DIR}/theory/theory.csv",
        summary=f"{GK_DIR}/theory/summary.json",
    log:
        f"{LOGS}/grokking/theory.log",
    benchmark:
        f"{BENCH}/grokking/theory.tsv"
    shell:
        "{LD} grokking theory --config {input.config} --table {output.table}"
        " --summary {output.summary} > {log} 2>&1"


rule grokking_fraction_summary:
    input:
        theory=f"{GK_DIR}/theory/summary.json",
        runs=[f"{GK_DIR}/{r}/summary.json" for r in GK_FRACTION],
    output:
        f"{GK_DIR}/fraction/summary.json",
    params:
        names=[r.removeprefix("fraction_") for r in GK_FRACTION],
    log:
        f"{LOGS}/grokking/fraction_summary.log",
    shell:
        "{LD} grokking fraction_summary --theory {input.theory} --runs {input.runs}"
        " --names {params.names} --out {output} > {log} 2>&1"


rule grokking_curves:
    input:
        extracts=[f"{GK_DIR}/{r}/job0/extract.h5" for r in ("default", "swapped")],
        members=[f"{GK_DIR}/{r}/members.csv" for r in ("default", "swapped")],
    output:
        **figure("grokking_curves"),
    params:
        p=GK["p"],
    log:
        f"{LOGS}/figures/grokking_curves.log",
    shell:
        "{LD} grokking plot_curves --extracts {input.extracts} --members {input.members}"
        " --p {params.p} --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule grokking_representation:
    input:
        extracts=[f"{GK_DIR}/{r}/job0/extract.h5" for r in ("default", "swapped")],
        members=[f"{GK_DIR}/{r}/members.csv" for r in ("default", "swapped")],
    output:
        **figure("grokking_representation"),
    log:
        f"{LOGS}/figures/grokking_representation.log",
    shell:
        "{LD} grokking plot_representation --extracts {input.extracts}"
        " --members {input.members} --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule grokking_phases:
    input:
        lr=f"{GK_DIR}/lr/cells.csv",
        wd=f"{GK_DIR}/wd/cells.csv",
    output:
        **figure("grokking_phases"),
    params:
        steps=GK["sweep_steps"],
        window=GK["analysis"]["comprehension_window"],
        lr_dec_wd=GK["lr_grid"]["dec_wd"],
        wd_rep_lr=GK["wd_grid"]["rep_lr"],
    log:
        f"{LOGS}/figures/grokking_phases.log",
    shell:
        "{LD} grokking plot_phases --lr-cells {input.lr} --wd-cells {input.wd}"
        " --steps {params.steps} --window {params.window} --lr-dec-wd {params.lr_dec_wd}"
        " --wd-rep-lr {params.wd_rep_lr} --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule grokking_fraction:
    input:
        theory=f"{GK_DIR}/theory/theory.csv",
        summary=f"{GK_DIR}/fraction/summary.json",
        members=[f"{GK_DIR}/{r}/members.csv" for r in GK_FRACTION],
    output:
        **figure("grokking_fraction"),
    params:
        p=GK["p"],
    log:
        f"{LOGS}/figures/grokking_fraction.log",
    shell:
        "{LD} grokking plot_fraction --theory {input.theory} --summary {input.summary}"
        " --members {input.members} --p {params.p}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


# The interactive page: the representation and its parallelograms over training.
rule grokking_explorer:
    input:
        history=f"{GK_DIR}/default/job0/history.h5",
        data=f"{GK_DIR}/default/job0/data.h5",
    output:
        **page("grokking_explorer"),
    log:
        f"{LOGS}/figures/grokking_explorer.log",
    benchmark:
        f"{BENCH}/figures/grokking_explorer.tsv"
    shell:
        "{LD} grokking explore --history {input.history} --data {input.data}"
        " --out {output.html} > {log} 2>&1"


# The local learning coefficient and essential dynamics of the two single runs (memorization:
# `default`, comprehension: `swapped`; grokking/llc.py), from their stored histories.
rule grokking_llc_estimate:
    input:
        histories=[f"{GK_DIR}/{r}/job0/history.h5" for r in ("default", "swapped")],
        data=[f"{GK_DIR}/{r}/job0/data.h5" for r in ("default", "swapped")],
        config=config_file(f"{GK_DIR}/llc/config.json", GK["llc"]),
    output:
        arrays=f"{GK_DIR}/llc/llc.h5",
        summary=f"{GK_DIR}/llc/summary.json",
    log:
        f"{LOGS}/grokking/llc.log",
    benchmark:
        f"{BENCH}/grokking/llc.tsv"
    shell:
        "{LD} grokking llc --config {input.config} --histories {input.histories}"
        " --data {input.data} --out {output.arrays} --summary {output.summary}"
        " --threads 1 > {log} 2>&1"


rule grokking_llc:
    input:
        f"{GK_DIR}/llc/llc.h5",
    output:
        **figure("grokking_llc"),
    log:
        f"{LOGS}/figures/grokking_llc.log",
    shell:
        "{LD} grokking plot_llc --llc {input} --pdf {output.pdf} --png {output.png} > {log} 2>&1"
