"""Every command in the bash blocks of the READMEs and the docs pages, run as a user types it
(``plans.py`` says how).

The commands run in reading order (``extract.DOCUMENTS``), in one fresh copy of the repo (what
a user's clone holds), with the suite's temp Minari store and offline W&B, and nothing appended
but the budget of ``plans.py``: never ``hydra.run.dir`` / ``hydra.sweep.dir``, so the defaults
are what is tested.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from tests.conftest import REPO_ROOT, subprocess_env
from tests.readme.extract import documented_commands, python_snippets
from tests.readme.plans import EXPERTS, PLANS, SLURM, Compose, Run, Skip

EXPERTS_DIR = REPO_ROOT.parent / "shared" / "experts"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "outputs", "multirun", "wandb", "site", "__pycache__", "*.egg-info", ".*_cache"
)
#: distinct commands in reading order (a command in two documents runs once, where first seen)
COMMANDS = list(dict.fromkeys(command for _, command in documented_commands()))


def test_every_documented_command_has_a_plan() -> None:
    missing = [command for command in COMMANDS if command not in PLANS]
    stale = [command for command in PLANS if command not in COMMANDS]
    assert not missing, (
        f"documented commands without a test plan in tests/readme/plans.py: {missing}"
    )
    assert not stale, f"plans for commands no README or docs page has any more: {stale}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the repository, as a user's clone: the commands' working dir."""
    root = tmp_path_factory.mktemp("clone") / "imitation_lab"
    shutil.copytree(REPO_ROOT, root, ignore=COPY_IGNORE, symlinks=True)
    return root


def _env(minari_store: Path, workspace: Path | None = None) -> dict[str, str]:
    """The user's shell: the venv's bin first on PATH; the suite's temp store, offline W&B.

    ``PYTHONPATH`` is the workspace, so the console script runs the copy's code and configs
    (what the user's clone holds), as ``python -m`` from its root does.
    """
    env = subprocess_env(minari_store, PIP_NO_INPUT="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    if workspace is not None:
        env["PYTHONPATH"] = str(workspace)
    if EXPERTS_DIR.is_dir():  # the clone is a temp copy: point it at the experts beside us
        env["IMITATION_LAB_EXPERTS_DIR"] = str(EXPERTS_DIR)
    return env


def _fill_from_workspace(command: str, fill: dict[str, str], root: Path) -> str:
    """Replace each placeholder by what the ``*`` of its glob matched in the newest match."""
    for placeholder, pattern in fill.items():
        matches = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)
        assert matches, f"nothing matches {pattern} for {placeholder} in {command!r}"
        star = Path(pattern).parts.index("*")
        value = matches[-1].relative_to(root).parts[star]
        command = command.replace(placeholder, value)
    return command


def _snapshot(root: Path, patterns: list[str]) -> dict[str, set[Path]]:
    return {pattern: set(root.glob(pattern)) for pattern in patterns}


def _compose_argv(command: str) -> list[str]:
    """The app and overrides of a Hydra command, sweeps at their first value."""
    words = shlex.split(command)
    if words[:2] == ["python", "-m"]:
        app, args = words[2], words[3:]
    else:
        assert words[0] == "imitation-lab", f"not a Hydra command: {command}"
        app, args = f"imitation_lab.{words[1]}", words[2:]
    overrides = [a for a in args if a not in ("-m", "--multirun")]
    parsed = OverridesParser.create().parse_overrides(overrides)
    single = [
        f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}"
        if o.is_sweep_override()
        else o.input_line
        for o in parsed
    ]
    return [sys.executable, "-m", app, *single]


def _run(argv: list[str] | str, cwd: Path, env: dict[str, str], timeout: float):
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        shell=isinstance(argv, str),
        executable="/bin/bash" if isinstance(argv, str) else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command(
    command: str, workspace: Path, minari_store: Path, request: pytest.FixtureRequest
) -> None:
    plan = PLANS.get(command)
    if plan is None:
        pytest.fail(f"no plan for {command!r} (add one to tests/readme/plans.py)")
    if isinstance(plan, Skip):
        pytest.skip(plan.reason)
    env = _env(minari_store, workspace)
    if isinstance(plan, Compose):
        filled = command
        for placeholder, value in plan.fill.items():
            filled = filled.replace(placeholder, value)
        if plan.app is not None:  # a script: it must parse, and its preset must compose
            script = workspace / shlex.split(command)[0]
            assert _run(["bash", "-n", str(script)], workspace, env, 30).returncode == 0
            argv = [sys.executable, "-m", f"imitation_lab.{plan.app}", *plan.overrides]
        else:
            argv = _compose_argv(filled)
        for cfg in (["--cfg", "job", "--resolve"], ["--cfg", "hydra"]):  # the job, the launcher
            result = _run([*argv, *cfg], workspace, env, 120)
            assert result.returncode == 0, f"{command} does not compose:\n{result.stderr[-3000:]}"
        pytest.skip(f"composed only: {plan.reason}")
    assert isinstance(plan, Run)
    if plan.needs == EXPERTS and not EXPERTS_DIR.is_dir():
        pytest.skip(f"needs {EXPERTS_DIR}")
    if plan.needs == SLURM:  # the session's real cluster (skips with the reason without one)
        env.update(request.getfixturevalue("slurm_cluster").env())
    filled = _fill_from_workspace(command, plan.fill, workspace)
    for placeholder, value in plan.values.items():
        filled = filled.replace(placeholder, value)
    assert not re.search(r"<\w+>", filled), f"unfilled placeholder in {filled!r}"
    shell_line = " ".join([filled, *(shlex.quote(arg) for arg in plan.budget)])
    before = _snapshot(workspace, list(plan.creates))
    stamps = {name: (workspace / name).stat().st_mtime_ns for name in plan.rewrites}
    started = time.monotonic()
    result = _run(shell_line, workspace, env, plan.timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"`{shell_line}` exited {result.returncode} after {time.monotonic() - started:.0f} s:\n"
        f"{output[-4000:]}"
    )
    assert "Traceback" not in output, output[-4000:]
    for pattern, count in plan.creates.items():
        new = set(workspace.glob(pattern)) - before[pattern]
        assert len(new) == count, f"{shell_line} made {len(new)} x {pattern}, expected {count}"
    for name, stamp in stamps.items():
        assert (workspace / name).stat().st_mtime_ns != stamp, f"{name} was not rewritten"
    for text in plan.prints:
        assert text in output, f"{shell_line} did not print {text!r}:\n{output[-3000:]}"


@pytest.mark.parametrize(("document", "code"), python_snippets())
def test_python_snippet(document: str, code: str, tmp_path: Path, minari_store: Path) -> None:
    """The Python snippets of the READMEs and docs pages run as written, in a fresh interpreter."""
    script = tmp_path / "snippet.py"
    script.write_text(code)
    result = _run([sys.executable, str(script)], tmp_path, _env(minari_store), 300)
    assert result.returncode == 0, f"{document} snippet failed:\n{result.stderr[-3000:]}"
