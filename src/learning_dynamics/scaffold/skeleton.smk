# Skeleton study: a two-layer linear network learning a linear teacher, mode by mode.

from learning_dynamics.skeleton import RUNS as SKELETON_RUNS
from learning_dynamics.skeleton import data_config as skeleton_data_config
from learning_dynamics.skeleton import run_config as skeleton_run_config

SKELETON = config["skeleton"]
SKELETON_DIR = f"{RESULTS}/skeleton"


rule skeleton_data:
    input:
        config=config_file(
            f"{SKELETON_DIR}/data.config.json",
            skeleton_data_config(SKELETON),
        ),
    output:
        f"{SKELETON_DIR}/data.h5",
    log:
        f"{LOGS}/skeleton/data.log",
    shell:
        "{LD} skeleton make_data --config {input.config} --out {output} > {log} 2>&1"


rule skeleton_train:
    input:
        data=rules.skeleton_data.output[0],
        config=config_file(
            f"{SKELETON_DIR}/{{run}}/config.json",
            lambda w: skeleton_run_config(SKELETON, w.run),
        ),
    output:
        f"{SKELETON_DIR}/{{run}}/history.h5",
    wildcard_constraints:
        run=one_of(SKELETON_RUNS),
    log:
        f"{LOGS}/skeleton/train_{{run}}.log",
    benchmark:
        f"{BENCH}/skeleton/train_{{run}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} skeleton train --config {input.config} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule skeleton_extract:
    input:
        history=f"{SKELETON_DIR}/{{run}}/history.h5",
        data=rules.skeleton_data.output[0],
    output:
        f"{SKELETON_DIR}/{{run}}/extract.h5",
    log:
        f"{LOGS}/skeleton/extract_{{run}}.log",
    shell:
        "{LD} skeleton extract --history {input.history} --data {input.data}"
        " --out {output} > {log} 2>&1"


rule skeleton_analyse:
    input:
        f"{SKELETON_DIR}/{{run}}/extract.h5",
    output:
        f"{SKELETON_DIR}/{{run}}/summary.json",
    log:
        f"{LOGS}/skeleton/analyse_{{run}}.log",
    shell:
        "{LD} skeleton analyse --extract {input} --summary {output} > {log} 2>&1"


rule skeleton_loss:
    input:
        extract=f"{SKELETON_DIR}/main/extract.h5",
    output:
        **figure("skeleton_loss"),
    log:
        f"{LOGS}/figures/skeleton_loss.log",
    shell:
        "{LD} skeleton plot_loss --extract {input.extract} --pdf {output.pdf}"
        " --png {output.png} > {log} 2>&1"
