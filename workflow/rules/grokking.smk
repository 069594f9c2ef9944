# Grokking study (seed 004): representation quality, grokking times and learning-rate phases.
# Every run is one or more jobs, each a batched ensemble of members; sweeps split into
# `jobs` chunks from the config (grokking_run_config gives each job's members).

from learning_dynamics.grokking.runs import data_config as grokking_data_config
from learning_dynamics.grokking.runs import jobs as grokking_jobs
from learning_dynamics.grokking.runs import run_config as grokking_run_config

GK = config["grokking"]
GK_DIR = f"{RESULTS}/grokking"
GK_RUNS = "default|swapped|lr|wd|fraction"


rule grokking_data:
    output:
        f"{GK_DIR}/{{run}}/job{{job}}/data.h5",
    wildcard_constraints:
        run=GK_RUNS,
        job=r"\d+",
    params:
        config=lambda w: as_json(grokking_data_config(grokking_run_config(GK, w.run, int(w.job)))),
    log:
        f"{LOGS}/grokking/data_{{run}}_{{job}}.log",
    shell:
        "{LD} grokking make_data --config {params.config:q} --out {output} > {log} 2>&1"


rule grokking_train:
    input:
        data=f"{GK_DIR}/{{run}}/job{{job}}/data.h5",
    output:
        f"{GK_DIR}/{{run}}/job{{job}}/history.h5",
    wildcard_constraints:
        run=GK_RUNS,
        job=r"\d+",
    params:
        config=lambda w: as_json(grokking_run_config(GK, w.run, int(w.job))),
    log:
        f"{LOGS}/grokking/train_{{run}}_{{job}}.log",
    benchmark:
        f"{BENCH}/grokking/train_{{run}}_{{job}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} grokking train --config {params.config:q} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule grokking_extract:
    input:
        f"{GK_DIR}/{{run}}/job{{job}}/history.h5",
    output:
        f"{GK_DIR}/{{run}}/job{{job}}/extract.h5",
    wildcard_constraints:
        run=GK_RUNS,
        job=r"\d+",
    log:
        f"{LOGS}/grokking/extract_{{run}}_{{job}}.log",
    shell:
        "{LD} grokking extract --history {input} --out {output} > {log} 2>&1"


rule grokking_analyse:
    input:
        lambda w: [f"{GK_DIR}/{w.run}/job{k}/extract.h5" for k in range(grokking_jobs(GK, w.run))],
    output:
        summary=f"{GK_DIR}/{{run}}/summary.json",
        members=f"{GK_DIR}/{{run}}/members.csv",
    wildcard_constraints:
        run=GK_RUNS,
    params:
        config=as_json({**GK["analysis"], "p": GK["p"]}),
    log:
        f"{LOGS}/grokking/analyse_{{run}}.log",
    shell:
        "{LD} grokking analyse --config {params.config:q} --extracts {input}"
        " --summary {output.summary} --members {output.members} > {log} 2>&1"


rule grokking_curves:
    input:
        extracts=[f"{GK_DIR}/{r}/job0/extract.h5" for r in ("default", "swapped")],
        members=[f"{GK_DIR}/{r}/members.csv" for r in ("default", "swapped")],
    output:
        **figure("grokking_curves"),
    log:
        f"{LOGS}/figures/grokking_curves.log",
    shell:
        "{LD} grokking plot_curves --extracts {input.extracts} --members {input.members}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


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
        lr=f"{GK_DIR}/lr/members.csv",
        wd=f"{GK_DIR}/wd/members.csv",
    output:
        **figure("grokking_phases"),
    log:
        f"{LOGS}/figures/grokking_phases.log",
    shell:
        "{LD} grokking plot_phases --lr-members {input.lr} --wd-members {input.wd}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule grokking_fraction:
    input:
        f"{GK_DIR}/fraction/members.csv",
    output:
        **figure("grokking_fraction"),
    params:
        p=GK["p"],
    log:
        f"{LOGS}/figures/grokking_fraction.log",
    shell:
        "{LD} grokking plot_fraction --members {input} --p {params.p}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
