"""Bad config → one clear message before any work, through the real CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from torch import nn

from imitation_lab.config.checks import check_actor_output
from imitation_lab.errors import ConfigError
from tests.reliability.conftest import (
    TINY,
    assert_one_line_error,
    run_cli,
    run_main_in_process,
    train_command,
)


def test_user_error_is_one_line_and_no_work_is_done(minari_store: Path, tmp_path: Path) -> None:
    """Through the real CLI in a subprocess: exit 1, one line, no traceback, no outputs."""
    run_dir = tmp_path / "run"
    result = run_cli(train_command(run_dir, *TINY, "optim.lr=-1"), minari_store)
    assert_one_line_error(result, "optim.lr=-1.0", "must be > 0")
    assert not (run_dir / "checkpoints").exists()
    assert not (run_dir / "metrics.jsonl").exists()
    assert (run_dir / "FAILED.json").is_file()  # the full record stays in the run dir


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["trainer.batch_size=0"], ["trainer.batch_size", "must be > 0"]),
        (["dataset=cartpole", "actor.act_dim=1"], ["actor.act_dim=1", "needs 2"]),
        (["optim=adam_schema"], ["optim=adam_schema is an internal schema", "`optim=adam`"]),
        (["dataset.top_fraction=0"], ["dataset.top_fraction", "must be in (0, 1]"]),
        (["head=gmm", "dataset=cartpole"], ["head=gmm", "discrete actions keep their categorical"]),
    ],
    ids=[
        "zero-batch",
        "continuous-head-on-discrete",
        "schema-as-option",
        "top-fraction-0",
        "box-head-on-discrete",
    ],
)
def test_more_user_errors(
    overrides: list[str],
    fragments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = run_main_in_process(tmp_path, overrides, monkeypatch, capsys)
    assert all(fragment in line for fragment in fragments), line


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["bounding=sigmoid"], ["bounding/sigmoid", "Available options in 'bounding'", "clip"]),
        (["trainer.batch_size=abc"], ["trainer.batch_size", "abc"]),
        (["trainer.bach_size=3"], ["trainer.bach_size"]),
    ],
    ids=["unknown-choice", "wrong-type", "typo"],
)
def test_compose_error_is_a_short_message_without_traceback(
    overrides: list[str], fragments: list[str], minari_store: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(train_command(run_dir, *TINY, *overrides), minari_store)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.error_lines) <= 15, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert not run_dir.exists()  # failed at composition: not even a run dir


@pytest.mark.parametrize(
    ("how", "command_prefix", "env"),
    [
        ("--debug (python -m)", ["-m", "imitation_lab.train", "--debug"], {}),
        ("--debug (console)", ["-m", "imitation_lab.cli", "--debug", "train"], {}),
        ("HYDRA_FULL_ERROR=1", ["-m", "imitation_lab.train"], {"HYDRA_FULL_ERROR": "1"}),
    ],
    ids=["debug-module", "debug-console", "hydra-full-error"],
)
def test_debug_paths_keep_the_full_traceback(
    how: str, command_prefix: list[str], env: dict[str, str], minari_store: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    args = [sys.executable, *command_prefix, *TINY, "optim.lr=-1", f"hydra.run.dir={run_dir}"]
    result = run_cli(args, minari_store, **env)
    assert result.returncode == 1, how
    assert "Traceback (most recent call last)" in result.stderr, (how, result.stderr)
    assert "imitation_lab.errors.ConfigError" in result.stderr
    assert "optim.lr must be > 0" in result.stderr


def test_an_actor_head_that_does_not_fit_the_action_space_is_refused() -> None:
    """A custom actor with a one-output continuous head on a 2-action discrete dataset."""

    class ContinuousHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(4, 1)

        def forward(self, obs: torch.Tensor, state=None, info=None):
            return torch.tanh(self.net(obs)), state

    obs_space = gym.spaces.Box(-1.0, 1.0, (4,))
    with pytest.raises(ConfigError, match=r"needs \(2, 2\) \(logits, one per discrete action\)"):
        check_actor_output(ContinuousHead(), obs_space, gym.spaces.Discrete(2))
    check_actor_output(ContinuousHead(), obs_space, gym.spaces.Box(-1.0, 1.0, (1,)))  # fits


def test_interrupted_apps_say_what_was_kept(capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C outside a sweep: collect and eval say what they kept (before, collect talked
    about finishing a sweep)."""
    from imitation_lab.cli import run_interruptible

    def interrupted() -> None:
        raise KeyboardInterrupt

    for app, fragment in (("collect", "Nothing was written under the dataset id"),
                          ("eval", "No eval.json was written")):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            run_interruptible(interrupted, app)
        assert exit_info.value.code == 130
        (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert line.startswith("error: interrupted.") and fragment in line
        assert "sweep" not in line


def test_eval_on_a_device_this_machine_lacks_names_the_device(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, eval device=cuda on a CPU machine blamed a checkpoint/env mismatch."""
    import torch
    from omegaconf import OmegaConf

    from imitation_lab.errors import ConfigError
    from imitation_lab.eval_app import run_eval

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = OmegaConf.create({"checkpoint": str(finished_run), "episodes": 1, "num_envs": 1,
                            "seed": None, "env_id": None, "device": "cuda",
                            "video_episodes": 0})  # fmt: skip
    with pytest.raises(ConfigError, match=r"^device=cuda but torch .* sees no CUDA device"):
        run_eval(cfg, tmp_path / "eval")
    assert not (tmp_path / "eval").exists()


def test_an_env_of_an_installed_but_unimported_package_names_its_prefix(
    finished_run: Path, tmp_path: Path, minari_store: Path
) -> None:
    """``eval env_id=PointMaze_Open-v3`` needs ``gymnasium_robotics:`` (installed here), not
    "install its package" (a fresh process, where nothing imported gymnasium_robotics)."""
    pytest.importorskip("gymnasium_robotics")
    import sys

    result = run_cli(
        [sys.executable, "-m", "imitation_lab.eval_app", f"checkpoint={finished_run}",
         "env_id=PointMaze_Open-v3", f"hydra.run.dir={tmp_path / 'eval'}"],
        minari_store,
    )  # fmt: skip
    assert_one_line_error(result, "env_id=gymnasium_robotics:PointMaze_Open-v3")
