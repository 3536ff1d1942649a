"""Do `head=bins` runs score better acting with the expected value over their bins than with the
most likely bin (experiments/heads/README.md, "bins fails on the medium datasets")?

For every `head=bins` run of one dataset under a sweep dir that acts with its mode (its last
checkpoint), rolls out ``--episodes`` episodes (env seeds 1000, 1001, ...) twice: acting with
the center of each dimension's most likely bin (the head's ``act=mode``) and with the
probability-weighted mean of the centers, and prints both normalized scores per run. The
expected value is computed here, outside the library (the head has no such ``act`` option yet).

    python experiments/heads/bins_decoding.py multirun/heads --dataset halfcheetah_medium
"""

from __future__ import annotations

import argparse
import types
from pathlib import Path

import numpy as np
import torch

from imitation_lab.inference import LoadedPolicy, load_policy
from imitation_lab.policy.heads import BinsHead
from imitation_lab.report.runs import load_jobs


def expected_value(head: BinsHead, params: torch.Tensor) -> torch.Tensor:
    """Each dimension's probability-weighted mean of the bin centers."""
    return (head.logits(params).softmax(dim=-1) * head.centers()).sum(dim=-1)


def score(policy: LoadedPolicy, episodes: int) -> float:
    """Mean normalized score over ``episodes`` episodes of the run's own env."""
    env, returns = policy.make_env(), []
    for episode in range(episodes):
        obs, _ = env.reset(seed=1000 + episode)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs[None])[0])
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(policy.normalized_score(np.asarray(returns)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--dataset", required=True, help="the runs' dataset= override")
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    wanted = {"dataset": args.dataset, "head": "bins", "head.act": "mode"}
    runs = {
        job.path: keys
        for job in load_jobs(args.sweep_dir)
        if (keys := {"head.act": "mode", **job.overrides}).items() >= wanted.items()
        and (job.path / "checkpoints" / "last.pt").is_file()
    }
    if not runs:
        raise SystemExit(
            f"no head=bins run of dataset={args.dataset} with checkpoints/last.pt under "
            f"{args.sweep_dir} (runs.tar.xz holds no checkpoints: run the study's chunk first)"
        )
    print(f"| run | overrides | most likely bin | expected value ({args.episodes} episodes) |")
    print("|---|---|---|---|")
    modes, means = [], []
    for run, keys in runs.items():
        shown = " ".join(f"{k}={v}" for k, v in keys.items() if k not in wanted)
        checkpoint = run / "checkpoints" / "last.pt"
        modes.append(score(load_policy(checkpoint), args.episodes))
        policy = load_policy(checkpoint)
        head = policy.policy.head
        head.mode = types.MethodType(expected_value, head)  # act with the expectation instead
        means.append(score(policy, args.episodes))
        print(f"| {run.name} | {shown} | {modes[-1]:.1f} | {means[-1]:.1f} |", flush=True)
    print(f"| mean | | {np.mean(modes):.1f} | {np.mean(means):.1f} |")


if __name__ == "__main__":
    main()
