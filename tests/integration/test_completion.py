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


def _complete(line: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMP_LINE": line, "COMP_POINT": str(len(line)), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "imitation_lab.cli", *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_completion_hides_schemas_and_other_apps_groups() -> None:
    options = _complete("imitation-lab train optim=", "train", "-sc", "query=bash")
    assert options.returncode == 0, options.stderr[-2000:]
    assert "optim=adam" in options.stdout.split() and "schema" not in options.stdout
    groups = _complete("imitation-lab train ", "train", "-sc", "query=bash")
    words = set(groups.stdout.split())
    assert {"optim=", "dataset=", "seed="} <= words
    assert not {w for w in words if w.startswith(("collect", "hpo"))}, sorted(words)


def test_completion_install_script_is_unchanged() -> None:
    out = _complete("", "train", "-sc", "install=bash")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "complete" in out.stdout and "COMP_LINE" in out.stdout  # Hydra's bash function


@pytest.mark.parametrize("app", ["train", "collect"])
def test_help_lists_only_user_facing_groups(app: str) -> None:
    out = _complete("", app, "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    groups = out.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    listed = {line.split(":")[0] for line in groups.splitlines() if ": " in line}
    assert listed and not {g for g in listed if g.startswith(("collect", "hpo", "hydra"))}
    assert "_schema" not in groups
    if app == "train":
        assert "optim: adam, adamw, sgd" in groups
    else:
        assert {"source", "noise", "preset"} <= listed
