"""The clip-vs-tanh pendulum study (4 arms x 10 seeds) with the batched launcher vs joblib.

``python -m benchmarks.batched_study`` runs ``experiment=clip_vs_tanh`` (budget overrides from
``--steps``) once per launcher per round, interleaved, in a temp dir with its own Minari store;
it reports wall-clock and CPU seconds (the sweep process and all its children) and the largest
difference between each launcher's per-job final scores and joblib's.

Launchers: ``joblib`` (the preset: 2 workers, 1 thread each), ``batched`` (one process of 40
members given every core) and ``batched-split`` (the preset's ``n_jobs=2`` with the batched
launcher: the 40 jobs split into 2 processes of 20 members, 1 thread each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORES = str(os.cpu_count() or 1)
#: launcher -> (overrides, torch threads per process)
LAUNCHERS = {
    "joblib": ([], "1"),
    "batched": (["hydra/launcher=batched", "hydra.launcher.n_jobs=1"], CORES),
    "batched-split": (["hydra/launcher=batched"], "1"),
}


def final_scores(sweep_dir: Path) -> dict[str, float]:
    """Final normalized score per job, keyed by the job's overrides."""
    scores = {}
    for done in sorted(sweep_dir.glob("*/DONE.json")):
        overrides = (done.parent / ".hydra" / "overrides.yaml").read_text()
        scores[overrides] = json.loads(done.read_text())["summary"]["final/normalized_score"]
    return scores


def build_pendulum(env: dict[str, str]) -> None:
    """Build the pendulum dataset in ``env``'s Minari store once, outside the timings."""
    subprocess.run(
        [sys.executable, "-c", "from imitation_lab.config.build import open_dataset;"
         "open_dataset('imitation-lab/pendulum/expert-v0')"],
        check=True, env=env, cwd=REPO,
    )  # fmt: skip


def run_study(launcher: str, sweep_dir: Path, budget: list[str], env: dict[str, str]) -> dict:
    command = [
        sys.executable, "-m", "imitation_lab.train", "-m", "experiment=clip_vs_tanh",
        "logger=none", f"hydra.sweep.dir={sweep_dir}", *LAUNCHERS[launcher][0], *budget,
    ]  # fmt: skip
    env = {**env, "OMP_NUM_THREADS": LAUNCHERS[launcher][1]}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=REPO, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"launcher": launcher, "wall_s": wall, "cpu_s": cpu, "scores": final_scores(sweep_dir)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-every", type=int, default=None, help="default: --steps")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--launchers", nargs="+", choices=list(LAUNCHERS), default=list(LAUNCHERS),
        help="joblib is always run: the others are compared with it",
    )  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    budget = [
        f"trainer.steps={args.steps}",
        f"trainer.eval_every={args.eval_every or args.steps}",
        f"trainer.eval_episodes={args.eval_episodes}",
    ]
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MINARI_DATASETS_PATH": f"{tmp}/minari", "OMP_NUM_THREADS": "1"}
        build_pendulum(env)
        for repeat in range(args.repeats):
            for launcher in ["joblib", *(name for name in args.launchers if name != "joblib")]:
                record = run_study(launcher, Path(tmp) / f"{launcher}_{repeat}", budget, env)
                print(json.dumps({k: v for k, v in record.items() if k != "scores"}), flush=True)
                records.append(record | {"repeat": repeat})
    for repeat in range(args.repeats):
        joblib, *others = (r for r in records if r["repeat"] == repeat)
        for other in others:
            diff = max(abs(joblib["scores"][k] - other["scores"][k]) for k in joblib["scores"])
            print(
                f"round {repeat}: {len(joblib['scores'])} jobs; wall joblib {joblib['wall_s']:.0f}"
                f" s, {other['launcher']} {other['wall_s']:.0f} s"
                f" ({joblib['wall_s'] / other['wall_s']:.2f}x); CPU joblib {joblib['cpu_s']:.0f}"
                f" s, {other['launcher']} {other['cpu_s']:.0f} s"
                f" ({joblib['cpu_s'] / other['cpu_s']:.2f}x); max |score diff| {diff:.2e}"
            )
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "records": records}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
