"""End-to-end, in process: compose the real config, build the dataset, train, evaluate, log."""

from __future__ import annotations

import json
from pathlib import Path

import minari
import numpy as np
import pytest
import torch

from imitation_lab.config.build import open_dataset
from imitation_lab.train import train
from imitation_lab.training.checkpoint import load_checkpoint
from tests.helpers import compose_config, read_wandb_history


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_builtin_dataset_has_reference_scores() -> None:
    dataset = open_dataset("imitation-lab/pendulum/expert-v0")
    metadata = dataset.storage.metadata
    assert dataset.total_episodes == 50 and dataset.total_steps == 50 * 200
    assert metadata["ref_min_score"] < -1000  # uniform random torque
    assert -250 < metadata["ref_max_score"] < -100  # the swing-up expert
    score = minari.get_normalized_score(dataset, np.array([metadata["ref_max_score"]]))
    assert score == pytest.approx([1.0])
    assert minari.load_dataset("imitation-lab/pendulum/expert-v0").total_steps == 10_000


@pytest.mark.slow
def test_pendulum_default_learns(tmp_path: Path) -> None:
    cfg = compose_config(
        ["trainer.steps=1500", "trainer.eval_episodes=4", "actor.hidden_sizes=[64,64]"], tmp_path
    )
    summary = train(cfg)
    assert summary["final/normalized_score"] > 60, summary
    rows = _metrics(tmp_path)
    train_rows = [r for r in rows if "train/loss" in r]
    assert [r["step"] for r in train_rows] == list(range(50, 1501, 50))
    assert train_rows[-1]["train/smoothed_loss"] < train_rows[0]["train/smoothed_loss"]
    assert {"train/train_time", "train/lr"} <= set(train_rows[0])
    eval_rows = [r for r in rows if "eval/normalized_score" in r]
    assert eval_rows[-1]["step"] == 1500
    assert rows[-1]["step"] == -1  # the summary line
    assert (tmp_path / "checkpoints" / "last.pt").exists()
    assert (tmp_path / "checkpoints" / "best.pt").exists()


@pytest.mark.slow
def test_cartpole_reaches_the_time_limit(tmp_path: Path) -> None:
    cfg = compose_config(
        ["dataset=cartpole", "trainer.steps=1500", "actor.hidden_sizes=[64,64]"], tmp_path
    )
    summary = train(cfg)
    assert summary["final/return_mean"] >= 475, summary


@pytest.mark.parametrize(
    "overrides",
    [
        ["bounding=clip"],
        ["bounding=tanh"],
        ["bounding=none"],
        ["optim=adamw", "scheduler=cosine"],
        ["optim=sgd", "scheduler=step", "scheduler.step_size=50"],
        ["actor.hidden_sizes=[64,64]", "actor.layer_norm=true", "actor.activation=tanh"],
    ],
    ids=lambda o: " ".join(o),
)
def test_config_variants_train(tmp_path: Path, overrides: list[str]) -> None:
    cfg = compose_config([*overrides, "trainer.steps=100"], tmp_path)
    summary = train(cfg)
    assert summary["step"] == 100
    assert np.isfinite(summary["final/normalized_score"])
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert state["step"] == 100
    saved_bounding = state["metadata"]["config"]["bounding"]
    bound = cfg.bounding.action_bound_method
    assert saved_bounding["action_bound_method"] == (bound.value if bound else None)
    assert saved_bounding["action_scaling"] == cfg.bounding.action_scaling


def test_scheduler_is_stepped_once_per_gradient_step(tmp_path: Path) -> None:
    cfg = compose_config(
        ["scheduler=step", "scheduler.step_size=50", "scheduler.gamma=0.5", "trainer.steps=150"],
        tmp_path,
    )
    train(cfg)
    lrs = {r["step"]: r["train/lr"] for r in _metrics(tmp_path) if "train/lr" in r}
    assert lrs == pytest.approx({50: 5e-4, 100: 2.5e-4, 150: 1.25e-4})


