# Superposition study (seed 000): loss plateaus and feature geometry of an untied toy model.

from learning_dynamics.superposition import RUNS as SUPERPOSITION_RUNS
from learning_dynamics.superposition import run_config as superposition_run_config

SP = config["superposition"]
SP_DIR = f"{RESULTS}/superposition"


rule superposition_data:
    output:
        f"{SP_DIR}/data.h5",
    params:
        features=SP["features"],
    log:
        f"{LOGS}/superposition/data.log",
    shell:
        "{LD} superposition make_data --features {params.features} --out {output} > {log} 2>&1"


rule superposition_train:
    input:
        data=rules.superposition_data.output[0],
        config=config_file(
            f"{SP_DIR}/{{run}}/config.json", lambda w: superposition_run_config(SP, w.run)
        ),
    output:
        f"{SP_DIR}/{{run}}/history.h5",
    wildcard_constraints:
        run=one_of(SUPERPOSITION_RUNS),
    log:
        f"{LOGS}/superposition/train_{{run}}.log",
    benchmark:
        f"{BENCH}/superposition/train_{{run}}.tsv"
    threads: 1
    resources:
        **TRAIN_RESOURCES,
    shell:
        "{LD} superposition train --config {input.config} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule superposition_extract:
    input:
        f"{SP_DIR}/{{run}}/history.h5",
    output:
        f"{SP_DIR}/{{run}}/extract.h5",
    log:
        f"{LOGS}/superposition/extract_{{run}}.log",
    shell:
        "{LD} superposition extract --history {input} --out {output} > {log} 2>&1"


rule superposition_analyse:
    input:
        extract=f"{SP_DIR}/{{run}}/extract.h5",
        config=config_file(f"{SP_DIR}/analysis.config.json", SP["analysis"]),
    output:
        summary=f"{SP_DIR}/{{run}}/summary.json",
        members=f"{SP_DIR}/{{run}}/members.csv",
        plateaus=f"{SP_DIR}/{{run}}/plateaus.csv",
    log:
        f"{LOGS}/superposition/analyse_{{run}}.log",
    shell:
        "{LD} superposition analyse --config {input.config} --extract {input.extract}"
        " --summary {output.summary} --members {output.members} --plateaus {output.plateaus}"
        " > {log} 2>&1"


rule superposition_loss:
    input:
        extract=f"{SP_DIR}/main/extract.h5",
        plateaus=f"{SP_DIR}/main/plateaus.csv",
    output:
        **figure("superposition_loss"),
    log:
        f"{LOGS}/figures/superposition_loss.log",
    shell:
        "{LD} superposition plot_loss --extract {input.extract} --plateaus {input.plateaus}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule superposition_geometry:
    input:
        f"{SP_DIR}/main/history.h5",
    output:
        **figure("superposition_geometry", "gif"),
    params:
        epochs=SP["figure_epochs"],
        frames=SP["gif_frames"],
    log:
        f"{LOGS}/figures/superposition_geometry.log",
    shell:
        "{LD} superposition plot_geometry --history {input} --epochs {params.epochs}"
        " --frames {params.frames} --pdf {output.pdf} --png {output.png} --gif {output.gif}"
        " > {log} 2>&1"


rule superposition_products:
    input:
        f"{SP_DIR}/main/extract.h5",
    output:
        **figure("superposition_products", "gif"),
    params:
        epochs=SP["figure_epochs"],
        frames=SP["gif_frames"],
    log:
        f"{LOGS}/figures/superposition_products.log",
    shell:
        "{LD} superposition plot_products --extract {input} --epochs {params.epochs}"
        " --frames {params.frames} --pdf {output.pdf} --png {output.png} --gif {output.gif}"
        " > {log} 2>&1"


rule superposition_tied:
    input:
        extract=f"{SP_DIR}/tied/extract.h5",
        history=f"{SP_DIR}/tied/history.h5",
    output:
        **figure("superposition_tied"),
    log:
        f"{LOGS}/figures/superposition_tied.log",
    shell:
        "{LD} superposition plot_tied --extract {input.extract} --history {input.history}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule superposition_ensemble:
    input:
        extract=f"{SP_DIR}/ensemble/extract.h5",
        members=f"{SP_DIR}/ensemble/members.csv",
    output:
        **figure("superposition_ensemble"),
    log:
        f"{LOGS}/figures/superposition_ensemble.log",
    shell:
        "{LD} superposition plot_ensemble --extract {input.extract} --members {input.members}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"


# The interactive page: the seed's sliders over the main run and every ensemble seed.
rule superposition_explorer:
    input:
        main=f"{SP_DIR}/main/history.h5",
        ensemble=f"{SP_DIR}/ensemble/history.h5",
    output:
        **page("superposition_explorer"),
    log:
        f"{LOGS}/figures/superposition_explorer.log",
    benchmark:
        f"{BENCH}/figures/superposition_explorer.tsv"
    shell:
        "{LD} superposition explore --main {input.main} --ensemble {input.ensemble}"
        " --out {output.html} > {log} 2>&1"


# The local learning coefficient and essential dynamics over training (superposition/llc.py),
# from the stored histories of seed 42 and of the ensemble seeds that plateau, then drop.
rule superposition_llc_estimate:
    input:
        main=f"{SP_DIR}/main/history.h5",
        ensemble=f"{SP_DIR}/ensemble/history.h5",
        members=f"{SP_DIR}/ensemble/members.csv",
        config=config_file(f"{SP_DIR}/llc/config.json", SP["llc"]),
    output:
        arrays=f"{SP_DIR}/llc/llc.h5",
        summary=f"{SP_DIR}/llc/summary.json",
    log:
        f"{LOGS}/superposition/llc.log",
    benchmark:
        f"{BENCH}/superposition/llc.tsv"
    shell:
        "{LD} superposition llc --config {input.config} --main {input.main}"
        " --ensemble {input.ensemble} --members {input.members} --out {output.arrays}"
        " --summary {output.summary} --threads 1 > {log} 2>&1"


rule superposition_llc:
    input:
        llc=f"{SP_DIR}/llc/llc.h5",
        plateaus=f"{SP_DIR}/main/plateaus.csv",
    output:
        **figure("superposition_llc"),
    log:
        f"{LOGS}/figures/superposition_llc.log",
    shell:
        "{LD} superposition plot_llc --llc {input.llc} --plateaus {input.plateaus}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
