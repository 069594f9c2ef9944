# Linear study (seed 003): stage-wise learning of singular modes against the exact solution.

from learning_dynamics.linear import RUNS as LINEAR_RUNS
from learning_dynamics.linear import run_config as linear_run_config
from learning_dynamics.linear import sweep_jobs as linear_sweep_jobs
from learning_dynamics.linear.runs import data_config as linear_data_config

LN = config["linear"]
LN_DIR = f"{RESULTS}/linear"


rule linear_data:
    input:
        config=config_file(f"{LN_DIR}/data.config.json", linear_data_config(LN)),
    output:
        f"{LN_DIR}/data.h5",
    log:
        f"{LOGS}/linear/data.log",
    shell:
        "{LD} linear make_data --config {input.config} --out {output} > {log} 2>&1"


rule linear_train:
    input:
        data=rules.linear_data.output[0],
        config=config_file(f"{LN_DIR}/{{run}}/config.json", lambda w: linear_run_config(LN, w.run)),
    output:
        f"{LN_DIR}/{{run}}/history.h5",
    wildcard_constraints:
        run=one_of(LINEAR_RUNS),
    log:
        f"{LOGS}/linear/train_{{run}}.log",
    benchmark:
        f"{BENCH}/linear/train_{{run}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} linear train --config {input.config} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule linear_extract:
    input:
        history=f"{LN_DIR}/{{run}}/history.h5",
        data=rules.linear_data.output[0],
    output:
        f"{LN_DIR}/{{run}}/extract.h5",
    log:
        f"{LOGS}/linear/extract_{{run}}.log",
    shell:
        "{LD} linear extract --history {input.history} --data {input.data} --out {output}"
        " > {log} 2>&1"


rule linear_analyse:
    input:
        extract=f"{LN_DIR}/{{run}}/extract.h5",
        config=config_file(f"{LN_DIR}/analysis.config.json", LN["analysis"]),
    output:
        summary=f"{LN_DIR}/{{run}}/summary.json",
        modes=f"{LN_DIR}/{{run}}/modes.csv",
    log:
        f"{LOGS}/linear/analyse_{{run}}.log",
    shell:
        "{LD} linear analyse --config {input.config} --extract {input.extract}"
        " --summary {output.summary} --modes {output.modes} > {log} 2>&1"


# The sweep: `sweep.jobs` rule jobs, job k training its part of the grid (grids.job_items).
rule linear_sweep_train:
    input:
        config=config_file(f"{LN_DIR}/sweep/config.json", LN["sweep"]),
    output:
        f"{LN_DIR}/sweep/job{{job}}/history.h5",
    wildcard_constraints:
        job=one_of(linear_sweep_jobs(LN["sweep"])),
    log:
        f"{LOGS}/linear/sweep_train_{{job}}.log",
    benchmark:
        f"{BENCH}/linear/sweep_train_{{job}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} linear train_sweep --config {input.config} --job {wildcards.job}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule linear_sweep_analyse:
    input:
        histories=expand(
            f"{LN_DIR}/sweep/job{{job}}/history.h5", job=linear_sweep_jobs(LN["sweep"])
        ),
        config=config_file(f"{LN_DIR}/analysis.config.json", LN["analysis"]),
    output:
        table=f"{LN_DIR}/sweep/times.csv",
        summary=f"{LN_DIR}/sweep/summary.json",
    log:
        f"{LOGS}/linear/sweep_analyse.log",
    shell:
        "{LD} linear analyse_sweep --config {input.config} --histories {input.histories}"
        " --table {output.table} --summary {output.summary} > {log} 2>&1"


