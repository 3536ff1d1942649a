"""Tab completion (Hydra's ``-sc query=bash``) for both documented entry points."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("python -m imitation_lab.train optim=", ["-m", "imitation_lab.train"]),
        ("imitation-lab train optim=", ["-m", "imitation_lab.cli"]),
    ],
    ids=["python-m", "console-script"],
)
def test_completion_lists_the_group_options(line: str, argv: list[str]) -> None:
    env = {**os.environ, "COMP_LINE": line, "COMP_POINT": str(len(line)), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, *argv, "-sc", "query=bash"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert {"optim=adam", "optim=adamw", "optim=sgd"} <= set(out.stdout.split())
