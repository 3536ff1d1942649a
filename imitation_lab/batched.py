"""A whole sweep in few processes: jobs that differ only in batchable keys train as one group.

``hydra/launcher=batched`` (``hydra_plugins/imitation_lab_launcher``) prepares each job as Hydra
would (its run dir, ``.hydra/``), then hands them here: jobs whose configs differ only in
``build.BATCHABLE`` keys (seed, learning rate, weight decay, optimizer scalars, scheduler
parameters, bounding) are grouped, at most ``max_members`` per group, and each group trains as
one stacked model (``imitation_lab.group.train_group``). Every job keeps its own run dir,
markers, metrics, checkpoints and logger run, so ``report``, re-runs and resume see ordinary
jobs. Groups run one after another in this process, or spread over ``n_jobs`` processes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imitation_lab import build
from imitation_lab.config import check_stackable, validate
from imitation_lab.errors import ConfigError
from imitation_lab.group import MemberSpec, train_group
from imitation_lab.run_dir import DONE, finished_summary, write_failed

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What one sweep job returns to the launcher: its summary or its error."""

    summary: dict[str, float] | None = None
    error: BaseException | None = None
    skipped: bool = False

    @property
    def objective(self) -> float:
        """What the train app returns to sweepers: the final normalized score (or return)."""
        summary = self.summary or {}
        return float(summary.get("final/normalized_score", summary.get("final/return_mean", 0.0)))


def plan_groups(specs: Sequence[MemberSpec], max_members: int | None) -> list[list[int]]:
    """Indices of ``specs`` grouped by ``build.group_key``, in job order, at most
    ``max_members`` per group."""
    by_key: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        by_key.setdefault(build.group_key(spec.resolved), []).append(index)
    if not by_key:
        return []
    cap = max_members or max(len(v) for v in by_key.values())
    groups = []
    for indices in by_key.values():
        groups += [indices[i : i + cap] for i in range(0, len(indices), cap)]
    return groups


def _checked(spec: MemberSpec) -> BaseException | None:
    """A job's own config error (checked before any group trains), or None."""
    try:
        validate(spec.cfg)
        if int(spec.cfg.trainer.num_seeds) != 1:
            raise ConfigError(
                "hydra/launcher=batched trains every sweep job as one member: sweep the seeds "
                "(e.g. seed=0,1,2) instead of trainer.num_seeds."
            )
        check_stackable(spec.cfg, "hydra/launcher=batched")
    except ConfigError as err:
        return err
    return None


def _run_group(specs: list[MemberSpec]) -> list[JobResult]:
    """Train one group (in this process); a group-wide error fails each of its jobs."""
    try:
        outcomes = train_group(specs)
    except Exception as err:
        log.error("Group of %d jobs failed: %s: %s", len(specs), type(err).__name__, err)
        return [JobResult(error=err) for _ in specs]
    return [JobResult(summary=o.summary, error=o.error) for o in outcomes]


def train_jobs(
    specs: Sequence[MemberSpec], *, max_members: int | None = None, n_jobs: int = 1
) -> list[JobResult]:
    """Train the sweep jobs ``specs`` in batched groups; one ``JobResult`` per job, in order.

    Jobs whose ``DONE.json`` holds the same config are skipped; jobs with a bad config fail
    alone (``FAILED.json``) before anything trains.
    """
    results: list[JobResult | None] = [None] * len(specs)
    todo: list[int] = []
    for index, spec in enumerate(specs):
        done = finished_summary(spec.run_dir, spec.resolved)
        if done is not None:
            log.info("%s has %s for this exact config: skipped.", spec.run_dir, DONE)
            results[index] = JobResult(summary=done, skipped=True)
        elif (error := _checked(spec)) is not None:
            write_failed(spec.run_dir, error)
            results[index] = JobResult(error=error)
        else:
            todo.append(index)
    planned = plan_groups([specs[i] for i in todo], max_members)
    groups = [[todo[i] for i in group] for group in planned]
    log.info(
        "Batched launcher: %d jobs to train in %d group(s) of %s members.",
        len(todo),
        len(groups),
        "/".join(str(len(g)) for g in groups) or "0",
    )
    group_specs = [[specs[i] for i in group] for group in groups]
    if n_jobs == 1 or len(groups) <= 1:
        group_results = [_run_group(members) for members in group_specs]
    else:
        from joblib import Parallel, delayed

        group_results = Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(_run_group)(members) for members in group_specs
        )
    for group, outcome in zip(groups, group_results, strict=True):
        for index, result in zip(group, outcome, strict=True):
            results[index] = result
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def job_spec(cfg: Any, run_dir: Path, names: build.RunNames) -> MemberSpec:
    """A sweep job as a group member (its ``.hydra/`` was written by the launcher)."""
    return MemberSpec(cfg, Path(run_dir), build.resolved_config(cfg), names)
