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

import contextlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imitation_lab import build
from imitation_lab.config import check_stackable, shipped_targets, validate
from imitation_lab.errors import ConfigError
from imitation_lab.group import MemberSpec, train_group
from imitation_lab.run_dir import (
    DONE,
    RunDirError,
    decide_resume,
    finished_summary,
    inspect_run,
    owned,
    write_failed,
    write_hydra_files,
)
from imitation_lab.utils import check_targets

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


def plan_groups(
    specs: Sequence[MemberSpec], max_members: int | None, n_jobs: int = 1
) -> list[list[int]]:
    """Indices of ``specs`` grouped by ``build.group_key``, in job order, at most
    ``max_members`` per group, and at least ``n_jobs`` groups where there are enough jobs."""
    return _plan([(spec, 0) for spec in specs], max_members, n_jobs)


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

    Each job dir is locked for the whole launch. Jobs whose ``DONE.json`` holds the same
    config are skipped; unfinished ones of the same config resume; jobs with a bad config fail
    alone (``FAILED.json``) before anything trains.
    """
    results: list[JobResult | None] = [None] * len(specs)
    with contextlib.ExitStack() as locks:
        keyed: list[tuple[int, int]] = []  # (job index, the step it starts from)
        for index, spec in enumerate(specs):
            outcome = _claim(spec, locks)
            if isinstance(outcome, JobResult):
                results[index] = outcome
            else:
                keyed.append((index, outcome))
        groups = _plan([(specs[i], step) for i, step in keyed], max_members, n_jobs)
        groups = [[keyed[i][0] for i in group] for group in groups]
        log.info(
            "Batched launcher: %d jobs to train in %d group(s) of %s members.",
            len(keyed),
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


def _claim(spec: MemberSpec, locks: contextlib.ExitStack) -> JobResult | int:
    """Lock the job's dir and decide: a ``JobResult`` (skipped, refused, bad config) or the
    step it trains from (0, or its checkpoint's when it resumes)."""
    try:
        locks.enter_context(owned(spec.run_dir))
        state = inspect_run(spec.run_dir)
        if state.kind == "finished":
            done = finished_summary(spec.run_dir, spec.resolved)
            if done is not None:
                log.info("%s has %s for this exact config: skipped.", spec.run_dir, DONE)
                return JobResult(summary=done, skipped=True)
        error = _checked(spec)
        if error is not None:
            if state.empty:  # a new job that cannot start: recorded, listed by the report
                if spec.hydra_files:
                    write_hydra_files(spec.run_dir, spec.hydra_files)
                write_failed(spec.run_dir, error)
            return JobResult(error=error)
        resume = decide_resume(
            state, spec.resolved, bool(spec.cfg.trainer.resume), spec.run_dir, sweep=True
        )
        if resume:  # what the run dir recorded is data: only the project's own options
            check_targets(spec.resolved, f"Run dir {spec.run_dir}", shipped_targets())
    except (RunDirError, ConfigError) as err:
        return JobResult(error=err)
    spec.cfg.trainer.resume = resume
    return (state.step or 0) if resume else 0


def _plan(
    jobs: Sequence[tuple[MemberSpec, int]], max_members: int | None, n_jobs: int = 1
) -> list[list[int]]:
    """Groups of job indices: same ``group_key`` and the same starting step."""
    by_key: dict[tuple[str, int], list[int]] = {}
    for index, (spec, step) in enumerate(jobs):
        by_key.setdefault((build.group_key(spec.resolved), step), []).append(index)
    return _fill_workers(_split(list(by_key.values()), max_members), n_jobs)


def _split(groups: list[list[int]], max_members: int | None) -> list[list[int]]:
    if not groups:
        return []
    cap = max_members or max(len(g) for g in groups)
    return [g[i : i + cap] for g in groups for i in range(0, len(g), cap)]


def _fill_workers(groups: list[list[int]], n_jobs: int) -> list[list[int]]:
    """Fewer groups than ``n_jobs`` workers would leave cores idle: split the largest group
    into equal parts (in job order) until every worker has one, or each part is one job."""
    groups = [list(g) for g in groups]
    while 0 < len(groups) < n_jobs:
        largest = max(range(len(groups)), key=lambda i: len(groups[i]))
        members = groups[largest]
        parts = min(n_jobs - len(groups) + 1, len(members))
        if parts < 2:
            break
        bounds = [i * len(members) // parts for i in range(parts + 1)]
        groups[largest : largest + 1] = [members[a:b] for a, b in itertools.pairwise(bounds)]
    return groups


def job_spec(
    cfg: Any, run_dir: Path, names: build.RunNames, hydra_files: dict[str, str]
) -> MemberSpec:
    """A sweep job as a group member (``hydra_files``: its ``.hydra/``, written at start)."""
    return MemberSpec(cfg, Path(run_dir), build.resolved_config(cfg), names, hydra_files)
