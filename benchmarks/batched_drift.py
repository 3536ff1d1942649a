"""How far a stacked member drifts from its separate run, as training gets longer.

``python -m benchmarks.batched_drift`` trains, for each budget, one ``trainer.num_seeds=2`` job
(two members stacked: ``StackedLearner``, the batched launcher's path) and the two separate
single runs with those seeds (``PolicyLearner``, Tianshou's path), on the default pendulum
config with a constant learning rate, and prints per budget the largest relative weight
difference ``||w_stacked - w_single|| / ||w_single||`` over the members' tensors, and the
largest relative difference of the final eval return and of the last logged loss.

The two paths compute the same arithmetic in a different order (``torch.baddbmm`` over
members vs ``torch.mm`` per run, one flat Adam update vs per-tensor ones), so the results
differ in the last bits from the first step; gradient descent on a non-convex loss amplifies
such differences over thousands of steps. The numbers say how much, at which length.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
BASE = ["logger=none", "trainer.progress=false", "trainer.eval_every=0", "trainer.eval_envs=5",
        "trainer.checkpoint_every=0"]  # fmt: skip


def _train(run_dir: Path, overrides: list[str], env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "imitation_lab.train", *BASE, *overrides,
               f"hydra.run.dir={run_dir}"]  # fmt: skip
    subprocess.run(command, check=True, cwd=REPO, env=env, capture_output=True)


def _final(run_dir: Path) -> tuple[dict[str, torch.Tensor], float, float]:
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    loss = [x["train/loss"] for x in lines if "train/loss" in x][-1]
    return state["policy"], float(lines[-1]["summary/final/return_mean"]), float(loss)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 500, 1000, 3000, 10000])
    parser.add_argument("--seeds", type=int, nargs=2, default=[0, 1])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env.setdefault("MINARI_DATASETS_PATH", str(Path(tmp) / "store"))
        for steps in args.steps:
            budget = [f"trainer.steps={steps}"]
            stacked = Path(tmp) / f"stacked_{steps}"
            _train(stacked, [*budget, f"seed={args.seeds[0]}", "trainer.num_seeds=2"], env)
            weights = returns = losses = 0.0
            for seed in args.seeds:
                single = Path(tmp) / f"single_{steps}_{seed}"
                _train(single, [*budget, f"seed={seed}"], env)
                w_single, r_single, l_single = _final(single)
                w_stacked, r_stacked, l_stacked = _final(stacked / f"seed_{seed}")
                for name, tensor in w_single.items():
                    diff = (w_stacked[name] - tensor).norm() / tensor.norm().clamp_min(1e-12)
                    weights = max(weights, float(diff))
                returns = max(returns, _rel(r_stacked, r_single))
                losses = max(losses, _rel(l_stacked, l_single))
            row = {"steps": steps, "weights": weights, "eval_return": returns, "loss": losses}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("| steps | max rel. weight diff | max rel. eval-return diff | max rel. loss diff |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['steps']} | {r['weights']:.1e} | {r['eval_return']:.1e} | {r['loss']:.1e} |")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "rows": rows}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
