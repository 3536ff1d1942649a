"""The one job-claiming path, for a single run and for every job of the batched launcher.

With the job's run dir locked (``run_dir.owned``), ``claim`` decides what the job does, and
writes nothing: skip it (a re-run sweep finds its ``DONE.json`` for this exact config), refuse
it (an internal schema chosen, a value out of range, a dir holding another run, a recorded
config naming foreign code), resume it (``trainer.resume=true``, a Slurm requeue, or a re-run
sweep finding its unfinished run), or start it. ``record_refused_start`` puts a refusal on
record in a dir that held no run, so ``report`` lists the job as failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from imitation_lab.config.instantiate import check_targets
from imitation_lab.config.schemas import check_choices, shipped_targets, validate
from imitation_lab.errors import ConfigError
from imitation_lab.runs.cluster import is_requeued
from imitation_lab.runs.run_dir import (
    DONE,
    RunState,
    decide_resume,
    finished_summary,
    inspect_run,
    write_failed,
    write_hydra_files,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """What a claimed job does: ``skipped`` holds a finished job's summary; otherwise it
    trains from ``step`` (0, or its checkpoint's when it resumes)."""

    state: RunState
    resume: bool = False
    step: int = 0
    skipped: dict[str, float] | None = None


def claim(
    cfg: DictConfig,
    run_dir: Path,
    resolved: dict[str, Any],
    *,
    sweep: bool,
    choices: dict[str, str] | None = None,
    stacked_by: str | None = None,
    command: str = "python -m imitation_lab.train",
) -> Claim:
    """Decide what the job in ``run_dir`` (locked by the caller) does; raises the one
    ``ImitationLabError`` that refuses it. Sets ``cfg.trainer.resume`` to the decision.

    ``stacked_by`` names what trains the job as a member of a group (the batched launcher):
    ``trainer.num_seeds`` must be 1 (a job that cannot stack trains alone, a group of one).
    """
    state = inspect_run(run_dir)
    if is_requeued():  # Slurm reran this job (preempted/timed out): continue its dir
        cfg.trainer.resume = True
    if sweep and state.kind == "finished":
        done = finished_summary(run_dir, resolved)
        if done is not None:
            log.info("%s has %s for this exact config: skipped.", run_dir, DONE)
            return Claim(state=state, skipped=done)
    check_choices(choices or {})
    validate(cfg)
    if stacked_by is not None and int(cfg.trainer.num_seeds) != 1:
        raise ConfigError(
            f"{stacked_by} trains every sweep job as one member: sweep the seeds (e.g. "
            "seed=0,1,2) instead of trainer.num_seeds."
        )
    resume = decide_resume(
        state, resolved, bool(cfg.trainer.resume), run_dir, sweep=sweep, command=command
    )
    if resume:  # what the run dir recorded is data: only the project's own options
        check_targets(resolved, f"Run dir {run_dir}", shipped_targets())
        if state.step is not None and state.step > int(cfg.trainer.steps):
            raise ConfigError(
                f"trainer.steps={cfg.trainer.steps} is below the step of {run_dir}'s checkpoint "
                f"({state.step}): resuming cannot train backwards. Resume with trainer.steps >= "
                f"{state.step}, or start a new run in a new dir."
            )
    cfg.trainer.resume = resume
    return Claim(state=state, resume=resume, step=(state.step or 0) if resume else 0)


def record_refused_start(
    run_dir: Path, state: RunState, hydra_files: dict[str, str] | None, error: BaseException
) -> None:
    """A job that could not start leaves ``.hydra/`` and ``FAILED.json``, but only in a dir
    that held no run (a dir holding a run is never touched by a refusal)."""
    if not state.empty:
        return
    if hydra_files:
        write_hydra_files(run_dir, hydra_files)
    write_failed(run_dir, error)
