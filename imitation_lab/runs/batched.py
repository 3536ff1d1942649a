"""A whole sweep in few processes: jobs that differ only in batchable keys train as one group.

``hydra/launcher=batched`` (``hydra_plugins/imitation_lab_launcher``) prepares each job as Hydra
would (its run dir, ``.hydra/``), then hands them here: jobs whose configs differ only in
``identity.BATCHABLE`` keys (seed, learning rate, weight decay, optimizer scalars, scheduler
parameters, bounding) are grouped, at most ``max_members`` per group, and each group trains as
one stacked model (``imitation_lab.runs.group.train_group``). Every job keeps its own run dir,
markers, metrics, checkpoints and logger run, so ``report``, re-runs and resume see ordinary
jobs. Groups run one after another in this process, or spread over ``n_jobs`` processes.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imitation_lab.config import build, identity
from imitation_lab.config.schemas import is_stackable
from imitation_lab.errors import EarlyStop, ImitationLabError
from imitation_lab.runs.claim import claim, record_refused_start
from imitation_lab.runs.group import LOG_FORMAT, MemberSpec, train_group
from imitation_lab.runs.objective import objective
from imitation_lab.runs.run_dir import inspect_run, owned

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What one sweep job returns to the launcher: its summary or its error."""

    summary: dict[str, float] | None = None
    error: BaseException | None = None
    skipped: bool = False
    stopped: EarlyStop | None = None  # stopped on purpose (a pruned trial)

    @property
    def objective(self) -> float | None:
        """What the train app returns to sweepers (``runs.objective``; None: not evaluated;
        a pruned trial: the value it was pruned at, as the train app returns it)."""
        if self.stopped is not None:
            return getattr(self.stopped, "value", None)
        return objective(self.summary or {}, required=False)


def plan_groups(
    specs: Sequence[MemberSpec], max_members: int | None, n_jobs: int = 1
) -> list[list[int]]:
    """Indices of ``specs`` grouped by ``identity.group_key``, in job order, at most
    ``max_members`` per group, and at least ``n_jobs`` groups where there are enough jobs."""
    return _plan([(spec, 0) for spec in specs], max_members, n_jobs)


def _run_group(specs: list[MemberSpec]) -> list[JobResult]:
    """Train one group (in this process); a group-wide error fails each of its jobs."""
    try:
        outcomes = train_group(specs)
    except EarlyStop as stop:  # a pruned Optuna trial: its run dir says so, not a failure
        log.info("Group of %d jobs stopped early: %s", len(specs), stop)
        return [JobResult(stopped=stop) for _ in specs]
    except Exception as err:
        log.error("Group of %d jobs failed: %s: %s", len(specs), type(err).__name__, err)
        for spec in specs:  # a group that failed before it started: each job on record
            record_refused_start(spec.run_dir, inspect_run(spec.run_dir), spec.hydra_files, err)
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
    locks = {index: contextlib.ExitStack() for index in range(len(specs))}
    try:
        keyed: list[tuple[int, int]] = []  # (job index, the step it starts from)
        for index, spec in enumerate(specs):
            outcome = _claim(spec, locks[index])
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

            # each worker holds its own jobs' locks (and dies with this process): released
            # here the moment before, so a dead launcher never leaves training without a lock
            for group in groups:
                for index in group:
                    locks[index].close()
            level = logging.getLogger().getEffectiveLevel()
            group_results = Parallel(n_jobs=n_jobs, backend="loky")(
                delayed(_run_group_in_worker)(members, os.getpid(), level)
                for members in group_specs
            )
        for group, outcome in zip(groups, group_results, strict=True):
            for index, result in zip(group, outcome, strict=True):
                results[index] = result
    finally:
        for stack in locks.values():
            stack.close()
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def _run_group_in_worker(specs: list[MemberSpec], launcher_pid: int, level: int) -> list[JobResult]:
    """``_run_group`` in a worker process: logs as the launcher does (console and each job's
    ``train.log``), holds its jobs' locks, and exits when the launcher is gone (kill -9): an
    orphan must not go on training into dirs a re-run will claim."""
    _log_like_the_launcher(level)
    threading.Thread(target=_exit_with, args=(launcher_pid,), daemon=True).start()
    with contextlib.ExitStack() as locks:
        try:
            for spec in specs:
                locks.enter_context(owned(spec.run_dir))
        except ImitationLabError as err:  # taken in the moment between launcher and worker
            return [JobResult(error=err) for _ in specs]
        return _run_group(specs)


def _exit_with(launcher_pid: int, poll_s: float = 0.5) -> None:
    """Exit this process as soon as its launcher process is gone (a watchdog thread)."""
    while True:
        try:
            os.kill(launcher_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        if os.getppid() == 1:  # re-parented: the launcher died (its pid may be reused)
            os._exit(1)
        time.sleep(poll_s)


def _log_like_the_launcher(level: int) -> None:
    """A fresh worker logs nothing below WARNING: give it the launcher's level and a console
    handler in its format (the group adds each job's ``train.log``)."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)


def _claim(spec: MemberSpec, locks: contextlib.ExitStack) -> JobResult | int:
    """Lock the job's dir and claim it (``runs.claim``): a ``JobResult`` (skipped, refused)
    or the step it trains from (0, or its checkpoint's when it resumes)."""
    state = None
    try:
        locks.enter_context(owned(spec.run_dir))
        state = inspect_run(spec.run_dir)
        job = claim(
            spec.cfg,
            spec.run_dir,
            spec.resolved,
            sweep=True,
            choices=spec.names.choices,
            stacked_by="hydra/launcher=batched",
        )
    except ImitationLabError as err:
        if state is not None:  # a new job that cannot start: recorded, listed by the report
            record_refused_start(spec.run_dir, state, spec.hydra_files, err)
        return JobResult(error=err)
    if job.skipped is not None:
        return JobResult(summary=job.skipped, skipped=True)
    return job.step


def _plan(
    jobs: Sequence[tuple[MemberSpec, int]], max_members: int | None, n_jobs: int = 1
) -> list[list[int]]:
    """Groups of job indices: same ``group_key`` and the same starting step; a job whose actor
    or head cannot stack (``actor=cnn``, ``head=diffusion``) is a group of its own."""
    by_key: dict[tuple[str, int], list[int]] = {}
    alone = 0
    for index, (spec, step) in enumerate(jobs):
        if is_stackable(spec.cfg):
            by_key.setdefault((identity.group_key(spec.resolved), step), []).append(index)
        else:
            by_key[(f"alone-{index}", step)] = [index]
            alone += 1
    if alone:
        log.info("%d job(s) train alone: their actor or head does not stack.", alone)
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
    return MemberSpec(cfg, Path(run_dir), identity.resolved_config(cfg), names, hydra_files)
