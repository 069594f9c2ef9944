"""The GPU path in one script (`make gpu-check`): tests on CUDA, CUDA against CPU, full budgets.

1. the test suite with `LD_DEVICE=<device>`;
2. the quick build twice, once on the CPU (`LD_DEVICE=cpu`) and once on the device, each into
   its own directory (`snakemake --directory`), then every number of every `summary.json` and
   CSV compared (`learning_dynamics.reproduction.compare`): they agree when
   |device − cpu| <= atol + rtol·|cpu|, by default rtol 1e-3, atol 1e-6 (float32 reductions run
   in another order on a GPU; trajectories that amplify rounding, e.g. minibatch SGD or plateau
   detection, may still differ, and every such number is listed);
3. the largest part of `config/full.yaml` that fits in a time budget (default 600 s): the
   targets of FULL_TARGETS in turn, each given what is left of the budget, timed.

It writes `<out>/report.md` and `<out>/report.json` and exits 1 if the tests fail or the two quick
builds disagree. `--device cpu` runs the same script as a dry check on a machine without a GPU:
step 2 then compares two CPU builds, which must agree exactly (same config + seed, same numbers).

    python benchmarks/gpu_check.py                       # on a GPU machine: everything
    python benchmarks/gpu_check.py --device cpu --tests "tests/test_linear.py -x" \
        --quick-targets superposition_loss --full-budget-s 60   # a short dry check on a CPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# In order: what the full budgets change most (seeds, grids, longer runs), then everything.
FULL_TARGETS = [
    "superposition_ensemble",  # 256 seeds in one batched run
    "linear_sweep",  # the 48 x 48 grid, 8 jobs
    "makemore_activations",  # main + both deep runs at 200000 steps
    "all",  # every figure and the scorecard at full budgets
]


def run(cmd: list[str], env: dict[str, str], timeout: float | None, log: Path) -> dict:
    """Run `cmd` in its own process group, output to `log`; on timeout the whole group is ended."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc, timed_out = None, True
    seconds = round(time.perf_counter() - start, 1)
    tail = log.read_text().strip().splitlines()[-1:] or [""]
    return {"cmd": " ".join(cmd), "rc": rc, "timed_out": timed_out, "seconds": seconds,
            "log": str(log), "last_line": tail[0]}  # fmt: skip


def snakemake(
    directory: Path, configfiles: list[str], targets: list[str], cores: str, gpus: int
) -> list[str]:
    """The workflow into `directory`; with GPUs, at most one training job per GPU at a time."""
    exe = shutil.which("snakemake", path=str(BIN)) or "snakemake"
    resources = ["--resources", f"gpu={gpus}"] if gpus else []
    return [exe, "-s", str(ROOT / "workflow" / "Snakefile"), "-d", str(directory), *targets,
            "--cores", cores, *resources, "--configfile", *configfiles]  # fmt: skip


