"""Sequence trunks (``actor=rnn``, ``actor=transformer``): a training window (masked at the
episode start) gives exactly what acting with the carried state gives; they train, evaluate,
resume exactly, and ``eval`` repeats their evaluation to the last bit; the memory task's
expert succeeds; what they cannot combine with is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from imitation_lab.actors import SequenceActor, window
from imitation_lab.collection.memory_expert import MemoryExpert
from imitation_lab.data.frames import FrameIndex
from imitation_lab.envs.memory import ENV_ID as MEMORY_ENV_ID
from imitation_lab.envs.rollout import SeededEpisodes, rollout
from imitation_lab.errors import ConfigError
from imitation_lab.eval_app import run_eval
from imitation_lab.train import train
from tests.helpers import compose_config, eval_config, straight_and_resumed

RUN = ["logger=none", "trainer.log_every=50", "trainer.checkpoint_every=100",
       "trainer.progress=false", "trainer.steps=200", "trainer.eval_every=100",
       "trainer.eval_episodes=3", "trainer.eval_envs=3", "actor.context=6", "actor.hidden_size=16",
       "actor.encoder_sizes=[16]", "seed=3"]  # fmt: skip
TRUNKS = {"gru": ["actor=rnn"], "lstm": ["actor=rnn", "actor.cell=lstm", "actor.layers=2"],
          "transformer": ["actor=transformer", "actor.heads=2"]}  # fmt: skip


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_windows_are_the_rows_up_to_each_transition_valid_inside_its_episode() -> None:
    index = FrameIndex.of(np.array([2, 3]), size=3)  # rows 0-1 and 2-4
    idx = torch.tensor([0, 1, 2, 4])
    assert index(idx).tolist() == [[0, 0, 0], [0, 0, 1], [2, 2, 2], [2, 3, 4]]
    assert index.valid(idx).tolist() == [[False, False, True], [False, True, True],
                                         [False, False, True], [True, True, True]]  # fmt: skip


@pytest.mark.parametrize("kind", ["gru", "lstm", "transformer"])
def test_a_window_computes_what_acting_with_the_carried_state_computes(kind: str) -> None:
    """For every step of an episode shorter than the context (as the memory task's are)."""
    torch.manual_seed(0)
    space = gym.spaces.Box(-1, 1, (3,))
    cell = "gru" if kind == "transformer" else kind
    actor = SequenceActor(4, "transformer" if kind == "transformer" else "rnn", cell=cell,
                          hidden_size=8, layers=2, heads=2, context=5, encoder_sizes=[8],
                          observation_space=space).eval()  # fmt: skip
    episode = torch.randn(5, 3)
    state, acted = None, []
    with torch.no_grad():
        for t in range(5):
            out, state = actor(episode[t : t + 1], state)
            acted.append(out[0])
        for t in range(5):  # the window of step t: left-padded with the first row, masked
            rows = torch.clamp(torch.arange(t - 4, t + 1), min=0)
            valid = torch.arange(t - 4, t + 1) >= 0
            out, _ = actor(window(episode[rows].unsqueeze(0), valid.unsqueeze(0)))
            assert torch.allclose(out[0], acted[t], atol=1e-5), t


@pytest.mark.parametrize("kind", ["gru", "lstm", "transformer"])
def test_loss_steps_all_gives_every_valid_step_what_acting_gives_it(kind: str) -> None:
    """``actor.loss_steps=all``: a batch of left-padded windows yields one output per valid
    step, in ``valid``'s row-major order, each equal to acting's output at that step."""
    torch.manual_seed(0)
    space = gym.spaces.Box(-1, 1, (3,))
    cell = "gru" if kind == "transformer" else kind
    actor = SequenceActor(4, "transformer" if kind == "transformer" else "rnn", cell=cell,
                          hidden_size=8, layers=2, heads=2, context=4, encoder_sizes=[8],
                          loss_steps="all", observation_space=space).eval()  # fmt: skip
    episode = torch.randn(6, 3)
    state, acted = None, []
    with torch.no_grad():
        for t in range(4):  # within the context, acting computes what training sees
            out, state = actor(episode[t : t + 1], state)
            acted.append(out[0])
        index = FrameIndex.of(np.array([6]), size=4)
        idx = torch.tensor([0, 2, 3, 1])  # windows of 1, 3, 4 and 2 valid steps
        rows, valid = index(idx), index.valid(idx)
        out, _ = actor(window(episode[rows], valid))
    steps = [t for last in idx.tolist() for t in range(last + 1)]  # valid's row-major order
    assert out.shape == (int(valid.sum()), 4) == (len(steps), 4) == (10, 4)
    if kind == "transformer":  # earlier steps sit at other positions than acting puts them
        ends = torch.cumsum(valid.sum(dim=1), 0) - 1  # each window's last step: exact
        assert torch.allclose(out[ends], torch.stack([acted[t] for t in idx]), atol=1e-5)
    else:  # a recurrent trunk computes every step as acting does
        assert torch.allclose(out, torch.stack([acted[t] for t in steps]), atol=1e-5)


def test_loss_steps_all_trains_on_each_window_steps_own_action(tmp_path: Path) -> None:
    from imitation_lab.config.build import build_policy, load_dataset, make_normalizer
    from imitation_lab.policy.bounding import unscale_action
    from imitation_lab.training.fit import training_tensors

    cfg = compose_config([*RUN, *TRUNKS["gru"], "actor.loss_steps=all"], tmp_path, fast=False)
    loaded = load_dataset(cfg.dataset.id)
    policy = build_policy(cfg, loaded.observation_space, loaded.dataset.action_space, 10)
    tensors = training_tensors(loaded.data, make_normalizer(cfg, loaded), [policy])
    idx = torch.tensor([[0, 3, 57, 58]])
    _, act = tensors.batch(idx)
    rows, valid = tensors.frames(idx), tensors.frames.valid(idx)
    mapped = unscale_action(loaded.data.act, loaded.dataset.action_space)  # bounding=clip
    assert torch.allclose(act[0], mapped[rows][valid].float())
    assert act.shape[1] == int(valid.sum()) > 4  # several targets per window
    overrides = [*RUN, *TRUNKS["transformer"], "actor.loss_steps=all", "trainer.eval_every=0"]
    states = straight_and_resumed(overrides, tmp_path, steps=20, fast=False)
    a, b = (state["policy"] for state in states)
    assert all(torch.equal(a[k], b[k]) for k in a)  # trains, and resumes exactly


def test_reset_state_restarts_only_the_envs_of_the_mask() -> None:
    space = gym.spaces.Box(-1, 1, (3,))
    for kind in ("rnn", "transformer"):
        actor = SequenceActor(2, kind, hidden_size=8, heads=2, context=4, encoder_sizes=[8],
                              observation_space=space).eval()  # fmt: skip
        obs = torch.randn(2, 3)
        with torch.no_grad():
            _, state = actor(obs, None)
            _, state = actor(obs, state)
            fresh, _ = actor(obs, None)
            again, _ = actor(obs, actor.reset_state(state, np.array([True, False])))
            carried, _ = actor(obs, state)
        assert torch.allclose(again[0], fresh[0], atol=1e-6)  # env 0 restarted
        assert torch.allclose(again[1], carried[1])  # env 1 kept its history


@pytest.mark.parametrize("trunk", list(TRUNKS))
def test_a_sequence_trunk_trains_and_eval_repeats_its_evaluation_exactly(
    trunk: str, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    summary = train(compose_config([*RUN, *TRUNKS[trunk]], run_dir, fast=False))
    assert summary["step"] == 200 and np.isfinite(summary["train/smoothed_loss"])
    cfg = eval_config(run_dir / "checkpoints" / "last.pt")
    logged = [x for x in _lines(run_dir) if "eval/return_mean" in x][-1]
    assert run_eval(cfg, tmp_path / "eval")["return_mean"] == logged["eval/return_mean"]


def test_a_sequence_trunk_resumes_exactly(tmp_path: Path) -> None:
    overrides = [*RUN, *TRUNKS["gru"], "trainer.eval_every=0", "trainer.log_every=10",
                 "head=gaussian", "dataset.val_fraction=0.2"]  # fmt: skip
    states = straight_and_resumed(overrides, tmp_path, steps=40, fast=False)
    a, b = (state["policy"] for state in states)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.frame_stack=2"], "drop dataset.frame_stack"),
        (["head.chunk=2"], "not supported yet"),
        (["trainer.num_seeds=2"], "does\\s+not support yet"),
    ],
    ids=["frame_stack", "chunk", "stacked"],
)
def test_what_a_sequence_trunk_cannot_do_is_refused_in_one_line(
    overrides: list[str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        train(compose_config([*RUN, "actor=rnn", *overrides, "trainer.steps=5"], tmp_path / "run",
                             fast=False))  # fmt: skip
    assert "\n" not in str(info.value)


def test_the_memory_expert_looks_at_the_cue_then_goes_to_the_matching_object() -> None:
    """On the fixed fork (key above, ball below) the turn is the cue's type."""
    expert = MemoryExpert()
    env = gym.vector.SyncVectorEnv(
        [lambda: gym.make(MEMORY_ENV_ID) for _ in range(4)],
        autoreset_mode=gym.vector.AutoresetMode.DISABLED,
    )
    try:
        episodes = rollout(env, expert, SeededEpisodes(0, episodes=12), record=True)
        grids = [sub.unwrapped for sub in env.envs]
        mid = grids[0].height // 2
        assert [g.grid.get(11, mid - 2).type for g in grids] == ["key"] * 4
        assert [g.grid.get(11, mid + 2).type for g in grids] == ["ball"] * 4
    finally:
        env.close()
    assert all(ep.total_reward > 0 for ep in episodes)  # every episode at the matching object
    assert all(15 <= ep.length <= 23 for ep in episodes)
    turns = {int(ep.actions[-2]) for ep in episodes}
    assert turns == {0, 1}  # left (key: up) and right (ball: down) both occur


def test_image_scale_feeds_symbolic_images_as_their_ids() -> None:
    space = gym.spaces.Dict({"image": gym.spaces.Box(0, 255, (2, 2, 3), np.uint8)})
    ids = torch.tensor([[[[5, 1, 0], [6, 1, 0]], [[2, 5, 0], [1, 0, 0]]]], dtype=torch.uint8)
    for scale, expected in ((1.0, ids.float()), (255.0, ids.float() / 255)):
        actor = SequenceActor(2, "rnn", hidden_size=4, context=2, encoder_sizes=[4],
                              image_scale=scale, observation_space=space)  # fmt: skip
        assert actor.flatten is not None
        flat = actor.flatten({"image": ids})
        assert torch.equal(flat, expected.reshape(1, -1))
