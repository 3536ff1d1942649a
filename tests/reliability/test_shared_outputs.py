"""Outputs a teammate can use: files get the umask's mode (not mkstemp's private 0600), and
default output dirs of concurrent commands never collide."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from imitation_lab.utils.files import atomic_create, atomic_write_text, file_mode
from tests.reliability.conftest import cli_env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_get_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert file_mode() == 0o640
        path = atomic_write_text(tmp_path / "marker.json", "{}")
        assert _mode(path) == 0o640
    finally:
        os.umask(old)


def test_every_file_of_a_run_dir_is_readable_by_the_group(finished_run: Path) -> None:
    expected = file_mode()  # the suite's umask, as any tool's output
    files = [p for p in finished_run.rglob("*") if p.is_file() and "wandb" not in p.parts]
    assert {p.name for p in files} >= {"last.pt", "DONE.json", "dataset_info.json", "config.yaml"}
    private = [str(p.relative_to(finished_run)) for p in files if _mode(p) != expected]
    assert not private, f"files not {oct(expected)}: {private}"


def test_atomic_create_never_replaces_a_file(tmp_path: Path) -> None:
    path = atomic_create(tmp_path / "eval.json", "first")
    with pytest.raises(FileExistsError):
        atomic_create(path, "second")
    assert path.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]  # no temp file left


def test_two_evals_started_together_write_two_results(
    finished_run: Path, tmp_path: Path, minari_store: Path
) -> None:
    """The default output dir is ``outputs/eval/<second>-<pid>``: two evals started in the
    same second (before: one dir, one eval.json left, both said "Written to") keep both."""
    command = [sys.executable, "-m", "imitation_lab.eval_app", f"checkpoint={finished_run}"]
    env = cli_env(minari_store)
    procs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    results = sorted((tmp_path / "outputs" / "eval").glob("*/eval.json"))
    assert len(results) == 2
    assert json.loads(results[0].read_text()) == json.loads(results[1].read_text())
