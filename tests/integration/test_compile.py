"""``trainer.compile=true``: the compiled actor (one member, or the stacked members) trains to
the eager run's losses and writes checkpoints with the eager run's keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from imitation_lab.train import train
from tests.helpers import compose_config

pytestmark = pytest.mark.slow
BUDGET = ["trainer.steps=30", "trainer.log_every=1", "trainer.eval_episodes=0",
          "trainer.checkpoint_every=0", "actor.hidden_sizes=[32,32]"]  # fmt: skip


def _losses(run_dir: Path) -> list[float]:
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [x["train/loss"] for x in lines if "train/loss" in x]


@pytest.mark.parametrize("members", [1, 2], ids=["single", "stacked"])
def test_compiled_steps_train_as_the_eager_ones(members: int, tmp_path: Path) -> None:
    budget = [*BUDGET, f"trainer.num_seeds={members}"]
    train(compose_config(budget, tmp_path / "eager"))
    train(compose_config([*budget, "trainer.compile=true"], tmp_path / "compiled"))
    runs = ["."] if members == 1 else [f"seed_{seed}" for seed in range(members)]
    for run in runs:
        eager, compiled = (tmp_path / arm / run for arm in ("eager", "compiled"))
        ours, ref = _losses(compiled), _losses(eager)
        assert len(ours) == len(ref) == 30
        assert max(abs(a - b) for a, b in zip(ours, ref, strict=True)) < 1e-4
        assert ours != [ours[0]] * 30  # it trained
        a, b = (torch.load(r / "checkpoints" / "last.pt", weights_only=True)["policy"]
                for r in (compiled, eager))  # fmt: skip
        assert a.keys() == b.keys()  # no _orig_mod. prefix: eval/load_policy read it as is
        assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)
