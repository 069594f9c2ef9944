# Memorization study (seed 001): attention-only transformers memorizing associations.
# Every seed cell is one training job; the scaling grid and the capacity sweeps are split into
# `jobs` chunks (config). Each job: data (its laws) -> train (one batched ensemble per shape)
# -> extract; each cell/sweep: analyse -> one figure `memorization_<cell>`, drawn by the `plot`
# of src/learning_dynamics/memorization/cells/<module>.py (registry: cells.MODULES).

from learning_dynamics.memorization import cells as mem_cells
from learning_dynamics.memorization import runs as mem_runs

MZ = config["memorization"]
MZ_DIR = f"{RESULTS}/memorization"
MZ_JOBS = "|".join(mem_runs.jobs(MZ))
MZ_CELLS = "|".join(mem_cells.MODULES)


def mz_figure_inputs(cell):
    """What a cell's figure reads: its analysis files and its training jobs' extracts."""
    return {
        "summary": f"{MZ_DIR}/{cell}/summary.json",
        "table": f"{MZ_DIR}/{cell}/table.csv",
        "arrays": f"{MZ_DIR}/{cell}/arrays.h5",
        "extracts": [f"{MZ_DIR}/{j}/extract.h5" for j in mem_runs.cell_jobs(MZ, cell)],
    }


# The shell line of every figure rule below (the cell is the rule's `params.cell`).
MZ_PLOT = (
    "{LD} memorization plot --cell {params.cell} --summary {input.summary}"
    " --table {input.table} --arrays {input.arrays} --extracts {input.extracts}"
    " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
)


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


# One target per figure: `snakemake memorization_<cell>`; the cell's module draws it.
rule memorization_dynamics:
    input:
        **mz_figure_inputs("dynamics"),
    output:
        **figure("memorization_dynamics"),
    params:
        cell="dynamics",
    log:
        f"{LOGS}/figures/memorization_dynamics.log",
    shell:
        MZ_PLOT


rule memorization_freezing:
    input:
        **mz_figure_inputs("freezing"),
    output:
        **figure("memorization_freezing"),
    params:
        cell="freezing",
    log:
        f"{LOGS}/figures/memorization_freezing.log",
    shell:
        MZ_PLOT


rule memorization_scaling:
    input:
        **mz_figure_inputs("scaling"),
    output:
        **figure("memorization_scaling"),
    params:
        cell="scaling",
    log:
        f"{LOGS}/figures/memorization_scaling.log",
    shell:
        MZ_PLOT


rule memorization_architecture:
    input:
        **mz_figure_inputs("architecture"),
    output:
        **figure("memorization_architecture"),
    params:
        cell="architecture",
    log:
        f"{LOGS}/figures/memorization_architecture.log",
    shell:
        MZ_PLOT


rule memorization_attention:
    input:
        **mz_figure_inputs("attention"),
    output:
        **figure("memorization_attention"),
    params:
        cell="attention",
    log:
        f"{LOGS}/figures/memorization_attention.log",
    shell:
        MZ_PLOT


rule memorization_contributions:
    input:
        **mz_figure_inputs("contributions"),
    output:
        **figure("memorization_contributions"),
    params:
        cell="contributions",
    log:
        f"{LOGS}/figures/memorization_contributions.log",
    shell:
        MZ_PLOT


rule memorization_superposition:
    input:
        **mz_figure_inputs("superposition"),
    output:
        **figure("memorization_superposition"),
    params:
        cell="superposition",
    log:
        f"{LOGS}/figures/memorization_superposition.log",
    shell:
        MZ_PLOT


rule memorization_rank_distance:
    input:
        **mz_figure_inputs("rank_distance"),
    output:
        **figure("memorization_rank_distance"),
    params:
        cell="rank_distance",
    log:
        f"{LOGS}/figures/memorization_rank_distance.log",
    shell:
        MZ_PLOT


rule memorization_almost_rank:
    input:
        **mz_figure_inputs("almost_rank"),
    output:
        **figure("memorization_almost_rank"),
    params:
        cell="almost_rank",
    log:
        f"{LOGS}/figures/memorization_almost_rank.log",
    shell:
        MZ_PLOT


rule memorization_capacity_heads:
    input:
        **mz_figure_inputs("capacity_heads"),
    output:
        **figure("memorization_capacity_heads"),
    params:
        cell="capacity_heads",
    log:
        f"{LOGS}/figures/memorization_capacity_heads.log",
    shell:
        MZ_PLOT


rule memorization_capacity_head_dim:
    input:
        **mz_figure_inputs("capacity_head_dim"),
    output:
        **figure("memorization_capacity_head_dim"),
    params:
        cell="capacity_head_dim",
    log:
        f"{LOGS}/figures/memorization_capacity_head_dim.log",
    shell:
        MZ_PLOT


rule memorization_capacity_embed_dim:
    input:
        **mz_figure_inputs("capacity_embed_dim"),
    output:
        **figure("memorization_capacity_embed_dim"),
    params:
        cell="capacity_embed_dim",
    log:
        f"{LOGS}/figures/memorization_capacity_embed_dim.log",
    shell:
        MZ_PLOT
