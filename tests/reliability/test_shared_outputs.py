"""Outputs a teammate can use: files get the umask's mode (not mkstemp's private 0600), and
default output dirs of concurrent commands never collide."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from imitation_lab.utils.files import atomic_write_text, file_mode


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
