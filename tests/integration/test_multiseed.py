"""``trainer.num_seeds=K``: K seeds in one process equal K single runs, and write K run dirs."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from imitation_lab.actors import MLPActor
from imitation_lab.config.schemas import validate
from imitation_lab.data.batch import Batch
from imitation_lab.errors import ConfigError, TrainingDivergedError
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.report import load_jobs
from imitation_lab.train import train
from imitation_lab.training.checkpoint import load_checkpoint
from imitation_lab.training.learners import StackedLearner
from tests.helpers import compose_config

ATOL = 1e-5
EQUIVALENCE = [
    "trainer.steps=120",
    "trainer.log_every=1",  # every step's loss is in metrics.jsonl
    "trainer.checkpoint_every=60",
    "trainer.eval_episodes=1",
    "trainer.eval_envs=1",
]


def _train_losses(run_dir: Path) -> np.ndarray:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return np.array([r["train/loss"] for r in rows if "train/loss" in r])


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / "last.pt")["policy"]


@pytest.mark.slow
def test_two_seeds_in_one_process_equal_two_single_runs(tmp_path: Path) -> None:
    train(compose_config([*EQUIVALENCE, "seed=3", "trainer.num_seeds=2"], tmp_path / "both"))
    for seed in (3, 4):
        single = tmp_path / f"single_{seed}"
        train(compose_config([*EQUIVALENCE, f"seed={seed}"], single))
        batched = tmp_path / "both" / f"seed_{seed}"
        single_losses, batched_losses = _train_losses(single), _train_losses(batched)
        assert len(single_losses) == len(batched_losses) == 120
        np.testing.assert_allclose(batched_losses, single_losses, atol=ATOL, rtol=0)
        single_w, batched_w = _weights(single), _weights(batched)
        assert single_w.keys() == batched_w.keys()
        for key in single_w:
            torch.testing.assert_close(batched_w[key], single_w[key], atol=ATOL, rtol=0)
        # the saved optimizer state is the single run's too (a single run can resume it)
        single_opt = load_checkpoint(single / "checkpoints" / "last.pt")["optim"]["state"]
        batched_opt = load_checkpoint(batched / "checkpoints" / "last.pt")["optim"]["state"]
        for index, state in single_opt.items():
            for name, value in state.items():
                torch.testing.assert_close(batched_opt[index][name], value, atol=ATOL, rtol=0)
    # the two seeds really differ (own init, own minibatches)
    assert not np.allclose(
        _train_losses(tmp_path / "both" / "seed_3"), _train_losses(tmp_path / "both" / "seed_4")
    )


def test_each_seed_writes_its_own_run_dir(tmp_path: Path) -> None:
    cfg = compose_config(
        [
            "trainer.num_seeds=3",
            "seed=10",
            "trainer.steps=40",
            "logger=wandb",
            "logger.mode=offline",
        ],
        tmp_path,
    )
    summary = train(cfg)
    assert summary["num_seeds"] == 3
    run_ids = set()
    per_seed_scores = []
    for seed in (10, 11, 12):
        seed_dir = tmp_path / f"seed_{seed}"
        assert (seed_dir / "checkpoints" / "last.pt").exists()
        assert json.loads((seed_dir / "dataset_info.json").read_text())["dataset_id"]
        assert load_checkpoint(seed_dir / "checkpoints" / "last.pt")["step"] == 40
        rows = [json.loads(line) for line in (seed_dir / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in rows if "train/loss" in r] == [40]
        assert rows[-1]["step"] == -1  # the summary line
        assert f"seed={seed}" in yaml.safe_load(
            (seed_dir / ".hydra" / "overrides.yaml").read_text()
        )
        assert yaml.safe_load((seed_dir / ".hydra" / "config.yaml").read_text())["seed"] == seed
        done = json.loads((seed_dir / "DONE.json").read_text())
        per_seed_scores.append(done["summary"]["final/normalized_score"])
        assert len(list((seed_dir / "wandb").glob("offline-run-*"))) == 1
        run_ids.add((seed_dir / "wandb_run_id.txt").read_text())
    assert len(run_ids) == 3  # one W&B run per seed
    assert summary["final/normalized_score"] == pytest.approx(np.mean(per_seed_scores))
    # the sweep report sees a K-seed run as K seeds
    jobs = load_jobs(tmp_path)
    assert sorted(job.overrides["seed"] for job in jobs) == ["10", "11", "12"]
    assert all(job.status == "done" for job in jobs)


def test_a_k_seed_job_whose_seeds_all_diverge_marks_each_failed(tmp_path: Path) -> None:
    overrides = ["trainer.num_seeds=2", "scheduler=step", "scheduler.step_size=20"]
    cfg = compose_config([*overrides, "scheduler.gamma=1e30", "trainer.steps=60"], tmp_path)
    with pytest.raises(TrainingDivergedError, match="seed_0"):
        train(cfg)
    for seed in (0, 1):
        failed = json.loads((tmp_path / f"seed_{seed}" / "FAILED.json").read_text())
        assert failed["error"] == "TrainingDivergedError"
        assert not (tmp_path / f"seed_{seed}" / "DONE.json").exists()
    assert [job.status for job in load_jobs(tmp_path)] == ["failed", "failed"]


def test_num_seeds_composes_and_is_validated(tmp_path: Path) -> None:
    cfg = compose_config(["trainer.num_seeds=4"], tmp_path)
    assert cfg.trainer.num_seeds == 4
    assert compose_config([], tmp_path).trainer.num_seeds == 1
    with pytest.raises(ConfigError, match=r"trainer\.num_seeds"):
        validate(compose_config(["trainer.num_seeds=0"], tmp_path))


# ---------------------------------------------------------------- the batched learner itself
def _policy(
    seed: int, space: gym.Space, obs_dim: int, squash: bool = False, **actor_kwargs
) -> ImitationPolicy:
    torch.manual_seed(seed)
    act_dim = space.n if isinstance(space, gym.spaces.Discrete) else 2
    actor = MLPActor(obs_dim, act_dim, (16, 16), **actor_kwargs)
    optim = torch.optim.AdamW(actor.parameters(), lr=3e-3, weight_decay=0.01)
    return ImitationPolicy(
        actor=actor,
        optim=optim,
        action_space=space,
        action_bound_method="tanh" if squash else None,
        train_through_bound=squash,
    )


@pytest.mark.parametrize(
    ("kind", "actor_kwargs"),
    [
        ("discrete", {}),
        ("continuous", {"layer_norm": True, "activation": "tanh"}),
        ("continuous", {"output_activation": "tanh"}),
        ("tanh_squash", {}),
    ],
)
def test_learner_matches_separate_policies(kind: str, actor_kwargs: dict) -> None:
    """Every loss branch and layer type: K=3 batched steps == 3 separate ``update`` calls."""
    gen = torch.Generator().manual_seed(0)
    obs = torch.randn(3, 50, 5, generator=gen)  # [K, steps*B, obs_dim]
    if kind == "discrete":
        space: gym.Space = gym.spaces.Discrete(3)
        act = torch.randint(3, (3, 50), generator=gen)
    else:
        space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        act = torch.rand(3, 50, 2, generator=gen) * 1.8 - 0.9
    squash = kind == "tanh_squash"
    singles = [_policy(seed, space, 5, squash, **actor_kwargs) for seed in range(3)]
    learner = StackedLearner([_policy(seed, space, 5, squash, **actor_kwargs) for seed in range(3)])
    for step in range(10):
        rows = slice(5 * step, 5 * step + 5)
        single_losses = [
            p.update(Batch(obs=obs[k, rows], act=act[k, rows], info={})).loss
            for k, p in enumerate(singles)
        ]
        batched, _ = learner.update(obs[:, rows], act[:, rows])
        np.testing.assert_allclose(batched, single_losses, atol=ATOL, rtol=0)
    learner.write_back()
    for single, member in zip(singles, learner.policies, strict=True):
        member_state = member.actor.state_dict()
        for name, value in single.actor.state_dict().items():
            torch.testing.assert_close(member_state[name], value, atol=ATOL, rtol=0)


def test_learner_state_round_trips_through_the_policies() -> None:
    """write_back then read_from (what resume does) continues exactly where it left off."""
    space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    obs, act = torch.randn(2, 8, 4), torch.rand(2, 8, 2)
    learner = StackedLearner([_policy(s, space, 4) for s in range(2)])
    learner.update(obs, act)
    learner.write_back()
    resumed = StackedLearner(learner.policies)
    resumed.read_from(1)
    expected, _ = learner.update(obs, act)
    assert resumed.update(obs, act)[0] == expected


def test_learner_refuses_a_target_that_would_broadcast() -> None:
    space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    learner = StackedLearner([_policy(s, space, 4) for s in range(2)])
    with pytest.raises(ValueError, match=r"\(batch, action_dim\)"):
        learner.update(torch.randn(2, 8, 4), torch.rand(2, 8))


def test_learner_refuses_a_non_mlp_actor() -> None:
    space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    policy = _policy(0, space, 4)
    policy.actor = torch.nn.Sequential(torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="actor=mlp"):
        StackedLearner([policy])


@pytest.mark.slow
def test_k_seed_resume_continues_exactly(tmp_path: Path) -> None:
    """Stop a 2-seed run at step 60, resume it to 120: same weights as running 120 at once."""
    base = ["trainer.num_seeds=2", "trainer.checkpoint_every=30", "trainer.eval_episodes=0"]
    train(compose_config([*base, "trainer.steps=120"], tmp_path / "straight"))
    train(compose_config([*base, "trainer.steps=60"], tmp_path / "resumed"))
    summary = train(
        compose_config([*base, "trainer.steps=120", "trainer.resume=true"], tmp_path / "resumed")
    )
    assert summary["step"] == 120
    for seed in (0, 1):
        straight = _weights(tmp_path / "straight" / f"seed_{seed}")
        resumed = _weights(tmp_path / "resumed" / f"seed_{seed}")
        for key, value in straight.items():
            torch.testing.assert_close(resumed[key], value, atol=0, rtol=0)
        metrics = (tmp_path / "resumed" / f"seed_{seed}" / "metrics.jsonl").read_text()
        steps = [json.loads(line)["step"] for line in metrics.splitlines()]
        assert steps == [50, 60, 100, 120, -1]  # no duplicate steps after the resume
