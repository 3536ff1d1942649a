"""One row per arm over every task of a sweep (rliable's protocol, Agarwal et al., 2021).

A *task* is one combination of the swept keys other than the seed and the arm key (e.g. a
dataset); each arm's scores are its runs on every task. Per arm: the aggregate IQM and mean
over tasks with stratified-bootstrap CIs, the probability of improvement over the reference
arm (mean over tasks of P(arm > reference)) with its CI, and the run-score performance
profile (fraction of runs above tau). Only tasks every arm has are used, so all arms are
compared on the same tasks. Written as ``aggregate.md``, ``aggregate.csv``, ``profiles.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imitation_lab.report.aggregate import SEED_KEY, aggregate
from imitation_lab.report.profiles import (
    aggregate_stats,
    performance_profile,
    probability_of_improvement,
    probability_of_improvement_ci,
)
from imitation_lab.report.runs import Job

PROFILE_POINTS = 101  # taus from the lowest to the highest score of the sweep


@dataclass
class ArmAcrossTasks:
    """An arm's statistics over the sweep's shared tasks."""

    arm: str
    stats: dict[str, float]  # ``profiles.aggregate_stats``
    profile: dict[str, np.ndarray]  # tau, fraction, low, high
    #: P(arm > reference) over the tasks and its 95 % CI (None for the reference itself)
    improvement: tuple[float, float, float] | None = None


@dataclass
class AcrossTasks:
    """Every arm over the tasks they all have (``tasks`` names them, ``task_keys`` says how)."""

    arm_key: str
    task_keys: list[str]
    tasks: list[tuple]
    arms: list[ArmAcrossTasks]
    reference: str | None
    dropped_tasks: list[tuple]  # tasks some arm lacks (not in the statistics)


def across_tasks(
    jobs: Sequence[Job],
    keys: Sequence[str],
    metric: str,
    arm_key: str,
    reference: str | None,
) -> AcrossTasks | None:
    """The cross-task statistics, or None when the sweep has no arms or fewer than 2 tasks."""
    task_keys = [k for k in keys if k not in (SEED_KEY, arm_key)]
    if arm_key not in keys or not task_keys:
        return None
    per_arm = {dict(r.key)[arm_key]: r for r in aggregate(jobs, keys, metric, by=[arm_key])}
    per_arm = {arm: r for arm, r in per_arm.items() if r.strata}
    if not per_arm:
        return None
    seen = [set(r.strata_ids) for r in per_arm.values()]
    every = sorted(set.union(*seen))
    shared = [t for t in every if all(t in s for s in seen)]
    if len(shared) < 2:
        return None

    def strata(arm: str) -> list[np.ndarray]:
        res = per_arm[arm]
        own = dict(zip(res.strata_ids, res.strata, strict=True))
        return [own[t] for t in shared]

    everything = np.concatenate([np.concatenate(strata(a)) for a in per_arm])
    taus = np.linspace(float(everything.min()), float(everything.max()), PROFILE_POINTS)
    ref = reference if reference in per_arm else None
    arms = []
    for arm in per_arm:
        own = strata(arm)
        improvement = None
        if ref is not None and arm != ref:
            other = strata(ref)
            low, high = probability_of_improvement_ci(own, other)
            improvement = (probability_of_improvement(own, other), low, high)
        arms.append(
            ArmAcrossTasks(arm, aggregate_stats(own), performance_profile(own, taus), improvement)
        )
    dropped = [t for t in every if t not in shared]
    return AcrossTasks(arm_key, task_keys, shared, arms, ref, dropped)


def _task_label(task_keys: Sequence[str], task: tuple) -> str:
    return " ".join(f"{k}={v}" for k, v in zip(task_keys, task, strict=True))


def write_aggregate(result: AcrossTasks, metric: str, out_dir: Path) -> list[Path]:
    """``aggregate.md`` (the table and what it means), ``aggregate.csv``, ``profiles.csv``."""
    ref = result.reference
    head = "| arm | tasks | runs | IQM [95% CI] | mean [95% CI] |"
    rule = "|---|---:|---:|---:|---:|"
    if ref is not None:
        head += f" P(arm > {ref}) [95% CI] |"
        rule += "---:|"
    lines = [head, rule]
    for arm in result.arms:
        s = arm.stats
        row = (
            f"| {result.arm_key}={arm.arm} | {s['n_tasks']} | {s['n_runs']} "
            f"| {s['iqm']:.1f} [{s['iqm_ci_low']:.1f}, {s['iqm_ci_high']:.1f}] "
            f"| {s['mean']:.1f} [{s['mean_ci_low']:.1f}, {s['mean_ci_high']:.1f}] |"
        )
        if ref is not None:
            poi = arm.improvement
            row += " – |" if poi is None else f" {poi[0]:.2f} [{poi[1]:.2f}, {poi[2]:.2f}] |"
        lines.append(row)
    tasks = ", ".join(_task_label(result.task_keys, t) for t in result.tasks)
    text = [
        f"# {metric} across tasks",
        "",
        f"Tasks ({len(result.tasks)}): {tasks}.",
        "",
        *lines,
        "",
        "IQM: interquartile mean of all runs of all tasks; mean: mean over tasks of each task's "
        "mean. CIs: 95 % stratified bootstrap (runs resampled within each task, 10,000 "
        "resamples). P(arm > reference): mean over tasks of the probability that a run of the "
        "arm beats a run of the reference (ties count 1/2), both resampled for its CI; 0.5 = no "
        "difference. Performance profiles (fraction of runs with score > tau, with CIs): "
        "`profiles.csv`, `performance_profiles.png`. rliable's protocol (Agarwal et al., 2021).",
    ]
    if result.dropped_tasks:
        skipped = ", ".join(_task_label(result.task_keys, t) for t in result.dropped_tasks)
        text += ["", f"Not every arm has these tasks, so they are left out: {skipped}."]
    paths = [out_dir / "aggregate.md", out_dir / "aggregate.csv", out_dir / "profiles.csv"]
    paths[0].write_text("\n".join(text) + "\n")
    with open(paths[1], "w", newline="") as handle:
        writer = csv.writer(handle)
        fields = ["n_tasks", "n_runs", "iqm", "iqm_ci_low", "iqm_ci_high"]
        fields += ["mean", "mean_ci_low", "mean_ci_high"]
        writer.writerow([result.arm_key, *fields, "poi", "poi_ci_low", "poi_ci_high"])
        for arm in result.arms:
            poi = arm.improvement or ("", "", "")
            writer.writerow([arm.arm, *(arm.stats[f] for f in fields), *poi])
    with open(paths[2], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([result.arm_key, "tau", "fraction", "low", "high"])
        for arm in result.arms:
            p = arm.profile
            for row in zip(p["tau"], p["fraction"], p["low"], p["high"], strict=True):
                writer.writerow([arm.arm, *(f"{v:.6g}" for v in row)])
    return paths


__all__ = ["AcrossTasks", "ArmAcrossTasks", "across_tasks", "write_aggregate"]