def machine(device: str) -> dict:
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__,
            "cuda_available": torch.cuda.is_available(), "device": device}  # fmt: skip
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--out", default=str(ROOT / "results" / "gpu-check"))
    p.add_argument("--cores", default="all")
    p.add_argument("--skip-tests", action="store_true")
    p.add_argument("--tests", default="", help="pytest arguments, one string (default: all)")
    p.add_argument("--quick-targets", nargs="*", default=[], help="default: every target")
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-6)
    p.add_argument("--full-budget-s", type=float, default=600.0)
    p.add_argument("--full-targets", nargs="*", default=FULL_TARGETS)
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also in a log

    from learning_dynamics.reproduction.compare import compare_trees

    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)  # a fresh build each time: nothing reused
    out.mkdir(parents=True)
    device_env = {"LD_DEVICE": args.device}
    gpus = 0
    if args.device == "cuda":
        import torch

        gpus = torch.cuda.device_count()
    report: dict = {"machine": machine(args.device), "args": vars(args)}
    ok = True

    # 1. The test suite on the device.
    if not args.skip_tests:
        cmd = [
            str(BIN / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *shlex.split(args.tests),
        ]
        report["tests"] = run(cmd, device_env, None, out / "logs" / "tests.log")
        ok &= report["tests"]["rc"] == 0
        print(f"tests on {args.device}: rc {report['tests']['rc']}, {report['tests']['seconds']} s,"
              f" {report['tests']['last_line']}")  # fmt: skip

    # 2. Quick build on the CPU and on the device, compared number by number.
    quick = [str(ROOT / "config" / "quick.yaml")]
    ref_dir, dev_dir = out / "quick-cpu", out / f"quick-{args.device}"
    if args.device == "cpu":
        dev_dir = out / "quick-cpu-again"
    builds = {}
    for name, directory, env, n in (("cpu", ref_dir, {"LD_DEVICE": "cpu"}, 0),
                                    (dev_dir.name, dev_dir, device_env, gpus)):  # fmt: skip
        cmd = snakemake(directory, quick, args.quick_targets, args.cores, n)
        builds[name] = run(cmd, env, None, out / "logs" / f"{directory.name}.log")
        print(f"quick build ({name}): rc {builds[name]['rc']}, {builds[name]['seconds']} s")
        ok &= builds[name]["rc"] == 0
    report["quick_builds"] = builds
    if all(b["rc"] == 0 for b in builds.values()):
        c = compare_trees(ref_dir, dev_dir, args.rtol, args.atol)
        report["comparison"] = {"files": c.files, "numbers": c.numbers, "texts": c.texts,
                                "max_rel": c.max_rel, "max_rel_at": c.max_rel_at,
                                "rtol": args.rtol, "atol": args.atol,
                                "mismatches": c.mismatches}  # fmt: skip
        ok &= c.ok and c.files > 0
        print(f"compared {c.files} files, {c.numbers} numbers, {c.texts} texts: largest relative"
              f" difference {c.max_rel:.3g} ({c.max_rel_at or '-'}), {len(c.mismatches)}"
              f" mismatches beyond rtol {args.rtol}, atol {args.atol}")  # fmt: skip
        for line in c.mismatches[:20]:
            print("  " + line)

    # 3. The largest part of config/full.yaml that fits in the budget, timed.
    full = [str(ROOT / "config" / "full.yaml")]
    left, parts = args.full_budget_s, []
    for target in args.full_targets:
        if left < 5:
            parts.append({"target": target, "skipped": "budget spent"})
            continue
        cmd = snakemake(out / "full", full, [target], args.cores, gpus)
        result = run(cmd, device_env, left, out / "logs" / f"full-{target}.log")
        parts.append({"target": target, **result})
        left -= result["seconds"]
        state = "timed out" if result["timed_out"] else f"rc {result['rc']}"
        print(f"full budget, {target}: {state}, {result['seconds']} s")
    report["full"] = {"budget_s": args.full_budget_s, "parts": parts}

    report["ok"] = bool(ok)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "report.md").write_text(markdown(report))
    print(f"{'PASS' if ok else 'FAIL'}; report: {out / 'report.md'}")
    return 0 if ok else 1


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = ["# GPU check", "", f"Machine: {json.dumps(m)}", ""]
    if "tests" in report:
        t = report["tests"]
        lines += [
            f"Tests (LD_DEVICE={m['device']}): rc {t['rc']}, {t['seconds']} s: {t['last_line']}"
        ]
    for name, b in report["quick_builds"].items():
        lines += [f"Quick build ({name}): rc {b['rc']}, {b['seconds']} s"]
    if "comparison" in report:
        c = report["comparison"]
        lines += ["", f"Comparison (rtol {c['rtol']}, atol {c['atol']}): {c['files']} files,"
                  f" {c['numbers']} numbers, {c['texts']} texts; largest relative difference"
                  f" {c['max_rel']:.3g} at {c['max_rel_at'] or '-'}; {len(c['mismatches'])}"
                  " mismatches", ""]  # fmt: skip
        lines += [f"- {x}" for x in c["mismatches"]]
    lines += ["", f"Full budgets within {report['full']['budget_s']} s:", "",
              "| target | result | seconds |", "| --- | --- | --- |"]  # fmt: skip
    for part in report["full"]["parts"]:
        if "skipped" in part:
            lines.append(f"| {part['target']} | skipped ({part['skipped']}) | |")
        else:
            state = "timed out" if part["timed_out"] else f"rc {part['rc']}"
            lines.append(f"| {part['target']} | {state} | {part['seconds']} |")
    lines += ["", f"Overall: {'PASS' if report['ok'] else 'FAIL'}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
