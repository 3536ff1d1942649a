"""Shared pieces of the reliability suite: real CLI subprocesses and one finished tiny run."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, subprocess_env

# A tiny but complete run: pendulum (built offline), 16-unit actor, no W&B, 2 eval episodes.
TINY = [
    "logger=none",
    "trainer.steps=200",
    "trainer.batch_size=64",
    "trainer.log_every=50",
    "trainer.eval_every=0",
    "trainer.eval_episodes=2",
    "trainer.eval_envs=2",
    "trainer.checkpoint_every=100",
    "trainer.progress=false",
    "actor.hidden_sizes=[16]",
]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """The non-empty lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def cli_env(minari_store: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: temp Minari store, offline W&B, 1 thread, no tty."""
    cli_defaults = {"MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess_env(minari_store, **(cli_defaults | extra))


def train_command(run_dir: Path, *overrides: str, module: str = "imitation_lab.train") -> list[str]:
    return [sys.executable, "-m", module, *overrides, f"hydra.run.dir={run_dir}"]


def run_cli(args: list[str], minari_store: Path, timeout: float = 120, **env: str) -> CliResult:
    """Run a command in the repo root with stdin closed (a prompt would fail, not hang)."""
    proc = subprocess.run(
        args,
        cwd=REPO_ROOT,
        env=cli_env(minari_store, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _outputs(run_dir: Path) -> dict[str, bytes]:
    """What training writes: the metrics file and the checkpoints, by name."""
    paths = [run_dir / "metrics.jsonl", *sorted((run_dir / "checkpoints").glob("*"))]
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in paths if p.is_file()}


def run_main_in_process(
    run_dir: Path,
    overrides: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """``python -m imitation_lab.train TINY overrides`` in this process, for a user error.

    Cheaper than a subprocess, and lets a test replace the network boundary. Checks exit
    status 1, exactly one ``error:`` line on stderr, and that the metrics file and the
    checkpoints are exactly as before (no work done, nothing lost); returns the line.
    """
    from imitation_lab import train as train_module

    before = _outputs(run_dir)
    monkeypatch.setattr(sys, "argv", ["train", *TINY, *overrides, f"hydra.run.dir={run_dir}"])
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.raises(SystemExit) as exit_info:
            train_module.main()
    finally:  # Hydra pointed the root logger at this test's captured stdout: undo that
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
    assert exit_info.value.code == 1
    stderr = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(stderr) == 1 and stderr[0].startswith("error: "), stderr
    assert _outputs(run_dir) == before
    return stderr[0]


def assert_one_line_error(result: CliResult, *fragments: str) -> str:
    """Exit status 1, exactly one ``error: ...`` line on stderr, no traceback anywhere."""
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


@pytest.fixture(scope="session")
def finished_run(minari_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished TINY run (checkpoints/last.pt at step 200), made once per session."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli(train_command(run_dir, *TINY), minari_store)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    return run_dir


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    """A private copy of ``finished_run`` that a test may corrupt or resume."""
    target = tmp_path / "run"
    shutil.copytree(finished_run, target)
    return target
