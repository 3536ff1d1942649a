"""The batched launcher with its defaults vs Hydra's joblib launcher, interleaved.

``python -m benchmarks.launchers`` runs one sweep per launcher per round (joblib first, then
batched, round after round) in a temp dir with its own Minari store, and reports per round the
wall clock of the whole sweep process (``python -m imitation_lab.train -m ...``: start-up,
Hydra, every job, exit), the ratio joblib / batched (> 1: batched faster), the per-job final
scores' largest difference, and where the time went: every run dir's ``timings.json`` (the
seconds of the group it trained in, split by phase) added up per sweep. ``--hog`` runs a
busy-loop process beside every sweep (a loaded machine).

Studies: ``16`` (the issue-32 study: 4 seeds x 2 bounding x 2 learning rates, 1500 steps,
one evaluation of 5 episodes) and ``preset`` (``experiment=clip_vs_tanh`` on pendulum: 40
jobs, the preset's budget unless ``--steps``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.batched_study import build_pendulum, final_scores

REPO = Path(__file__).resolve().parents[1]
STUDIES = {
    "16": [
        "seed=0,1,2,3", "bounding=clip,tanh_squash", "optim.lr=1e-3,3e-4",
        "trainer.steps=1500", "trainer.eval_every=1500", "trainer.eval_episodes=5",
        "trainer.progress=false",
    ],
    "preset": ["experiment=clip_vs_tanh", "trainer.progress=false"],
}  # fmt: skip
#: launcher -> its overrides (each with its own defaults: what a user gets)
LAUNCHERS = {
    "joblib": ["hydra/launcher=joblib"],
    "batched": ["hydra/launcher=batched"],
    # variants, to see what a default costs: no stacking; one process with every core
    "batched-k1": ["hydra/launcher=batched", "hydra.launcher.max_members=1"],
    "batched-1proc": ["hydra/launcher=batched", "hydra.launcher.n_jobs=1"],
}
PHASES = ("start-up", "data", "logger", "training", "evaluation", "writing")


def phase_totals(sweep_dir: Path) -> dict[str, float]:
    """Process-seconds per phase over a sweep's run dirs (each group counted once)."""
    totals = dict.fromkeys(PHASES, 0.0)
    for path in sweep_dir.glob("*/timings.json"):
        record = json.loads(path.read_text())
        for name in PHASES:
            totals[name] += record["group_seconds"].get(name, 0.0) / record["members"]
    return totals


def run_sweep(
    launcher: str, study: list[str], logger: str, sweep_dir: Path, env: dict[str, str]
) -> dict:
    command = [
        sys.executable, "-m", "imitation_lab.train", "-m", *study, f"logger={logger}",
        f"hydra.sweep.dir={sweep_dir}", *LAUNCHERS[launcher],
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{launcher} sweep failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {
        "launcher": launcher,
        "wall_s": wall,
        "phases": phase_totals(sweep_dir),
        "scores": final_scores(sweep_dir),
    }


def busy_loop() -> subprocess.Popen:
    """One process that keeps one core busy until killed (a loaded machine)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", choices=list(STUDIES), default="16")
    parser.add_argument("--logger", default="none", help="none or wandb (offline)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hog", action="store_true", help="a busy-loop process beside")
    parser.add_argument("--steps", type=int, help="trainer.steps (and eval_every) override")
    parser.add_argument(
        "--launchers", nargs="+", choices=list(LAUNCHERS)[1:], default=["batched"],
        help="compared with joblib (always run first in each round)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    launchers = ["joblib", *args.launchers]
    study = list(STUDIES[args.study])
    if args.steps:
        study += [f"trainer.steps={args.steps}", f"trainer.eval_every={args.steps}"]
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MINARI_DATASETS_PATH": f"{tmp}/minari", "WANDB_SILENT": "true"}
        env.pop("OMP_NUM_THREADS", None)  # each launcher chooses its threads
        build_pendulum(env)
        for round_ in range(args.rounds):
            for launcher in launchers:
                hog = busy_loop() if args.hog else None
                try:
                    sweep_dir = Path(tmp) / f"{launcher}_{round_}"
                    record = run_sweep(launcher, study, args.logger, sweep_dir, env)
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
                records.append(record | {"round": round_})
                phases = ", ".join(f"{k} {v:.1f}" for k, v in record["phases"].items())
                print(f"round {round_} {launcher}: wall {record['wall_s']:.1f} s; "
                      f"process-seconds: {phases}", flush=True)  # fmt: skip
    ratios: dict[str, list[float]] = {name: [] for name in args.launchers}
    for round_ in range(args.rounds):
        joblib, *others = (r for r in records if r["round"] == round_)
        for other in others:
            name = other["launcher"]
            diff = max(abs(joblib["scores"][k] - other["scores"][k]) for k in joblib["scores"])
            ratios[name].append(joblib["wall_s"] / other["wall_s"])
            print(f"round {round_}: {len(joblib['scores'])} jobs; joblib {joblib['wall_s']:.1f} s,"
                  f" {name} {other['wall_s']:.1f} s: {ratios[name][-1]:.2f}x; "
                  f"max |score diff| {diff:.2e}")  # fmt: skip
    for name, values in ratios.items():
        print(f"joblib / {name} wall clock: median {statistics.median(values):.2f}x, "
              f"min {min(values):.2f}x, max {max(values):.2f}x ({args.rounds} rounds)")  # fmt: skip
    if args.json:
        out = {"args": {k: str(v) for k, v in vars(args).items()}, "ratios": ratios,
               "records": records}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
