# Reproduction scorecard: every study's claims (config/claims/*.yaml) against the files the DAG
# writes. Its inputs are exactly the files the claims read, found when the workflow is parsed.
# `rule reproduction` scores every study (in `rule all`); `reproduction_<study>` one study alone.

from pathlib import Path

from learning_dynamics import studies
from learning_dynamics.reproduction.claims import claim_files, load_claims, value_files

CLAIM_FILES = claim_files(Path(workflow.basedir).parent / "config" / "claims")
# An unknown key, a missing field or a duplicate id stops the workflow here, naming file and claim.
CLAIMS = load_claims(CLAIM_FILES, studies=studies())
RP_DIR = f"{RESULTS}/reproduction"
RP_SHELL = (
    "{LD} reproduction scorecard --claims {input.claims} --results {params.results}"
    " --level {params.level} --csv {output.csv} --md {output.md} > {log} 2>&1"
)


rule reproduction:
    input:
        claims=CLAIM_FILES,
        values=value_files(CLAIMS, RESULTS),
    output:
        csv=f"{RP_DIR}/scorecard.csv",
        md=f"{RP_DIR}/scorecard.md",
    params:
        level=config["level"],
        results=lambda w, output: Path(output.csv).parents[1],  # results/
    log:
        f"{LOGS}/reproduction/scorecard.log",
    shell:
        RP_SHELL


# One rule per study, named reproduction_<study>: its claims files and the files they read only,
# so `snakemake reproduction_linear` builds and scores the linear study alone.
for _study in studies():
    _claims = [c for c in CLAIMS if c.study == _study]

    rule:
        name:
            f"reproduction_{_study}"
        input:
            claims=sorted({c.path for c in _claims}),
            values=value_files(_claims, RESULTS),
        output:
            csv=f"{RP_DIR}/{_study}/scorecard.csv",
            md=f"{RP_DIR}/{_study}/scorecard.md",
        params:
            level=config["level"],
            results=lambda w, output: Path(output.csv).parents[2],  # results/
        log:
            f"{LOGS}/reproduction/scorecard_{_study}.log",
        shell:
            RP_SHELL


rule reproduction_scorecard:
    input:
        f"{RP_DIR}/scorecard.csv",
    output:
        **figure("reproduction_scorecard"),
    log:
        f"{LOGS}/figures/reproduction_scorecard.log",
    shell:
        "{LD} reproduction plot_scorecard --scorecard {input}"
        " --pdf {output.pdf} --png {output.png} > {log} 2>&1"
