"""``trainer.resume=true hydra.run.dir=<run>`` puts the run's saved overrides first."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imitation_lab.runs.resume_args import override_key, with_saved_overrides

SAVED = ["trainer.steps=300", "logger=none", "+tags=[a,b]", "trainer.resume=false"]


def _run_dir(tmp_path: Path, saved: object = SAVED) -> Path:
    (tmp_path / ".hydra").mkdir(parents=True)
    (tmp_path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(saved))
    return tmp_path


def test_saved_overrides_come_first_and_typed_ones_win(tmp_path, capsys):
    run = _run_dir(tmp_path)
    args = ["trainer.steps=600", "trainer.resume=true", f"hydra.run.dir={run}"]
    assert with_saved_overrides(args) == ["logger=none", "+tags=[a,b]", *args]
    note = capsys.readouterr().out
    assert "saved overrides: logger=none +tags=[a,b]" in note
    assert "changed: trainer.steps=600 (was trainer.steps=300)" in note


@pytest.mark.parametrize(
    "extra",
    [
        ["trainer.resume=false"],  # not a resume
        ["trainer.resume=true", "-m"],  # a sweep resumes its jobs itself
        ["trainer.resume=true", "--help"],
    ],
)
def test_other_commands_are_left_as_typed(tmp_path, extra, capsys):
    args = [*extra, f"hydra.run.dir={_run_dir(tmp_path)}"]
    assert with_saved_overrides(args) == args
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("saved", [None, "not a list", 3])
def test_a_run_dir_without_usable_overrides_is_left_as_typed(tmp_path, saved):
    args = ["trainer.resume=true", f"hydra.run.dir={tmp_path}"]
    assert with_saved_overrides(args) == args  # no .hydra at all
    _run_dir(tmp_path, saved)
    assert with_saved_overrides(args) == args


def test_override_key():
    assert [override_key(o) for o in ("+tags=[a]", "~logger", "optim.lr=1e-3", "++x.y=1")] == [
        "tags",
        "logger",
        "optim.lr",
        "x.y",
    ]
