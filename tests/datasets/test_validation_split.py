"""The validation split (``dataset.val_fraction``) and ``trainer.select``: whole episodes held
out, the same for every seed; ``val/loss`` is the policy's own loss on them, logged at each
evaluation; ``best.pt`` holds the weights ``trainer.select`` names and ``eval`` repeats their
evaluation; stacked members validate as their single runs do."""

from __future__ import annotations

import json
from pathlib import Path

import minari
import numpy as np
import pytest
import torch

from imitation_lab.data.batch import Batch
from imitation_lab.data.buffer import OfflineData
from imitation_lab.data.filtering import split_validation
from imitation_lab.errors import ConfigError, DatasetError
from imitation_lab.eval_app import run_eval
from imitation_lab.inference import load_policy
from imitation_lab.train import train
from tests.helpers import compose_config, eval_config

RUN = ["trainer.steps=300", "trainer.eval_every=100", "trainer.eval_episodes=2",
       "trainer.eval_envs=2", "actor.hidden_sizes=[32,32]", "dataset.val_fraction=0.2"]  # fmt: skip


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _episodes(lengths: list[int]) -> OfflineData:
    n = sum(lengths)
    rows = torch.arange(n, dtype=torch.float32)
    return OfflineData(obs=rows[:, None], act=rows[:, None], rewards=rows,
                       terminations=torch.zeros(n, dtype=torch.bool),
                       truncations=torch.zeros(n, dtype=torch.bool),
                       episode_returns=np.zeros(len(lengths)),
                       episode_lengths=np.asarray(lengths))  # fmt: skip


def test_the_split_holds_out_whole_episodes_by_the_ceiling_count() -> None:
    lengths = [3, 5, 2, 4, 6, 1, 7]
    data = _episodes(lengths)
    train_part, val, record = split_validation(data, "d", 0.3)
    assert record is not None and val is not None
    assert record["val_episodes"] == 3  # ceil(0.3 * 7)
    held = record["episode_ids"]
    assert held == sorted(held) and len(set(held)) == 3
    assert val.episode_lengths.tolist() == [lengths[e] for e in held]
    assert len(train_part) + len(val) == len(data)  # every transition on exactly one side
    seen = set(train_part.act[:, 0].tolist())
    assert seen.isdisjoint(val.act[:, 0].tolist())
    assert split_validation(data, "d", 0.3)[2] == record  # one split per dataset
    assert split_validation(data, "d", 0.01)[2]["val_episodes"] == 1  # at least one
    assert split_validation(data, "d", 0.99)[2]["val_episodes"] == 6  # never all
    assert split_validation(data, "d", None)[1] is None
    with pytest.raises(DatasetError, match="has 1 episode"):
        split_validation(_episodes([5]), "d", 0.5)


def test_val_loss_is_the_loss_on_the_held_out_episodes_and_best_val_picks_best_pt(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    summary = train(compose_config([*RUN, "trainer.select=best_val"], run_dir))
    info = json.loads((run_dir / "dataset_info.json").read_text())
    held = info["validation"]["episode_ids"]
    assert info["validation"]["val_episodes"] == len(held) == 10  # pendulum: 50 episodes
    vals = {x["step"]: x["val/loss"] for x in _lines(run_dir) if "val/loss" in x}
    assert sorted(vals) == [100, 200, 300]
    best_step = min(vals, key=vals.get)
    assert summary["best/val_loss"] == vals[best_step] and summary["best/step"] == best_step
    state = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert state["step"] == best_step

    # the logged number is the policy's MSE on exactly the held-out episodes, in the units it
    # learns (bounding.action_scaling: actions mapped into [-1, 1])
    loaded = load_policy(run_dir / "checkpoints" / "best.pt")
    episodes = list(minari.load_dataset(info["dataset_id"]))
    obs = np.concatenate([episodes[e].observations[:-1] for e in held])
    act = np.concatenate([episodes[e].actions for e in held])
    obs_t = loaded.normalizer(torch.as_tensor(obs, dtype=torch.float32))
    with torch.no_grad():
        pred = loaded.policy(Batch(obs=obs_t, info={})).act
    low, high = loaded.policy.action_space.low, loaded.policy.action_space.high
    target = torch.as_tensor(2 * (act - low) / (high - low) - 1, dtype=torch.float32)
    mse = float(((pred - target) ** 2).mean())
    assert mse == pytest.approx(vals[best_step], rel=1e-4)

    # best.pt's evaluation is the one logged at its step, repeated to the last bit
    cfg = eval_config(run_dir / "checkpoints" / "best.pt")
    logged = next(x for x in _lines(run_dir) if x["step"] == best_step and "eval/return_mean" in x)
    assert run_eval(cfg, tmp_path / "eval")["return_mean"] == logged["eval/return_mean"]
    assert summary["best/normalized_score"] == logged["eval/normalized_score"]


def test_select_final_keeps_the_last_weights_and_the_default_the_best_score(
    tmp_path: Path,
) -> None:
    final = tmp_path / "final"
    train(compose_config([*RUN, "trainer.select=final"], final))
    best, last = (torch.load(final / "checkpoints" / name, weights_only=True)
                  for name in ("best.pt", "last.pt"))  # fmt: skip
    assert best["step"] == last["step"] == 300
    assert all(torch.equal(best["policy"][k], last["policy"][k]) for k in last["policy"])
    default = tmp_path / "default"
    summary = train(compose_config(RUN, default))  # best_eval: val/loss only logged
    scores = [x["eval/normalized_score"] for x in _lines(default) if "eval/normalized_score" in x]
    assert summary["best/normalized_score"] == max(scores)
    assert [x["step"] for x in _lines(default) if "val/loss" in x] == [100, 200, 300]


def test_best_val_without_a_split_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"set dataset\.val_fraction"):
        train(compose_config(["trainer.select=best_val", "trainer.steps=10"], tmp_path / "r"))


def test_stacked_members_validate_as_their_single_runs(tmp_path: Path) -> None:
    overrides = [*RUN, "trainer.eval_episodes=0", "trainer.steps=200", "seed=3"]
    train(compose_config([*overrides, "trainer.num_seeds=2"], tmp_path / "stacked"))
    for seed in (3, 4):
        train(compose_config([*overrides, f"seed={seed}"], tmp_path / f"single_{seed}"))
        ours = [x["val/loss"] for x in _lines(tmp_path / "stacked" / f"seed_{seed}")
                if "val/loss" in x]  # fmt: skip
        ref = [x["val/loss"] for x in _lines(tmp_path / f"single_{seed}") if "val/loss" in x]
        assert len(ref) == 2 and ours == pytest.approx(ref, rel=1e-5)
