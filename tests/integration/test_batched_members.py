"""Members that differ in seed, bounding and learning rate train as one group and equal the
separate runs with the same configs (metrics, evaluations, final weights, to 1e-5)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from imitation_lab.config.build import RunNames
from imitation_lab.config.identity import resolved_config
from imitation_lab.runs.batched import plan_groups, train_jobs
from imitation_lab.runs.group import MemberSpec, train_group
from imitation_lab.runs.run_dir import DONE, FAILED
from imitation_lab.train import train
from imitation_lab.training.checkpoint import load_checkpoint
from tests.helpers import compose_config

ATOL = 1e-5
BUDGET = [
    "trainer.steps=80",
    "trainer.log_every=1",  # every step's loss is in metrics.jsonl
    "trainer.eval_every=40",
    "trainer.checkpoint_every=40",
    "trainer.eval_episodes=2",
    "trainer.eval_envs=2",
]
#: 2 seeds x 2 bounding x 2 learning rates, with a cosine schedule each member steps itself
MIXED = [
    [f"seed={seed}", f"bounding={bound}", f"optim.lr={lr}", "scheduler=cosine"]
    for seed, bound, lr in itertools.product((0, 1), ("clip", "tanh_squash"), (1e-3, 3e-3))
]


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _spec(overrides: list[str], run_dir: Path) -> MemberSpec:
    cfg = compose_config([*BUDGET, *overrides], run_dir)
    return MemberSpec(cfg, run_dir, resolved_config(cfg), RunNames(group="g", name=run_dir.name))


@pytest.mark.slow
def test_mixed_group_equals_separate_runs(tmp_path: Path) -> None:
    specs = [_spec(o, tmp_path / "group" / str(i)) for i, o in enumerate(MIXED)]
    outcomes = train_group(specs)
    assert all(o.error is None for o in outcomes)
    for i, overrides in enumerate(MIXED):
        single = tmp_path / f"single_{i}"
        summary = train(compose_config([*BUDGET, *overrides], single))
        member = tmp_path / "group" / str(i)
        single_rows, member_rows = _rows(single), _rows(member)
        assert [r["step"] for r in member_rows] == [r["step"] for r in single_rows]
        for a, b in zip(member_rows, single_rows, strict=True):
            for key in ("train/loss", "train/lr"):
                if key in b:
                    assert a[key] == pytest.approx(b[key], abs=ATOL, rel=0), (i, key, a["step"])
            for key in ("eval/return_mean", "eval/normalized_score"):  # sums of 200 rewards
                if key in b:
                    assert a[key] == pytest.approx(b[key], rel=1e-6), (i, key, a["step"])
        for key, value in summary.items():  # eval-derived keys: returns of ~1e3, to 1e-6 rel
            tolerance = 1e-3 if key.startswith(("final/", "best/")) else ATOL
            assert outcomes[i].summary[key] == pytest.approx(value, abs=tolerance, rel=0), key
        single_w = load_checkpoint(single / "checkpoints" / "last.pt")
        member_w = load_checkpoint(member / "checkpoints" / "last.pt")
        for key, value in single_w["policy"].items():
            torch.testing.assert_close(member_w["policy"][key], value, atol=ATOL, rtol=0)
        for index, state in single_w["optim"]["state"].items():  # the single-run format
            for name, value in state.items():
                torch.testing.assert_close(
                    member_w["optim"]["state"][index][name], value, atol=ATOL, rtol=0
                )
        assert member_w["schedulers"] == single_w["schedulers"]
        assert json.loads((member / DONE).read_text())["config"] == resolved_config(
            compose_config([*BUDGET, *overrides], member)
        )


def test_a_diverging_member_stops_alone(tmp_path: Path) -> None:
    """At step 30 one member's own schedule multiplies its lr by 1e30; the other finishes."""
    budget = [
        "trainer.steps=60",
        "trainer.checkpoint_every=20",
        "trainer.eval_episodes=1",
        "scheduler=step",
        "scheduler.step_size=30",
    ]
    specs = [
        _spec([*budget, "scheduler.gamma=0.5"], tmp_path / "ok"),
        _spec([*budget, "scheduler.gamma=1e30"], tmp_path / "bad"),
    ]
    ok, bad = train_group(specs)
    assert ok.error is None and ok.summary["step"] == 60
    assert bad.summary is None and "training stopped" in str(bad.error)
    assert (tmp_path / "ok" / DONE).exists() and not (tmp_path / "ok" / FAILED).exists()
    failed = json.loads((tmp_path / "bad" / FAILED).read_text())
    assert failed["error"] == "TrainingDivergedError"
    assert not (tmp_path / "bad" / DONE).exists()
    state = load_checkpoint(tmp_path / "bad" / "checkpoints" / "last.pt")
    assert state["step"] == 20  # the last good one
    assert all(torch.isfinite(w).all() for w in state["policy"].values())


def test_groups_split_on_non_batchable_keys_and_the_cap(tmp_path: Path) -> None:
    lrs = [_spec([f"optim.lr={lr}"], tmp_path / f"lr{lr}") for lr in (1e-3, 2e-3, 3e-3)]
    wide = _spec(["actor.hidden_sizes=[64]"], tmp_path / "wide")  # another shape
    sgd = _spec(["optim=sgd"], tmp_path / "sgd")  # another optimizer (code path)
    specs = [*lrs, wide, sgd]
    assert plan_groups(specs, None) == [[0, 1, 2], [3], [4]]
    assert plan_groups(specs, 2) == [[0, 1], [2], [3], [4]]


def test_groups_fill_the_workers_when_there_are_fewer_than_n_jobs(tmp_path: Path) -> None:
    seeds = [_spec([f"seed={s}"], tmp_path / str(s)) for s in range(7)]
    wide = _spec(["actor.hidden_sizes=[64]"], tmp_path / "wide")
    assert plan_groups(seeds, None, n_jobs=2) == [[0, 1, 2], [3, 4, 5, 6]]
    assert plan_groups(seeds, None, n_jobs=3) == [[0, 1], [2, 3], [4, 5, 6]]
    assert plan_groups(seeds, 4, n_jobs=3) == [[0, 1], [2, 3], [4, 5, 6]]
    assert plan_groups([*seeds, wide], None, n_jobs=3) == [[0, 1, 2], [3, 4, 5, 6], [7]]
    assert plan_groups(seeds[:2], None, n_jobs=4) == [[0], [1]]  # no part is empty
    assert plan_groups(seeds, None, n_jobs=1) == [list(range(7))]


def test_train_jobs_skips_finished_jobs_and_fails_bad_configs_alone(tmp_path: Path) -> None:
    specs = [_spec(["trainer.steps=20", f"seed={s}"], tmp_path / str(s)) for s in (0, 1)]
    first = train_jobs(specs)
    assert all(r.error is None and not r.skipped for r in first)
    again = train_jobs([*specs, _spec(["optim.lr=-1"], tmp_path / "bad")])
    assert [r.skipped for r in again] == [True, True, False]
    assert again[0].summary == first[0].summary
    assert "optim.lr" in str(again[2].error) and (tmp_path / "bad" / FAILED).exists()
    np.testing.assert_equal(again[1].objective, first[1].objective)
