"""Run dirs and checkpoints written by an earlier version keep loading, evaluating, resuming
and being skipped by a re-run sweep, whatever moved in the package since.

``tests/data/legacy_v0/`` was written by commit d7073eb (the flat package, before the layered
subpackages): ``interrupted/`` is a run killed (-9) after its checkpoint at step 100 of 200,
``sweep/`` a finished one-job sweep; both record ``_target_`` paths of that layout
(``imitation_lab.schedulers.warmup_cosine``, ``imitation_lab.loggers.NullLogger``). See
``tests/data/legacy_v0/README.md`` for the commands.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch
import yaml

from imitation_lab.inference import load_policy
from tests.conftest import REPO_ROOT
from tests.reliability.conftest import run_cli, train_command

LEGACY = REPO_ROOT / "tests" / "data" / "legacy_v0"


def _overrides(run_dir: Path) -> list[str]:
    return [str(o) for o in yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())]


def _eval_logged_at(run_dir: Path, step: int) -> dict:
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return next(x for x in lines if x["step"] == step and "eval/return_mean" in x)


def test_a_legacy_checkpoint_loads_and_repeats_its_evaluation(
    tmp_path: Path, minari_store: Path
) -> None:
    run_dir = LEGACY / "interrupted"
    policy = load_policy(run_dir / "checkpoints" / "last.pt")
    assert policy.step == 100
    out = tmp_path / "eval"
    result = run_cli(
        [sys.executable, "-m", "imitation_lab.eval_app", f"checkpoint={run_dir}",
         f"hydra.run.dir={out}"],
        minari_store,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    written = json.loads((out / "eval.json").read_text())
    assert written["return_mean"] == _eval_logged_at(run_dir, 100)["eval/return_mean"]


def test_a_legacy_run_resumes_bit_identically_to_an_uninterrupted_run(
    tmp_path: Path, minari_store: Path
) -> None:
    resumed = tmp_path / "resumed"
    shutil.copytree(LEGACY / "interrupted", resumed)
    result = run_cli(train_command(resumed, "trainer.resume=true"), minari_store)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resumed from {resumed / 'checkpoints' / 'last.pt'} at step 100" in result.stdout
    reference = tmp_path / "reference"
    result = run_cli(train_command(reference, *_overrides(resumed)), minari_store)
    assert result.returncode == 0, result.stderr[-3000:]
    ours, ref = (torch.load(r / "checkpoints" / "last.pt", weights_only=True)
                 for r in (resumed, reference))  # fmt: skip
    assert ours["step"] == ref["step"] == 200
    for name, tensor in ref["policy"].items():
        assert torch.equal(ours["policy"][name], tensor), name


def test_a_legacy_sweep_is_recognised_and_skipped_by_the_same_command(
    tmp_path: Path, minari_store: Path
) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(LEGACY / "sweep", sweep)
    (job,) = [p for p in sweep.iterdir() if p.is_dir()]
    done = (job / "DONE.json").read_bytes()
    overrides = [o.replace("False", "false") for o in _overrides(job)]
    result = run_cli(
        [sys.executable, "-m", "imitation_lab.train", "-m", *overrides,
         f"hydra.sweep.dir={sweep}"],
        minari_store,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "for this exact config: skipped" in result.stdout + result.stderr
    assert [p for p in sweep.iterdir() if p.is_dir()] == [job]  # same <num>-<hash> dir
    assert (job / "DONE.json").read_bytes() == done
