"""How well each head of a study's runs fits its demonstrations, and how far its actions move when
the observation moves a little (experiments/heads/README.md, "Why bins fails").

For the runs of one dataset and seed under a sweep dir (each with its last checkpoint), on the
first episodes of the run's own dataset:

* ``fit``: RMSE between the policy's action and the demonstrator's, on the demonstrations,
  and the fraction of action entries off by more than 0.3 there (rare large errors);
* ``jitter``: mean |a_t+1 - a_t| of the policy's actions along the demonstrations (the
  demonstrator's own on the first line);
* ``moves``: RMSE between the actions at an observation and at the observation plus Gaussian
  noise of ``--noise`` x each dimension's std (states slightly off the data), and the fraction of
  action entries that move by more than 0.5 there.

    python experiments/heads/fit_check.py multirun/heads --dataset halfcheetah_medium
"""

from __future__ import annotations

import argparse
from pathlib import Path

import minari
import numpy as np
import torch

from imitation_lab.inference import load_policy
from imitation_lab.report.runs import load_jobs


def demonstrations(dataset_id: str, episodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observations, actions and, per consecutive pair, whether both are in one episode."""
    data = minari.load_dataset(dataset_id)
    chosen = list(data.iterate_episodes(range(min(episodes, data.total_episodes))))
    obs = np.concatenate([ep.observations[:-1] for ep in chosen]).astype(np.float32)
    act = np.concatenate([ep.actions for ep in chosen])
    inside = np.ones(len(act) - 1, dtype=bool)
    inside[np.cumsum([len(ep.actions) for ep in chosen])[:-1] - 1] = False
    return obs, act, inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--dataset", required=True, help="the runs' dataset= override")
    parser.add_argument("--seed", default="0")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.2)
    args = parser.parse_args()
    torch.set_num_threads(1)

    runs = {}
    for job in load_jobs(args.sweep_dir):
        keys = job.overrides
        chosen = keys.get("dataset") == args.dataset and keys.get("seed", "0") == args.seed
        if chosen and (job.path / "checkpoints" / "last.pt").is_file():
            runs[keys.get("head", "mse")] = job.path
    if not runs:
        raise SystemExit(
            f"no run of dataset={args.dataset} seed={args.seed} with checkpoints/last.pt under "
            f"{args.sweep_dir} (runs.tar.xz holds no checkpoints: run the study's chunk first)"
        )
    first = load_policy(next(iter(runs.values())) / "checkpoints" / "last.pt")
    obs, act, inside = demonstrations(first.dataset_id, args.episodes)
    noisy = obs + args.noise * obs.std(0) * np.random.default_rng(0).standard_normal(obs.shape)
    jitter = np.abs(np.diff(act, axis=0))[inside].mean()
    print(f"{args.dataset}, seed {args.seed}: {len(obs)} steps; demonstrator jitter {jitter:.3f}")
    print(f"| head | fit (RMSE) | off > 0.3 | jitter | moves at noise {args.noise} | moved > 0.5 |")
    print("|---|---|---|---|---|---|")
    for head, run in runs.items():
        policy = load_policy(run / "checkpoints" / "last.pt")
        pred = policy.actions(obs)
        moved = policy.actions(noisy.astype(np.float32)) - pred
        fit = np.sqrt(((pred - act) ** 2).mean())
        off = (np.abs(pred - act) > 0.3).mean()
        jitter = np.abs(np.diff(pred, axis=0))[inside].mean()
        moves = np.sqrt((moved**2).mean())
        far = (np.abs(moved) > 0.5).mean()
        print(f"| `{head}` | {fit:.3f} | {off:.2%} | {jitter:.3f} | {moves:.3f} | {far:.1%} |")


if __name__ == "__main__":
    main()
