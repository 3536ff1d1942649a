"""The Ctrl-C hint is a command that runs as printed: the run's own overrides, shell-quoted."""

from __future__ import annotations

import shlex

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
