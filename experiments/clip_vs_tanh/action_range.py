"""Why the arms differ: the env-unit actions each trained actor produces on the dataset states.

``python experiments/clip_vs_tanh/action_range.py multirun/clip_vs_tanh`` prints, per arm (mean
over seeds), the largest |action| sent to the env and the MSE to the expert's actions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import minari
import numpy as np
import torch
import yaml

from imitation_lab.actors import MLPActor
from imitation_lab.data.buffer import ObsNormalizer, flatten_dataset

TO_ENV = {  # raw output -> env torque on Pendulum's Box [-2, 2]
    "clip": lambda raw: 2.0 * np.clip(raw, -1.0, 1.0),
    "tanh": lambda raw: 2.0 * np.tanh(raw),
    "tanh_squash": lambda raw: 2.0 * np.tanh(raw),
    "none": lambda raw: np.clip(raw, -2.0, 2.0),  # Pendulum clips the torque itself
}


def main(sweep_dir: Path) -> None:
    data = flatten_dataset(minari.load_dataset("imitation-lab/pendulum/expert-v0"))
    expert = data.act.numpy().ravel()
    rows: dict[str, list[tuple[float, float]]] = {}
    for job in sorted(p for p in sweep_dir.iterdir() if (p / "checkpoints/last.pt").exists()):
        cfg = yaml.safe_load((job / ".hydra/config.yaml").read_text())
        arm = next(
            o
            for o in yaml.safe_load((job / ".hydra/overrides.yaml").read_text())
            if o.startswith("bounding=")
        )
        state = torch.load(job / "checkpoints/last.pt", weights_only=True)
        actor = MLPActor(3, 1, cfg["actor"]["hidden_sizes"])
        actor.load_state_dict({k.removeprefix("actor."): v for k, v in state["policy"].items()})
        normalizer = ObsNormalizer.from_data(data.obs)
        normalizer.load_state_dict(state["normalizer"])
        with torch.no_grad():
            raw = actor(normalizer(data.obs))[0].numpy().ravel()
        env = TO_ENV[arm.split("=")[1]](raw)
        rows.setdefault(arm, []).append(
            (float(np.abs(env).max()), float(np.mean((env - expert) ** 2)))
        )
    print(f"expert: {np.mean(np.abs(expert) > 2 * np.tanh(1.0)):.1%} of actions beyond 2*tanh(1)")
    print("| arm | jobs | max abs env action | MSE to expert (env units) |\n|---|---:|---:|---:|")
    for arm, values in rows.items():
        top, mse = np.mean(values, axis=0)
        print(f"| {arm} | {len(values)} | {top:.3f} | {mse:.4f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
