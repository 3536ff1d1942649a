"""``trainer.device=cuda`` end to end (skipped without a CUDA device; ``benchmarks/gpu.sh``
runs them with the GPU benchmark): training with the data resident on the device, exact
resume, ``eval`` repeating the run's evaluation, stacked members equal to their single runs,
and compiled steps (CUDA graphs) giving the eager losses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from imitation_lab.config.build import load_dataset
from imitation_lab.eval_app import run_eval
from imitation_lab.train import train
from imitation_lab.training.fit import training_tensors
from tests.helpers import compose_config, eval_config, straight_and_resumed

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CUDA = ["trainer.device=cuda", "deterministic=true"]
EVAL = ["trainer.eval_every=0", "trainer.eval_episodes=4", "trainer.eval_envs=2"]


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _losses(run_dir: Path) -> list[float]:
    return [x["train/loss"] for x in _lines(run_dir) if "train/loss" in x]


def test_the_training_data_lives_on_the_device(tmp_path: Path) -> None:
    from imitation_lab.config.build import build_policy, make_normalizer

    cfg = compose_config(CUDA, tmp_path)
    loaded = load_dataset(cfg.dataset.id)
    policy = build_policy(cfg, loaded.observation_space, loaded.dataset.action_space, 10)
    tensors = training_tensors(loaded.data, make_normalizer(cfg, loaded), [policy])
    assert tensors.device.type == "cuda" and tensors.obs.device.type == "cuda"
    assert next(policy.parameters()).device.type == "cuda"


def test_cuda_training_resumes_exactly_and_eval_repeats_its_evaluation(tmp_path: Path) -> None:
    straight, resumed = straight_and_resumed([*CUDA, "trainer.log_every=1"], tmp_path, steps=60)
    for key, value in straight["policy"].items():
        assert torch.equal(value, resumed["policy"][key]), key
    run = tmp_path / "evaluated"
    train(compose_config([*CUDA, *EVAL, "trainer.steps=100"], run))
    final = next(x for x in reversed(_lines(run)) if "eval/return_mean" in x)
    cfg = eval_config(run / "checkpoints" / "last.pt")
    cfg.device = "cuda"
    assert run_eval(cfg, tmp_path / "eval")["return_mean"] == final["eval/return_mean"]


def test_stacked_members_on_cuda_equal_their_single_runs(tmp_path: Path) -> None:
    budget = [*CUDA, "trainer.steps=50", "trainer.log_every=1", "trainer.eval_episodes=0"]
    train(compose_config([*budget, "trainer.num_seeds=3"], tmp_path / "stacked"))
    for seed in (0, 1, 2):
        train(compose_config([*budget, f"seed={seed}"], tmp_path / f"single_{seed}"))
        ours, ref = (
            _losses(tmp_path / "stacked" / f"seed_{seed}"),
            _losses(tmp_path / f"single_{seed}"),
        )
        assert len(ours) == len(ref) == 50
        assert max(abs(a - b) for a, b in zip(ours, ref, strict=True)) < 1e-4


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compiled_steps_on_cuda_give_the_eager_losses(mode: str, tmp_path: Path) -> None:
    budget = [*CUDA, "trainer.steps=50", "trainer.log_every=1", "trainer.eval_episodes=0",
              "trainer.num_seeds=2"]  # fmt: skip
    train(compose_config(budget, tmp_path / "eager"))
    train(compose_config([*budget, "trainer.compile=true", f"trainer.compile_mode={mode}"],
                         tmp_path / "compiled"))  # fmt: skip
    for seed in (0, 1):
        eager = _losses(tmp_path / "eager" / f"seed_{seed}")
        compiled = _losses(tmp_path / "compiled" / f"seed_{seed}")
        assert max(abs(a - b) for a, b in zip(eager, compiled, strict=True)) < 1e-3
