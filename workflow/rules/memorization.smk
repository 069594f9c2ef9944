# Memorization study (seed 001): attention-only transformers memorizing associations.
# Every seed cell is one training job; the scaling grid and the capacity sweeps are split into
# `jobs` chunks (config). Each job: data (its laws) -> train (one batched ensemble per shape)
# -> extract; each cell/sweep (registry: `CELLS` in src/learning_dynamics/memorization/runs.py):
# analyse -> one figure `memorization_<cell>`, drawn by `plot --cell <cell>` with the `draw` of
# src/learning_dynamics/memorization/cells/<module>.py.

from learning_dynamics.memorization import runs as mem_runs

MZ = config["memorization"]
MZ_DIR = f"{RESULTS}/memorization"
MZ_JOBS = one_of(mem_runs.jobs(MZ))
MZ_CELLS = one_of(mem_runs.CELLS)


# The shell line of every figure rule below (the cell is the rule's `params.cell`).
MZ_PLOT = (
    "{LD} memorization plot --cell {params.cell} --summary {input.summary}"
    " --table {input.table} --arrays {input.arrays} --extracts {input.extracts}"
    " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
)


rule memorization_data:
    input:
        config=config_file(
            f"{MZ_DIR}/{{job}}/data.config.json",
            lambda w: mem_runs.data_config(mem_runs.job_config(MZ, w.job)),
        ),
    output:
        f"{MZ_DIR}/{{job}}/data.h5",
    wildcard_constraints:
        job=MZ_JOBS,
    log:
        f"{LOGS}/memorization/data_{{job}}.log",
    shell:
        "{LD} memorization make_data --config {input.config} --out {output} > {log} 2>&1"


rule memorization_train:
    input:
        data=f"{MZ_DIR}/{{job}}/data.h5",
        config=config_file(
            f"{MZ_DIR}/{{job}}/config.json", lambda w: mem_runs.job_config(MZ, w.job)
        ),
    output:
        f"{MZ_DIR}/{{job}}/history.h5",
    wildcard_constraints:
        job=MZ_JOBS,
    log:
        f"{LOGS}/memorization/train_{{job}}.log",
    benchmark:
        f"{BENCH}/memorization/train_{{job}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} memorization train --config {input.config} --data {input.data}"
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
        config=config_file(
            f"{MZ_DIR}/{{cell}}/analysis.config.json",
            lambda w: {mem_runs.cell_block(w.cell): MZ[mem_runs.cell_block(w.cell)]},
        ),
    output:
        summary=f"{MZ_DIR}/{{cell}}/summary.json",
        table=f"{MZ_DIR}/{{cell}}/table.csv",
        arrays=f"{MZ_DIR}/{{cell}}/arrays.h5",
    wildcard_constraints:
        cell=MZ_CELLS,
    log:
        f"{LOGS}/memorization/analyse_{{cell}}.log",
    threads: 1
    shell:
        "{LD} memorization analyse --cell {wildcards.cell} --extracts {input.extracts}"
        " --data {input.data} --config {input.config} --summary {output.summary}"
        " --table {output.table} --arrays {output.arrays} --threads {threads} > {log} 2>&1"


# One target per figure: `snakemake memorization_<cell>`; the draw of the cell's module draws it.
rule memorization_dynamics:
    input:
        **mem_runs.figure_inputs(MZ, "dynamics", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "freezing", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "scaling", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "architecture", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "attention", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "contributions", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "superposition", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "rank_distance", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "almost_rank", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "capacity_heads", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "capacity_head_dim", MZ_DIR),
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
        **mem_runs.figure_inputs(MZ, "capacity_embed_dim", MZ_DIR),
    output:
        **figure("memorization_capacity_embed_dim"),
    params:
        cell="capacity_embed_dim",
    log:
        f"{LOGS}/figures/memorization_capacity_embed_dim.log",
    shell:
        MZ_PLOT


rule memorization_capacity_diag:
    input:
        **mem_runs.figure_inputs(MZ, "capacity_diag", MZ_DIR),
    output:
        **figure("memorization_capacity_diag"),
    params:
        cell="capacity_diag",
    log:
        f"{LOGS}/figures/memorization_capacity_diag.log",
    shell:
        MZ_PLOT


# The interactive page: cell 1's attention maps and head contributions over training.
rule memorization_explorer:
    input:
        history=f"{MZ_DIR}/dynamics/history.h5",
        data=f"{MZ_DIR}/dynamics/data.h5",
    output:
        **page("memorization_explorer"),
    log:
        f"{LOGS}/figures/memorization_explorer.log",
    benchmark:
        f"{BENCH}/figures/memorization_explorer.tsv"
    shell:
        "{LD} memorization explore --history {input.history} --data {input.data}"
        " --out {output.html} > {log} 2>&1"


# The local learning coefficient and essential dynamics of cell 1's run (memorization/llc.py),
# from its stored history.
rule memorization_llc_estimate:
    input:
        history=f"{MZ_DIR}/dynamics/history.h5",
        data=f"{MZ_DIR}/dynamics/data.h5",
        config=config_file(f"{MZ_DIR}/llc/config.json", MZ["llc"]),
    output:
        arrays=f"{MZ_DIR}/llc/llc.h5",
        summary=f"{MZ_DIR}/llc/summary.json",
    log:
        f"{LOGS}/memorization/llc.log",
    benchmark:
        f"{BENCH}/memorization/llc.tsv"
    shell:
        "{LD} memorization llc --config {input.config} --history {input.history}"
        " --data {input.data} --out {output.arrays} --summary {output.summary}"
        " --threads 1 > {log} 2>&1"


rule memorization_llc:
    input:
        f"{MZ_DIR}/llc/llc.h5",
    output:
        **figure("memorization_llc"),
    log:
        f"{LOGS}/figures/memorization_llc.log",
    shell:
        "{LD} memorization plot_llc --llc {input} --pdf {output.pdf} --png {output.png}"
        " > {log} 2>&1"
