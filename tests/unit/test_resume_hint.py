"""The Ctrl-C hint is a command that runs as printed: the run's own overrides, shell-quoted."""

from __future__ import annotations

import shlex

import pytest

from imitation_lab.runs.jobs import resume_command


def test_resume_command_keeps_overrides_quoted_and_replaces_resume_and_run_dir():
    overrides = [
        "trainer.steps=300",
        "logger=none",
        "actor.hidden_sizes=[64,64]",
        "trainer.resume=false",
        "hydra.run.dir=old dir",
        "+tags=[a b]",
    ]
    command = resume_command(overrides, "outputs/train/my run")
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "imitation_lab.train"]
    assert argv[3:] == [
        "trainer.steps=300",
        "logger=none",
        "actor.hidden_sizes=[64,64]",
        "+tags=[a b]",
        "trainer.resume=true",
        "hydra.run.dir=outputs/train/my run",
    ]


@pytest.mark.parametrize(
    "run_dir", ["outputs/my run", "runs/run (1)", "a,b", "it's", "x=y", "x[1]"]
)
def test_the_run_dir_is_hydra_quoted_where_hydra_would_misread_it(run_dir: str) -> None:
    """Pasting the printed command works for any folder name: the shell gives Hydra the
    override, and Hydra reads back exactly the folder (before: a parse error or a sweep)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    last = shlex.split(resume_command(["logger=none"], run_dir))[-1]
    assert OverridesParser.create().parse_override(last).value() == run_dir
