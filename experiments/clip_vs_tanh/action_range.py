"""Why the arms differ: the env actions each trained actor produces on the dataset's states.

``python experiments/clip_vs_tanh/action_range.py <sweep dir>`` prints, per arm (mean over
seeds), the largest |action| sent to the env in [-1, 1] units of the Box, and the MSE to the
data's actions in those units; and how much of the data lies beyond tanh(1).
``action_range.py --data <dataset id> ...`` prints only the data's share (no trained jobs needed).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import minari
import numpy as np
import torch
import yaml

from imitation_lab.actors import MLPActor
from imitation_lab.data.buffer import ObsNormalizer, OfflineData, flatten_dataset


@cache
def load(dataset_id: str) -> tuple[OfflineData, np.ndarray, np.ndarray]:
    dataset = minari.load_dataset(dataset_id)
    return flatten_dataset(dataset), dataset.action_space.low, dataset.action_space.high


def to_unit(act: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return (act - low) * 2.0 / (high - low) - 1.0


def share_beyond_tanh_one(dataset_id: str) -> float:
    """Fraction of the dataset's action entries with |a| > tanh(1) in [-1, 1] units: the
    targets plain ``tanh`` bounding cannot reach when the raw output is fitted to them."""
    data, low, high = load(dataset_id)
    return float(np.mean(np.abs(to_unit(data.act.numpy(), low, high)) > np.tanh(1.0)))


def env_action(arm: str, raw: np.ndarray) -> np.ndarray:
    """The action the env executes, in [-1, 1] units (the simulators clamp to the Box)."""
    if arm == "tanh" or arm == "tanh_squash":
        return np.tanh(raw)
    if arm == "clip":
        return np.clip(raw, -1.0, 1.0)
    return raw  # none: raw output in env units, clamped by the env


def main(sweep_dir: Path) -> None:
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    beyond = {}
    for job in sorted(p for p in sweep_dir.iterdir() if (p / "checkpoints/last.pt").exists()):
        cfg = yaml.safe_load((job / ".hydra/config.yaml").read_text())
        overrides = yaml.safe_load((job / ".hydra/overrides.yaml").read_text())
        arm = next(o.split("=")[1] for o in overrides if o.startswith("bounding="))
        data, low, high = load(cfg["dataset"]["id"])
        expert = to_unit(data.act.numpy(), low, high)
        beyond[cfg["dataset"]["id"]] = share_beyond_tanh_one(cfg["dataset"]["id"])
        state = torch.load(job / "checkpoints/last.pt", weights_only=True)
        actor = MLPActor(data.obs.shape[1], expert.shape[1], cfg["actor"]["hidden_sizes"])
        actor.load_state_dict({k.removeprefix("actor."): v for k, v in state["policy"].items()})
        normalizer = ObsNormalizer.from_data(data.obs)
        normalizer.load_state_dict(state["normalizer"])
        with torch.no_grad():
            raw = actor(normalizer(data.obs))[0].numpy()
        act = env_action(arm, raw if arm != "none" else to_unit(raw, low, high))
        act = np.clip(act, -1.0, 1.0)
        rows.setdefault((cfg["dataset"]["id"], arm), []).append(
            (float(np.abs(act).max()), float(np.mean((act - expert) ** 2)))
        )
    for dataset_id, share in beyond.items():
        print(f"{dataset_id}: {share:.1%} of the data's action entries beyond tanh(1) = 0.762\n")
    print("| dataset | arm | jobs | max abs env action | MSE to the data's actions |")
    print("|---|---|---:|---:|---:|")
    for (dataset_id, arm), values in rows.items():
        top, mse = np.mean(values, axis=0)
        print(f"| {dataset_id} | {arm} | {len(values)} | {top:.3f} | {mse:.4f} |")


def print_data_shares(dataset_ids: list[str]) -> None:
    print("| dataset | action entries beyond tanh(1) = 0.762 |")
    print("|---|---:|")
    for dataset_id in dataset_ids:
        print(f"| {dataset_id} | {share_beyond_tanh_one(dataset_id):.1%} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--data":
        print_data_shares(sys.argv[2:])
    else:
        main(Path(sys.argv[1]))