def test_training_targets_are_unscaled_into_unit_range(tmp_path: Path) -> None:
    """With action_scaling, learn sees targets in [-1, 1] (env actions span [-2, 2])."""
    from imitation_lab.config.build import build_policy
    from imitation_lab.data.buffer import ObsNormalizer, flatten_dataset
    from imitation_lab.training.fit import training_tensors

    dataset = open_dataset("imitation-lab/pendulum/expert-v0")
    data = flatten_dataset(dataset)
    policies = {}
    for scaling, bound in [(True, "clip"), (False, "none")]:
        cfg = compose_config([f"bounding={bound}"], tmp_path)
        policies[scaling] = build_policy(cfg, dataset.observation_space, dataset.action_space, 10)
        tensors = training_tensors(data, ObsNormalizer.identity(3), [policies[scaling]])
        expected = data.act / 2.0 if scaling else data.act
        torch.testing.assert_close(tensors.targets[tensors.variant[0]], expected)
    # members with and without scaling in one group each get their own targets
    mixed = training_tensors(data, ObsNormalizer.identity(3), [policies[True], policies[False]])
    _, act = mixed.batch(torch.tensor([[0, 1], [0, 1]]))
    torch.testing.assert_close(act[0], data.act[:2] / 2.0)
    torch.testing.assert_close(act[1], data.act[:2])
    assert data.act.abs().max() == pytest.approx(2.0)


def test_observation_normalizer_is_saved_and_used(tmp_path: Path) -> None:
    cfg = compose_config(["trainer.steps=10"], tmp_path)
    train(cfg)
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    mean, std = state["normalizer"]["mean"], state["normalizer"]["std"]
    data_obs = torch.cat(
        [
            torch.as_tensor(ep.observations[:-1])
            for ep in open_dataset("imitation-lab/pendulum/expert-v0").iterate_episodes()
        ]
    )
    torch.testing.assert_close(mean, data_obs.mean(0).float())
    torch.testing.assert_close(std, data_obs.std(0).float())


def test_same_seed_same_numbers_other_seed_differs(tmp_path: Path) -> None:
    runs = {}
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        run_dir = tmp_path / name
        train(compose_config([f"seed={seed}", "trainer.steps=60"], run_dir))
        runs[name] = [r.get("train/loss") for r in _metrics(run_dir)]
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


def test_resume_continues_from_last_checkpoint(tmp_path: Path) -> None:
    train(compose_config(["trainer.steps=100"], tmp_path))
    summary = train(compose_config(["trainer.steps=200", "trainer.resume=true"], tmp_path))
    assert summary["step"] == 200
    steps = [r["step"] for r in _metrics(tmp_path) if "train/loss" in r]
    assert steps == [50, 100, 150, 200]  # no duplicates, nothing lost


@pytest.mark.slow
def test_wandb_offline_run_has_the_metrics(tmp_path: Path) -> None:
    cfg = compose_config(["logger=wandb", "trainer.steps=100", "trainer.eval_every=100"], tmp_path)
    train(cfg)
    run_files = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(run_files) == 1
    rows = read_wandb_history(run_files[0])
    keys = set().union(*rows)
    assert {
        "train/loss",
        "train/smoothed_loss",
        "train/train_time",
        "eval/return_mean",
        "eval/normalized_score",
    } <= keys
    local = {r["step"]: r for r in _metrics(tmp_path) if "train/loss" in r}
    for row in rows:
        if "train/loss" in row:
            assert row["train/loss"] == pytest.approx(local[row["_step"]]["train/loss"])
    run_id = (tmp_path / "wandb_run_id.txt").read_text()
    assert run_files[0].name == f"run-{run_id}.wandb"


def test_a_discrete_dataset_by_id_trains_under_the_default_bounding(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``dataset.id=<a Discrete-action id>`` as a user types it keeps the default
    ``bounding=clip``: it is set aside (Box actions only) with one info line, not refused."""
    cfg = compose_config(["dataset.id=imitation-lab/cartpole/expert-v0"], tmp_path)
    assert cfg.bounding.action_bound_method.value == "clip"
    with caplog.at_level("INFO", logger="imitation_lab.config.checks"):
        summary = train(cfg)
    assert summary["step"] == 200 and "final/return_mean" in summary
    notes = [r.getMessage() for r in caplog.records if "Box" in r.getMessage()]
    assert len(notes) == 1 and "Discrete(2)" in notes[0], notes
