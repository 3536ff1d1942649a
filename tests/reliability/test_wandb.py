"""W&B never hangs, prompts or kills training; the local metrics always carry on."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import wandb

from imitation_lab.train import train
from tests.helpers import compose_config
from tests.reliability.conftest import TINY, run_cli, train_command

WANDB_RUN = [o for o in TINY if o != "logger=none"] + ["logger=wandb"]


def _no_credentials(tmp_path: Path) -> dict[str, str]:
    """A home without ~/.netrc or W&B settings: nothing to log in with."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "NETRC": str(home / ".netrc"), "WANDB_CONFIG_DIR": str(home)}


def _assert_trained_offline(run_dir: Path) -> None:
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").open()]
    assert steps[-1] == -1 and 200 in steps  # finished, summary written
    run_id = (run_dir / "wandb_run_id.txt").read_text()
    assert [p.name.split("-")[-1] for p in (run_dir / "wandb").glob("offline-run-*")] == [run_id]


def test_online_without_a_login_falls_back_to_offline_with_one_notice(
    minari_store: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    env = _no_credentials(tmp_path) | {"WANDB_MODE": "online"}
    start = time.monotonic()
    result = run_cli(
        train_command(run_dir, *WANDB_RUN, "logger.mode=online"), minari_store, timeout=90, **env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - start < 90
    notices = [line for line in result.stdout.splitlines() if "W&B" in line]
    assert len(notices) == 1 and "needs a login" in notices[0], notices
    _assert_trained_offline(run_dir)


@pytest.mark.slow
def test_online_with_an_unreachable_server_falls_back_within_the_timeout(
    minari_store: Path, tmp_path: Path
) -> None:
    """A key but no network (a closed local port stands in for it): offline after init_timeout.

    Two seeds in one process: only the first waits for the server; both runs end up offline.
    """
    run_dir = tmp_path / "run"
    env = _no_credentials(tmp_path) | {
        "WANDB_MODE": "online",
        "WANDB_API_KEY": "0123456789abcdef" * 2 + "01234567",
        "WANDB_BASE_URL": "http://127.0.0.1:9",
    }
    overrides = [*WANDB_RUN, "logger.mode=online", "logger.init_timeout=3", "trainer.num_seeds=2"]
    result = run_cli(train_command(run_dir, *overrides), minari_store, timeout=120, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    notices = [line for line in result.stdout.splitlines() if "W&B" in line]
    assert len(notices) == 2, notices
    assert "W&B online could not start" in notices[0] and "logging offline" in notices[0]
    assert "W&B online failed earlier in this process" in notices[1]
    for seed in (0, 1):
        _assert_trained_offline(run_dir / f"seed_{seed}")


def test_a_wandb_failure_mid_run_does_not_stop_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken_log(self, *args, **kwargs):
        calls.append(args)
        raise ConnectionResetError("W&B service went away")

    monkeypatch.setattr(wandb.sdk.wandb_run.Run, "log", broken_log)
    cfg = compose_config([*WANDB_RUN, "trainer.eval_every=100"], run_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="imitation_lab.training.loggers"):
        summary = train(cfg)
    assert summary["step"] == 200
    assert len(calls) == 1  # the logger turned itself off after the first failure
    warnings = [r.getMessage() for r in caplog.records if "W&B" in r.getMessage()]
    assert warnings == [
        "W&B logging failed (ConnectionResetError: W&B service went away); "
        "continuing with metrics.jsonl only."
    ]
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").open()]
    assert steps == [50, 100, 100, 150, 200, 200, -1]  # train + eval records, then the summary
