"""``trainer.ema_decay``: an exponential moving average of the weights is what evaluation,
``val/loss`` and checkpoints act with; training itself is unchanged; resume restores the
average exactly; stacked members keep one average each, as their single runs do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from imitation_lab.config.build import build_policy
from imitation_lab.eval_app import run_eval
from imitation_lab.inference import load_policy
from imitation_lab.train import train
from imitation_lab.training.ema import WeightAverage
from imitation_lab.utils.seeding import seed_everything
from tests.helpers import compose_config, eval_config, straight_and_resumed

QUIET = ["trainer.eval_every=0", "trainer.eval_episodes=0", "trainer.checkpoint_every=0",
         "trainer.log_every=1", "actor.hidden_sizes=[16,16]", "seed=2"]  # fmt: skip


def _checkpoint(run_dir: Path, name: str = "last.pt") -> dict:
    return torch.load(run_dir / "checkpoints" / name, weights_only=True)


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_the_average_warms_up_then_decays_and_swaps_back() -> None:
    live = [torch.zeros(3)]
    ema = WeightAverage(live, decay=0.9)
    expected = torch.zeros(3)
    for n in range(30):
        live[0].fill_(float(n + 1))
        ema.update()
        rate = min(0.9, (1 + n) / (10 + n))
        expected = rate * expected + (1 - rate) * live[0]
        assert torch.allclose(ema.shadow[0], expected), n
    average = ema.shadow[0].clone()
    with ema.swapped():
        assert torch.equal(live[0], average)
    assert torch.equal(live[0], torch.full((3,), 30.0))
    with pytest.raises(ValueError, match="ema_decay"):
        WeightAverage(live, decay=1.0)


def test_checkpoints_hold_the_average_of_the_trained_weights_and_training_is_unchanged(
    tmp_path: Path,
) -> None:
    """The average after 5 steps, folded here from the weights of runs of 1..5 steps."""
    steps = 5
    trajectory = []
    for n in range(1, steps + 1):
        train(compose_config([*QUIET, f"trainer.steps={n}"], tmp_path / f"plain_{n}"))
        trajectory.append(_checkpoint(tmp_path / f"plain_{n}")["policy"])
    ema_run = tmp_path / "ema"
    train(compose_config([*QUIET, f"trainer.steps={steps}", "trainer.ema_decay=0.5"], ema_run))
    state = _checkpoint(ema_run)
    assert state["ema_updates"] == steps
    average = {k: v.clone() for k, v in _initial_weights(tmp_path).items()}
    for n, weights in enumerate(trajectory):
        rate = min(0.5, (1 + n) / (10 + n))
        for key in average:
            average[key] = rate * average[key] + (1 - rate) * weights[key]
    for key, value in state["policy"].items():
        assert torch.allclose(value, average[key], atol=1e-7), key
    for key, value in state["trained_policy"].items():  # training never saw the average
        assert torch.equal(value, trajectory[-1][key]), key
    losses = [x["train/loss"] for x in _lines(ema_run) if "train/loss" in x]
    plain = [x["train/loss"] for x in _lines(tmp_path / f"plain_{steps}") if "train/loss" in x]
    assert losses == plain


def _initial_weights(tmp_path: Path) -> dict[str, torch.Tensor]:
    """The weights before the first step: the policy built as a run builds it (seeded)."""
    cfg = compose_config([*QUIET, "trainer.steps=1"])
    trained = load_policy(tmp_path / "plain_1" / "checkpoints" / "last.pt").policy
    seed_everything(cfg.seed, cfg.deterministic)
    policy = build_policy(cfg, trained.observation_space, trained.action_space, 1)
    return policy.state_dict()


def test_evaluation_acts_with_the_average_and_eval_repeats_it(tmp_path: Path) -> None:
    run = ["trainer.steps=300", "trainer.eval_every=0", "trainer.eval_episodes=2",
           "trainer.eval_envs=2", "actor.hidden_sizes=[32,32]",
           "dataset.val_fraction=0.2"]  # fmt: skip
    ema_run, plain = tmp_path / "ema", tmp_path / "plain"
    train(compose_config([*run, "trainer.ema_decay=0.99"], ema_run))
    train(compose_config(run, plain))
    ours, ref = (next(x for x in _lines(r) if "eval/return_mean" in x) for r in (ema_run, plain))
    assert ours["eval/return_mean"] != ref["eval/return_mean"]  # another policy acted
    val = [next(x["val/loss"] for x in _lines(r) if "val/loss" in x) for r in (ema_run, plain)]
    assert val[0] != val[1]  # and was validated
    cfg = eval_config(ema_run / "checkpoints" / "last.pt")
    assert run_eval(cfg, tmp_path / "eval")["return_mean"] == ours["eval/return_mean"]


def test_resume_restores_the_average_exactly(tmp_path: Path) -> None:
    overrides = [*QUIET, "trainer.ema_decay=0.9", "trainer.log_every=10"]
    a, b = straight_and_resumed(overrides, tmp_path, steps=40)
    assert a["ema_updates"] == b["ema_updates"] == 40
    for part in ("policy", "trained_policy"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part


def test_stacked_members_keep_their_own_average_as_their_single_runs(tmp_path: Path) -> None:
    overrides = [*QUIET, "trainer.ema_decay=0.9", "trainer.steps=30"]
    train(compose_config([*overrides, "trainer.num_seeds=2"], tmp_path / "stacked"))
    for seed in (2, 3):
        train(compose_config([*overrides, f"seed={seed}"], tmp_path / f"single_{seed}"))
        ours = _checkpoint(tmp_path / "stacked" / f"seed_{seed}")
        ref = _checkpoint(tmp_path / f"single_{seed}")
        assert ours["ema_updates"] == ref["ema_updates"] == 30
        for key, value in ref["policy"].items():  # float order differs (bmm vs mm)
            assert torch.allclose(ours["policy"][key], value, atol=1e-5), key
    a, b = (_checkpoint(tmp_path / "stacked" / f"seed_{s}")["policy"] for s in (2, 3))
    assert not all(torch.equal(a[k], b[k]) for k in a)  # two averages, not one