rule linear_modes:
    input:
        extract=f"{LN_DIR}/main/extract.h5",
        modes=f"{LN_DIR}/main/modes.csv",
    output:
        **figure("linear_modes"),
    log:
        f"{LOGS}/figures/linear_modes.log",
    shell:
        "{LD} linear plot_modes --extract {input.extract} --modes {input.modes}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule linear_loss:
    input:
        f"{LN_DIR}/main/extract.h5",
    output:
        **figure("linear_loss"),
    log:
        f"{LOGS}/figures/linear_loss.log",
    shell:
        "{LD} linear plot_loss --extract {input} --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule linear_weight_error:
    input:
        f"{LN_DIR}/main/extract.h5",
    output:
        **figure("linear_weight_error"),
    log:
        f"{LOGS}/figures/linear_weight_error.log",
    shell:
        "{LD} linear plot_weight_error --extract {input} --pdf {output.pdf} --png {output.png}"
        " > {log} 2>&1"


rule linear_trajectories:
    input:
        f"{LN_DIR}/main/extract.h5",
    output:
        **figure("linear_trajectories"),
    log:
        f"{LOGS}/figures/linear_trajectories.log",
    shell:
        "{LD} linear plot_trajectories --extract {input} --pdf {output.pdf} --png {output.png}"
        " > {log} 2>&1"


rule linear_sweep:
    input:
        f"{LN_DIR}/sweep/times.csv",
    output:
        **figure("linear_sweep"),
    log:
        f"{LOGS}/figures/linear_sweep.log",
    shell:
        "{LD} linear plot_sweep --table {input} --pdf {output.pdf} --png {output.png} > {log} 2>&1"


# The interactive page: the map and the modes at the slider's step.
rule linear_explorer:
    input:
        f"{LN_DIR}/main/extract.h5",
    output:
        **page("linear_explorer"),
    log:
        f"{LOGS}/figures/linear_explorer.log",
    benchmark:
        f"{BENCH}/figures/linear_explorer.tsv"
    shell:
        "{LD} linear explore --extract {input} --out {output.html} > {log} 2>&1"


# The local learning coefficient (linear/llc.py): first against Aoyagi's closed form, then over
# the seed's run (stored snapshots; no retraining).
rule linear_llc_validate:
    input:
        config=config_file(f"{LN_DIR}/llc/validation.config.json", LN["llc"]["validation"]),
    output:
        table=f"{LN_DIR}/llc/validation.csv",
        arrays=f"{LN_DIR}/llc/validation.h5",
    log:
        f"{LOGS}/linear/llc_validate.log",
    benchmark:
        f"{BENCH}/linear/llc_validate.tsv"
    shell:
        "{LD} linear llc_validate --config {input.config} --table {output.table}"
        " --arrays {output.arrays} --threads 1 > {log} 2>&1"


rule linear_llc_estimate:
    input:
        history=f"{LN_DIR}/main/history.h5",
        data=rules.linear_data.output[0],
        extract=f"{LN_DIR}/main/extract.h5",
        config=config_file(
            f"{LN_DIR}/llc/config.json",
            {k: v for k, v in LN["llc"].items() if k != "validation"},
        ),
    output:
        arrays=f"{LN_DIR}/llc/main.h5",
        summary=f"{LN_DIR}/llc/summary.json",
    log:
        f"{LOGS}/linear/llc_main.log",
    benchmark:
        f"{BENCH}/linear/llc_main.tsv"
    shell:
        "{LD} linear llc --config {input.config} --history {input.history} --data {input.data}"
        " --extract {input.extract} --out {output.arrays} --summary {output.summary}"
        " --threads 1 > {log} 2>&1"


rule linear_llc_validation:
    input:
        table=f"{LN_DIR}/llc/validation.csv",
        arrays=f"{LN_DIR}/llc/validation.h5",
    output:
        **figure("linear_llc_validation"),
    log:
        f"{LOGS}/figures/linear_llc_validation.log",
    shell:
        "{LD} linear plot_llc_validation --table {input.table} --arrays {input.arrays}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule linear_llc:
    input:
        llc=f"{LN_DIR}/llc/main.h5",
        extract=f"{LN_DIR}/main/extract.h5",
    output:
        **figure("linear_llc"),
    log:
        f"{LOGS}/figures/linear_llc.log",
    shell:
        "{LD} linear plot_llc --llc {input.llc} --extract {input.extract}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
