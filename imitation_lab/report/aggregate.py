"""Grouping a sweep's jobs (by swept keys except the seed) into per-group statistics and curves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from imitation_lab.errors import SweepError
from imitation_lab.report.runs import Job
from imitation_lab.report.stats import group_stats, stratified_bootstrap_ci

SEED_KEY = "seed"
CURVE_REPS = 2_000  # bootstrap resamples per learning-curve point


@dataclass
class GroupResult:
    """Statistics of one group's final scores."""

    key: tuple[tuple[str, str], ...]
    scores: np.ndarray
    strata: list[np.ndarray]
    n_failed: int
    n_unfinished: int
    stats: dict[str, float]
    curve: dict[str, np.ndarray]  # step, mean, low, high
    n_pruned: int = 0
    strata_ids: list[tuple] = field(default_factory=list)  # the stratum key of each ``strata``
    #: P(this group > the reference group) and its 95 % CI, see ``report.improvement``
    improvement: tuple[float, float, float] | None = None

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key) or "all"


def _curve(jobs: Sequence[Job], curve_key: str, strata_of: Callable[[Job], tuple]) -> dict:
    """Mean and stratified-bootstrap CI of the curve over the group's jobs at each step."""
    by_step: dict[int, dict[tuple, list[float]]] = {}
    for job in jobs:
        for step, value in job.curves.get(curve_key, []):
            by_step.setdefault(step, {}).setdefault(strata_of(job), []).append(value)
    steps, counts, mean, low, high = [], [], [], [], []
    for step in sorted(by_step):
        strata = [np.asarray(v) for v in by_step[step].values()]
        ci = stratified_bootstrap_ci(strata, np.mean, reps=CURVE_REPS)
        steps.append(step)
        counts.append(sum(len(v) for v in strata))
        mean.append(float(np.concatenate(strata).mean()))
        low.append(ci[0])
        high.append(ci[1])
    return {
        "step": np.asarray(steps),
        "n": np.asarray(counts),
        "mean": np.asarray(mean),
        "low": np.asarray(low),
        "high": np.asarray(high),
    }


def curve_key_of(metric: str) -> str:
    """The ``eval/*`` learning-curve key behind a summary metric."""
    if metric == "best/normalized_score":
        return "eval/best_normalized_score"
    return "eval/" + metric.split("/", 1)[-1]


def aggregate(
    jobs: Sequence[Job], keys: Sequence[str], metric: str, by: Sequence[str] | None = None
) -> list[GroupResult]:
    """Group jobs by ``by`` (default: the swept keys except seed) and compute statistics."""
    group_keys = list(by) if by else [k for k in keys if k != SEED_KEY]
    strata_keys = [k for k in keys if k != SEED_KEY and k not in group_keys]
    done = [job for job in jobs if job.status == "done"]
    if done and not any(metric in job.summary for job in done):
        available = sorted({k for job in done for k in job.summary})
        raise SweepError(
            f"No finished job has the metric {metric!r}; pass --metric with one of {available}."
        )
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        key = tuple((k, job.overrides.get(k, "<default>")) for k in group_keys)
        groups.setdefault(key, []).append(job)
    if group_keys:  # the groups of one value of the first key together (a sweep of chunks)
        first_seen = {value: i for i, value in reversed(list(enumerate(k[0][1] for k in groups)))}
        groups = dict(sorted(groups.items(), key=lambda item: first_seen[item[0][0][1]]))

    def stratum(job: Job) -> tuple:
        return tuple(job.overrides.get(k, "<default>") for k in strata_keys)

    results = []
    for key, members in groups.items():
        scored = [j for j in members if j.status == "done" and metric in j.summary]
        by_stratum: dict[tuple, list[float]] = {}
        for job in scored:
            by_stratum.setdefault(stratum(job), []).append(float(job.summary[metric]))
        strata = [np.asarray(v) for v in by_stratum.values()]
        scores = np.concatenate(strata) if strata else np.zeros(0)
        results.append(
            GroupResult(
                key=key,
                scores=scores,
                strata=strata,
                n_failed=sum(j.status == "failed" for j in members),
                n_unfinished=sum(j.status == "unfinished" for j in members),
                n_pruned=sum(j.status == "pruned" for j in members),
                stats=group_stats(strata) if strata else {"n": 0},
                curve=_curve(scored, curve_key_of(metric), stratum),
                strata_ids=list(by_stratum),
            )
        )
    return results
