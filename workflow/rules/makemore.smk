# Makemore study (seed 002): BatchNorm MLP on names; activation, gradient and update histories.

from learning_dynamics.makemore import RUNS as MAKEMORE_RUNS
from learning_dynamics.makemore import run_config as makemore_run_config
from learning_dynamics.makemore.runs import train_threads as makemore_train_threads

MM = config["makemore"]
MM_DIR = f"{RESULTS}/makemore"
MM_NAMES = workflow.source_path("../../data/names.txt")
MM_COMPARE = [f"{MM_DIR}/{run}/extract.h5" for run in MM["compare"]]


rule makemore_data:
    input:
        MM_NAMES,
    output:
        f"{MM_DIR}/data.h5",
    params:
        block_size=MM["block_size"],
        seed=MM["data_seed"],
    log:
        f"{LOGS}/makemore/data.log",
    shell:
        "{LD} makemore make_data --names {input} --block-size {params.block_size}"
        " --seed {params.seed} --out {output} > {log} 2>&1"


rule makemore_train:
    input:
        data=rules.makemore_data.output[0],
        config=config_file(
            f"{MM_DIR}/{{run}}/config.json", lambda w: makemore_run_config(MM, w.run)
        ),
    output:
        f"{MM_DIR}/{{run}}/history.h5",
    wildcard_constraints:
        run=one_of(MAKEMORE_RUNS),
    log:
        f"{LOGS}/makemore/train_{{run}}.log",
    benchmark:
        f"{BENCH}/makemore/train_{{run}}.tsv"
    threads: lambda w: makemore_train_threads(makemore_run_config(MM, w.run))
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} makemore train --config {input.config} --data {input.data}"
        " --out {output} --threads 1 > {log} 2>&1"


rule makemore_extract:
    input:
        f"{MM_DIR}/{{run}}/history.h5",
    output:
        f"{MM_DIR}/{{run}}/extract.h5",
    log:
        f"{LOGS}/makemore/extract_{{run}}.log",
    shell:
        "{LD} makemore extract --history {input} --out {output} > {log} 2>&1"


rule makemore_analyse:
    input:
        history=f"{MM_DIR}/{{run}}/history.h5",
        extract=f"{MM_DIR}/{{run}}/extract.h5",
        data=rules.makemore_data.output[0],
    output:
        summary=f"{MM_DIR}/{{run}}/summary.json",
        losses=f"{MM_DIR}/{{run}}/losses.csv",
        samples=f"{MM_DIR}/{{run}}/samples.csv",
    params:
        n_samples=MM["samples"]["count"],
        seed=MM["samples"]["seed"],
    log:
        f"{LOGS}/makemore/analyse_{{run}}.log",
    threads: 1
    shell:
        "{LD} makemore analyse --history {input.history} --data {input.data}"
        " --extract {input.extract} --count {params.n_samples} --seed {params.seed}"
        " --summary {output.summary} --losses {output.losses} --samples {output.samples}"
        " --threads {threads} > {log} 2>&1"


rule makemore_loss:
    input:
        extract=f"{MM_DIR}/main/extract.h5",
        losses=f"{MM_DIR}/main/losses.csv",
    output:
        **figure("makemore_loss"),
    log:
        f"{LOGS}/figures/makemore_loss.log",
    shell:
        "{LD} makemore plot_loss --extract {input.extract} --losses {input.losses}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule makemore_activations:
    input:
        MM_COMPARE,
    output:
        **figure("makemore_activations"),
    log:
        f"{LOGS}/figures/makemore_activations.log",
    shell:
        "{LD} makemore plot_activations --extract {input}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule makemore_activation_grads:
    input:
        MM_COMPARE,
    output:
        **figure("makemore_activation_grads"),
    log:
        f"{LOGS}/figures/makemore_activation_grads.log",
    shell:
        "{LD} makemore plot_activation_grads --extract {input}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule makemore_weight_grads:
    input:
        MM_COMPARE,
    output:
        **figure("makemore_weight_grads"),
    log:
        f"{LOGS}/figures/makemore_weight_grads.log",
    shell:
        "{LD} makemore plot_weight_grads --extract {input}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule makemore_update_ratio:
    input:
        MM_COMPARE,
    output:
        **figure("makemore_update_ratio"),
    log:
        f"{LOGS}/figures/makemore_update_ratio.log",
    shell:
        "{LD} makemore plot_update_ratio --extract {input}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule makemore_samples:
    input:
        f"{MM_DIR}/main/samples.csv",
    output:
        **figure("makemore_samples"),
    params:
        seed=MM["samples"]["seed"],
    log:
        f"{LOGS}/figures/makemore_samples.log",
    shell:
        "{LD} makemore plot_samples --samples {input} --seed {params.seed}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


# The interactive page: every layer's histograms over training, BatchNorm on and off.
rule makemore_explorer:
    input:
        bn=f"{MM_DIR}/deepbn/history.h5",
        nobn=f"{MM_DIR}/deepnobn/history.h5",
    output:
        **page("makemore_explorer"),
    log:
        f"{LOGS}/figures/makemore_explorer.log",
    benchmark:
        f"{BENCH}/figures/makemore_explorer.tsv"
    shell:
        "{LD} makemore explore --bn {input.bn} --nobn {input.nobn} --out {output.html}"
        " > {log} 2>&1"
