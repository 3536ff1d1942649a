"""Action chunks (``head.chunk=H``, ``policy.execute``): the targets are the next H actions of
the episode (masked past its end), a chunk is played out or temporally ensembled per env, and
a chunk policy trains, evaluates, resumes exactly and is repeated by ``eval`` to the last bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from imitation_lab.data.chunks import ChunkIndex
from imitation_lab.errors import ConfigError
from imitation_lab.eval_app import run_eval
from imitation_lab.policy.chunking import ChunkExecutor
from imitation_lab.policy.heads import ChunkHead, RegressionHead
from imitation_lab.train import train
from tests.helpers import compose_config, eval_config, straight_and_resumed

RUN = ["trainer.steps=200", "trainer.eval_every=100", "trainer.eval_episodes=3",
       "trainer.eval_envs=3", "actor.hidden_sizes=[32,32]", "seed=4"]  # fmt: skip


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_chunk_targets_are_the_next_actions_of_the_episode_masked_past_its_end() -> None:
    index = ChunkIndex.of(np.array([3, 2]), size=3)  # rows 0-2 and 3-4
    actions = torch.arange(5, dtype=torch.float32).unsqueeze(-1) * 10
    targets = index.targets(actions, torch.tensor([0, 1, 2, 3, 4]))
    expected = [[0, 10, 20], [10, 20, None], [20, None, None], [30, 40, None], [40, None, None]]
    for row, want in zip(targets[..., 0].tolist(), expected, strict=True):
        assert [None if np.isnan(v) else v for v in row] == want


def test_the_chunk_loss_is_the_mean_over_steps_inside_the_episode() -> None:
    head = ChunkHead(RegressionHead(act_dim=1), chunk=3)
    params = torch.zeros(2, 3, requires_grad=True)
    target = torch.tensor([[[1.0], [2.0], [float("nan")]], [[3.0], [float("nan")], [float("nan")]]])
    loss = head.loss(params, target).mean()
    assert loss.item() == pytest.approx((1 + 4 + 9) / 3)  # three valid steps
    loss.backward()
    assert params.grad is not None and torch.isfinite(params.grad).all()
    assert params.grad[0, 2] == 0 and params.grad[1, 1:].abs().sum() == 0  # masked steps


def _fake_chunks(calls: list[int]):
    """Chunk of env i at call t: [[100 t + 10 i + j] for j < 3] (which call made each action)."""

    def chunk_fn(obs: np.ndarray) -> np.ndarray:
        t = len(calls)
        calls.append(t)
        n = len(obs)
        return np.array([[[100 * t + 10 * i + j] for j in range(3)] for i in range(n)], float)

    return chunk_fn


def test_execute_chunk_plays_each_chunk_out_and_replans_per_env() -> None:
    calls: list[int] = []
    executor = ChunkExecutor(_fake_chunks(calls), chunk=3, execute="chunk", ensemble_decay=0.01)
    obs = np.zeros((2, 1))
    played = [executor(obs)[:, 0].tolist() for _ in range(4)]
    assert played == [[0, 10], [1, 11], [2, 12], [300, 310]]  # the chunk of call 3 after 3 steps
    executor.reset(np.array([False, True]))  # env 1 starts a new episode
    assert executor(obs)[:, 0].tolist() == [301, 410]


def test_temporal_ensemble_weighs_every_prediction_for_the_step_oldest_first() -> None:
    calls: list[int] = []
    decay = 0.5
    executor = ChunkExecutor(_fake_chunks(calls), chunk=3, execute="temporal_ensemble",
                             ensemble_decay=decay)  # fmt: skip
    obs = np.zeros((1, 1))
    out = [executor(obs)[0, 0] for _ in range(4)]
    w = np.exp(-decay * np.arange(3))
    # step 2: call 0 predicted 2 (its index 2), call 1 predicted 101, call 2 predicted 200
    assert out[2] == pytest.approx((w[0] * 2 + w[1] * 101 + w[2] * 200) / w.sum())
    # step 3: calls 1, 2, 3 (call 0's chunk is over)
    assert out[3] == pytest.approx((w[0] * 102 + w[1] * 201 + w[2] * 300) / w.sum())
    assert out[0] == 0 and out[1] == pytest.approx((w[0] * 1 + w[1] * 100) / w[:2].sum())


@pytest.mark.parametrize(
    "head",
    [
        ["policy.execute=temporal_ensemble"],
        ["head=gmm", "head.modes=2"],
        ["head=gaussian", "head.act=sample"],
    ],
    ids=["mse-ensemble", "gmm-chunk", "gaussian-sample"],
)
def test_a_chunk_policy_trains_evaluates_and_eval_repeats_it_exactly(
    head: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    summary = train(compose_config([*RUN, "head.chunk=4", *head], run_dir))
    assert summary["step"] == 200 and np.isfinite(summary["train/smoothed_loss"])
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["metadata"]["config"]["head"]["chunk"] == 4
    cfg = eval_config(run_dir / "checkpoints" / "last.pt")
    logged = [x for x in _lines(run_dir) if "eval/return_mean" in x][-1]
    assert run_eval(cfg, tmp_path / "eval")["return_mean"] == logged["eval/return_mean"]


def test_a_chunk_policy_resumes_exactly(tmp_path: Path) -> None:
    overrides = [*RUN, "head.chunk=3", "policy.execute=temporal_ensemble",
                 "trainer.eval_every=0", "trainer.log_every=10"]  # fmt: skip
    a, b = (state["policy"] for state in straight_and_resumed(overrides, tmp_path, steps=40))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["head=diffusion"], "cannot"),
        (["trainer.num_seeds=2"], "does not support yet"),
        (["dataset=cartpole"], "discrete actions keep their categorical"),
        (["head.chunk=0"], "head.chunk"),
    ],
    ids=["diffusion", "stacked", "discrete", "zero"],
)
def test_what_a_chunk_cannot_do_is_refused_in_one_line(
    overrides: list[str], message: str, tmp_path: Path
) -> None:
    chunk = [] if any(o.startswith("head.chunk") for o in overrides) else ["head.chunk=4"]
    with pytest.raises(ConfigError, match=message) as info:
        train(compose_config([*chunk, *overrides, "trainer.steps=5"], tmp_path / "run"))
    assert "\n" not in str(info.value)
