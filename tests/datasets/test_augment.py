"""``dataset.augment=random_shift``: DrQ's pad-and-crop on uint8 images, one offset per sample
(frames together), drawn from the member's own sampler, so resumes stay exact; training only;
refused without images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from imitation_lab.data.augment import image_axes, random_shift
from imitation_lab.errors import ConfigError
from imitation_lab.eval_app import run_eval
from imitation_lab.train import train
from tests.helpers import compose_config, eval_config

IMAGES = ["dataset=minigrid_empty_random", "dataset.obs_keys=[image]", "actor=multi_input",
          "trainer.eval_every=0", "trainer.eval_episodes=2", "trainer.checkpoint_every=0",
          "trainer.log_every=10", "seed=1"]  # fmt: skip


def _reference_shift(image: torch.Tensor, dy: int, dx: int, h: int, w: int) -> torch.Tensor:
    """Pad by replication and crop at (dy, dx), on a [H, W, rest] float copy."""
    rows = (torch.arange(image.shape[h]) + dy).clamp(0, image.shape[h] - 1)
    cols = (torch.arange(image.shape[w]) + dx).clamp(0, image.shape[w] - 1)
    return image.index_select(h, rows).index_select(w, cols)


@pytest.mark.parametrize("shape", [(9, 11, 3), (3, 9, 11), (2, 9, 11, 3), (9, 11)])
def test_each_sample_is_its_image_shifted_with_edges_replicated(shape: tuple[int, ...]) -> None:
    pad, n = 2, 48
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8)
    out = random_shift(images, len(shape), pad, torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == images.shape
    h, w = image_axes(shape)
    shifts = set()
    for i in range(n):
        found = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if torch.equal(out[i], _reference_shift(images[i], dy, dx, h, w))]  # fmt: skip
        assert found, i  # every frame of a stacked sample moved by the same offset
        shifts.add(found[0])
    assert len(shifts) > 10  # one offset per sample, not one per batch
    again = random_shift(images, len(shape), pad, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_training_shifts_its_minibatches_resumes_exactly_and_evaluates_unshifted(
    tmp_path: Path,
) -> None:
    plain, shifted = tmp_path / "plain", tmp_path / "shifted"
    train(compose_config([*IMAGES, "trainer.steps=40"], plain))
    train(compose_config([*IMAGES, "trainer.steps=40", "dataset.augment=random_shift"], shifted))
    loss = [[x["train/loss"] for x in _lines(r) if "train/loss" in x] for r in (plain, shifted)]
    assert loss[0][0] != loss[1][0]  # the very first minibatch already differs

    resumed = tmp_path / "resumed"
    train(compose_config([*IMAGES, "trainer.steps=20", "dataset.augment=random_shift"], resumed))
    train(compose_config([*IMAGES, "trainer.steps=40", "dataset.augment=random_shift",
                          "trainer.resume=true"], resumed))  # fmt: skip
    ours, ref = (torch.load(r / "checkpoints" / "last.pt", weights_only=True)["policy"]
                 for r in (resumed, shifted))  # fmt: skip
    assert all(torch.equal(ours[k], ref[k]) for k in ref)

    cfg = eval_config(shifted / "checkpoints" / "last.pt")
    logged = next(x for x in _lines(shifted) if "eval/return_mean" in x)
    assert run_eval(cfg, tmp_path / "eval")["length_mean"] == logged["eval/length_mean"]


def test_a_dataset_without_images_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no image observation"):
        train(compose_config(["dataset.augment=random_shift"], tmp_path / "run"))


def test_stacked_members_shift_as_their_single_runs(tmp_path: Path) -> None:
    overrides = [*IMAGES, "actor=mlp", "trainer.steps=30", "dataset.augment=random_shift"]
    train(compose_config([*overrides, "trainer.num_seeds=2"], tmp_path / "stacked"))
    for seed in (1, 2):
        train(compose_config([*overrides, f"seed={seed}"], tmp_path / f"single_{seed}"))
        runs = (tmp_path / "stacked" / f"seed_{seed}", tmp_path / f"single_{seed}")
        ours, ref = ([x["train/loss"] for x in _lines(r) if "train/loss" in x] for r in runs)
        assert ours == pytest.approx(ref, rel=1e-5)
