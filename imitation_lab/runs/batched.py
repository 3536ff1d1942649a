"""A whole sweep in few processes: jobs that differ only in batchable keys train as one group.

``hydra/launcher=batched`` (``hydra_plugins/imitation_lab_launcher``) prepares each job as Hydra
would (its run dir, ``.hydra/``), then hands them here: jobs whose configs differ only in
``identity.BATCHABLE`` keys (seed, learning rate, weight decay, optimizer scalars, scheduler
parameters, bounding) are grouped, at most ``max_members`` per group, and each group trains as
one stacked model (``imitation_lab.runs.group.train_group``). Every job keeps its own run dir,
markers, metrics, checkpoints and logger run, so ``report``, re-runs and resume see ordinary
jobs. Groups run one after another in this process, or spread over the worker processes of a
``runs.layout.Layout`` (``runs.workers``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from imitation_lab.config import build, identity
from imitation_lab.config.schemas import is_stackable
from imitation_lab.errors import EarlyStop, ImitationLabError
from imitation_lab.runs.claim import claim, record_refused_start
from imitation_lab.runs.group import MemberSpec, train_group
from imitation_lab.runs.layout import Layout
from imitation_lab.runs.objective import objective
from imitation_lab.runs.run_dir import inspect_run, owned
from imitation_lab.runs.workers import Workers, torch_thread_count
from imitation_lab.utils.timing import add_phases, phase_line

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What one sweep job returns to the launcher: its summary or its error."""

    summary: dict[str, float] | None = None
    error: BaseException | None = None
    skipped: bool = False
    stopped: EarlyStop | None = None  # stopped on purpose (a pruned trial)
    phases: dict[str, float] | None = None  # its group's seconds per phase (utils.timing)

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
    return [JobResult(summary=o.summary, error=o.error, phases=o.phases) for o in outcomes]


def train_jobs(
    specs: Sequence[MemberSpec],
    *,
    max_members: int | None = None,
    layout: Layout | None = None,
    workers: Workers | None = None,
) -> list[JobResult]:
    """Train the sweep jobs ``specs`` in batched groups; one ``JobResult`` per job, in order.

    Each job dir is locked for the whole launch. Jobs whose ``DONE.json`` holds the same
    config are skipped; unfinished ones of the same config resume; jobs with a bad config fail
    alone (``FAILED.json``) before anything trains. ``layout`` (default: this process, its
    threads) says how many processes train groups at once; ``workers``: already started.
    """
    layout = layout or Layout(1, torch_thread_count(), "in this process")
    own_workers = workers is None
    if workers is None:
        workers = Workers(layout, logging.getLogger().getEffectiveLevel())
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
        groups = _plan([(specs[i], step) for i, step in keyed], max_members, layout.n_jobs)
        groups = [[keyed[i][0] for i in group] for group in groups]
        log.info(
            "Batched launcher: %d jobs to train in %d group(s) of %s members; %s.",
            len(keyed),
            len(groups),
            "/".join(str(len(g)) for g in groups) or "0",
            layout.describe(),
        )
        group_specs = [[specs[i] for i in group] for group in groups]
        if layout.n_jobs > 1 and len(groups) > 1:
            # each worker holds its own jobs' locks (and dies with this process): released
            # here the moment before, so a dead launcher never leaves training without a lock
            for group in groups:
                for index in group:
                    locks[index].close()
            run, runner = _run_group_in_worker, workers
        else:  # one group (or one process): in this process, on every core of the layout
            run = _run_group
            runner = Workers(replace(layout, n_jobs=1, threads=layout.n_jobs * layout.threads),
                              logging.getLogger().getEffectiveLevel())  # fmt: skip
        costs = [float(len(members)) for members in group_specs]
        group_results = runner.map(run, group_specs, costs)
        for group, outcome in zip(groups, group_results, strict=True):
            for index, result in zip(group, outcome, strict=True):
                results[index] = result
        _log_time(group_results)
    finally:
        for stack in locks.values():
            stack.close()
        if own_workers:
            workers.shutdown()
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def _log_time(group_results: Sequence[list[JobResult]]) -> None:
    """One line: every group's seconds per phase, added up (process-seconds)."""
    totals: dict[str, float] = {}
    for outcome in group_results:
        phases = next((r.phases for r in outcome if r.phases), None)
        if phases:
            totals = add_phases(totals, phases)
    if totals:
        log.info("Time in %d group(s), process-seconds: %s", len(group_results),
                 phase_line(totals))  # fmt: skip


def _run_group_in_worker(specs: list[MemberSpec]) -> list[JobResult]:
    """``_run_group`` in a worker process, holding its jobs' locks while it trains."""
    with contextlib.ExitStack() as locks:
        try:
            for spec in specs:
                locks.enter_context(owned(spec.run_dir))
        except ImitationLabError as err:  # taken in the moment between launcher and worker
            return [JobResult(error=err) for _ in specs]
        return _run_group(specs)


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
