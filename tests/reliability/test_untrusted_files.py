"""Security: a file someone shares is data and never runs code.

A checkpoint records its run's config, and ``load_policy`` rebuilds the policy from it; a run
dir records the overrides a resume re-applies; an Optuna storage records the pruner. Each of
them may name only the project's own ``_target_``s: anything else is refused in one line that
names the key, before any callable runs (here: ``pathlib.Path.unlink`` of a victim file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

from imitation_lab.config.instantiate import TRUSTED_TARGETS_ENV
from imitation_lab.errors import CheckpointError, ConfigError
from imitation_lab.inference import load_policy
from imitation_lab.runs.hpo import instantiate_pruner
from tests.reliability.conftest import assert_one_line_error, run_cli, train_command

UNLINK = "pathlib.Path.unlink"


def _evil_checkpoint(finished_run: Path, tmp_path: Path, where: str) -> tuple[Path, Path]:
    """A real checkpoint whose recorded config names ``Path.unlink(victim)`` at ``where``."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    state = torch.load(finished_run / "checkpoints" / "last.pt", weights_only=True)
    config = state["metadata"]["config"]
    payload = {"_target_": UNLINK, "_args_": [str(victim)]}
    if where == "scheduler.nested":  # the red team's case: nested under an allowed option
        config["scheduler"]["nested"] = payload
    elif where == "actor._target_":
        config["actor"]["_target_"] = UNLINK
        config["actor"]["_args_"] = [str(victim)]
    elif where == "optim.params.0":
        config["optim"]["params"] = [payload]
    path = tmp_path / "evil.pt"
    torch.save(state, path)
    return path, victim


@pytest.mark.parametrize("where", ["scheduler.nested", "actor._target_", "optim.params.0"])
def test_load_policy_refuses_a_checkpoint_that_names_a_foreign_callable(
    finished_run: Path, tmp_path: Path, where: str
) -> None:
    path, victim = _evil_checkpoint(finished_run, tmp_path, where)
    key = where if where.endswith("_target_") else f"{where}._target_"
    with pytest.raises(CheckpointError, match=rf"names `{key}: {UNLINK}`.*refused"):
        load_policy(path)
    assert victim.read_text() == "precious"
    assert load_policy(finished_run).step == 200  # the project's own checkpoints still load


def test_a_trusted_callable_is_allowed_by_name_only(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, victim = _evil_checkpoint(finished_run, tmp_path, "scheduler.nested")
    monkeypatch.setenv(TRUSTED_TARGETS_ENV, "mypackage.MyActor")  # another name: still refused
    with pytest.raises(CheckpointError, match="refused"):
        load_policy(path)
    assert victim.exists()


def test_eval_and_collect_refuse_it_in_one_line_and_the_file_survives(
    finished_run: Path, tmp_path: Path, minari_store: Path
) -> None:
    path, victim = _evil_checkpoint(finished_run, tmp_path, "scheduler.nested")
    out = tmp_path / "eval_out"
    result = run_cli(
        [sys.executable, "-m", "imitation_lab.eval_app", f"checkpoint={path}",
         f"hydra.run.dir={out}"],
        minari_store,
    )  # fmt: skip
    assert_one_line_error(result, "scheduler.nested._target_", UNLINK, "refused")
    assert victim.read_text() == "precious"
    assert not (out / "eval.json").exists()

    result = run_cli(
        [sys.executable, "-m", "imitation_lab.collect", "source=checkpoint",
         f"source.path={path}", "dataset_id=me/evil/collected-v0", "episodes=1",
         f"hydra.run.dir={tmp_path / 'collect_out'}"],
        minari_store,
    )  # fmt: skip
    assert_one_line_error(result, "scheduler.nested._target_", UNLINK)
    assert victim.read_text() == "precious"
    assert not (minari_store / "me" / "evil").exists()


def test_resume_refuses_a_run_dir_whose_saved_overrides_name_a_foreign_callable(
    run_copy: Path, minari_store: Path
) -> None:
    before = (run_copy / "checkpoints" / "last.pt").read_bytes()
    overrides = run_copy / ".hydra" / "overrides.yaml"
    saved = yaml.safe_load(overrides.read_text())
    saved += [f"scheduler._target_={UNLINK}"]
    overrides.write_text(yaml.safe_dump(saved))
    result = run_cli(
        train_command(run_copy, "trainer.resume=true", "trainer.steps=300"), minari_store
    )
    assert_one_line_error(result, "scheduler._target_", UNLINK, "refused")
    assert (run_copy / "checkpoints" / "last.pt").read_bytes() == before


def test_a_pruner_read_from_the_optuna_storage_is_an_optuna_pruner(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    assert type(instantiate_pruner({"_target_": "optuna.pruners.MedianPruner"})).__name__ == (
        "MedianPruner"
    )
    for spec in (
        {"_target_": UNLINK, "_args_": [str(victim)]},
        {"_target_": "optuna.pruners.os.remove", "_args_": [str(victim)]},
        {"_target_": "optuna.pruners.PatientPruner",
         "wrapped_pruner": {"_target_": UNLINK, "_args_": [str(victim)]}, "patience": 1},
    ):  # fmt: skip
        with pytest.raises(ConfigError, match=r"is not an optuna\.pruners class"):
            instantiate_pruner(spec)
    assert victim.read_text() == "precious"
