# Reproduction scorecard: every study's claims (config/claims/*.yaml) against the files the DAG
# writes. Its inputs are exactly the files the claims read, found when the workflow is parsed.

from pathlib import Path

from learning_dynamics.reproduction.claims import claim_files, load_claims, value_files

CLAIM_FILES = claim_files(Path(workflow.basedir).parent / "config" / "claims")
# An unknown key, a missing field or a duplicate id stops the workflow here, naming file and claim.
CLAIMS = load_claims(CLAIM_FILES, studies=[k for k in config if k not in ("level", "resources")])
RP_DIR = f"{RESULTS}/reproduction"


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
        "{LD} reproduction scorecard --claims {input.claims} --results {params.results}"
        " --level {params.level} --csv {output.csv} --md {output.md} > {log} 2>&1"


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
