# Memorization study (seed 001): attention-only transformers memorizing associations.
# Every seed cell is one training job; the scaling grid and the capacity sweeps are split into
# `jobs` chunks (config). Each job: data (its laws) -> train (one batched ensemble per shape)
# -> extract; each cell/sweep: analyse -> one figure `memorization_<cell>`.

from learning_dynamics.memorization import runs as mem_runs

MZ = config["memorization"]
MZ_DIR = f"{RESULTS}/memorization"
MZ_JOBS = "|".join(mem_runs.jobs(MZ))
MZ_CELLS = "|".join(mem_runs.ANALYSES)


rule memorization_data:
    output:
        f"{MZ_DIR}/{{job}}/data.h5",
    wildcard_constraints:
        job=MZ_JOBS,
    params:
        config=lambda w: as_json(mem_runs.data_config(mem_runs.job_config(MZ, w.job))),
    log:
        f"{LOGS}/memorization/data_{{job}}.log",
    shell:
        "{LD} memorization make_data --config {params.config:q} --out {output} > {log} 2>&1"


rule memorization_train:
    input:
        data=f"{MZ_DIR}/{{job}}/data.h5",
    output:
        f"{MZ_DIR}/{{job}}/history.h5",
    wildcard_constraints:
        job=MZ_JOBS,
    params:
        config=lambda w: as_json(mem_runs.job_config(MZ, w.job)),
    log:
        f"{LOGS}/memorization/train_{{job}}.log",
    benchmark:
        f"{BENCH}/memorization/train_{{job}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} memorization train --config {params.config:q} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule memorization_extract:
    input:
        f"{MZ_DIR}/{{job}}/history.h5",
    output:
        f"{MZ_DIR}/{{job}}/extract.h5",
    wildcard_constraints:
        job=MZ_JOBS,
    log:
        f"{LOGS}/memorization/extract_{{job}}.log",
    shell:
        "{LD} memorization extract --history {input} --out {output} > {log} 2>&1"


rule memorization_analyse:
    input:
        extracts=lambda w: [f"{MZ_DIR}/{j}/extract.h5" for j in mem_runs.cell_jobs(MZ, w.cell)],
        data=lambda w: [f"{MZ_DIR}/{j}/data.h5" for j in mem_runs.cell_jobs(MZ, w.cell)],
    output:
        summary=f"{MZ_DIR}/{{cell}}/summary.json",
        table=f"{MZ_DIR}/{{cell}}/table.csv",
        arrays=f"{MZ_DIR}/{{cell}}/arrays.h5",
    wildcard_constraints:
        cell=MZ_CELLS,
    params:
        config=lambda w: as_json({mem_runs.cell_block(w.cell): MZ[mem_runs.cell_block(w.cell)]}),
    log:
        f"{LOGS}/memorization/analyse_{{cell}}.log",
    threads: 1
    shell:
        "{LD} memorization analyse --cell {wildcards.cell} --extracts {input.extracts}"
        " --data {input.data} --config {params.config:q} --summary {output.summary}"
        " --table {output.table} --arrays {output.arrays} --threads {threads} > {log} 2>&1"


# One target per figure: `snakemake memorization_<cell>`.
for _cell in mem_runs.ANALYSES:

    rule:
        name:
            f"memorization_{_cell}"
        input:
            summary=f"{MZ_DIR}/{_cell}/summary.json",
            table=f"{MZ_DIR}/{_cell}/table.csv",
            arrays=f"{MZ_DIR}/{_cell}/arrays.h5",
            extracts=[f"{MZ_DIR}/{j}/extract.h5" for j in mem_runs.cell_jobs(MZ, _cell)],
        output:
            **figure(f"memorization_{_cell}"),
        params:
            cell=_cell,
        log:
            f"{LOGS}/figures/memorization_{_cell}.log",
        shell:
            "{LD} memorization plot --cell {params.cell} --summary {input.summary}"
            " --table {input.table} --arrays {input.arrays} --extracts {input.extracts}"
            " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
