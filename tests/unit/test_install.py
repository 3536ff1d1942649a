"""The Makefile's install picks CPU torch from PyTorch's CPU index on machines without a GPU."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu --timeout 10 --retries 0"


def _dry_install(tmp_path: Path, with_gpu: bool) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("sh", "python3"):  # a PATH holding only what make needs, and maybe nvidia-smi
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    if with_gpu:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    make = shutil.which("make")
    assert make
    env = {**os.environ, "PATH": str(bin_dir)}
    out = subprocess.run(
        [make, "-n", "install", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_install_picks_cpu_index_without_gpu_and_default_index_with_one(tmp_path):
    cpu = _dry_install(tmp_path / "cpu", with_gpu=False)
    torch_lines = [line for line in cpu.splitlines() if "torch==2.13.0" in line]
    assert CPU_INDEX in torch_lines[0]
    # an unreachable CPU index (CI, firewalls) falls back to the default index, never hangs
    assert "|| {" in torch_lines[0] and "-c constraints-cpu.txt torch==2.13.0" in torch_lines[0]
    gpu = _dry_install(tmp_path / "gpu", with_gpu=True)
    assert "download.pytorch.org" not in gpu
    assert "pip install torch==2.13.0" in gpu
