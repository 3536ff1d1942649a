"""Each arm's difference to the reference arm, paired by seed (and every other setting).

A job with ``bounding=tanh seed=3`` is paired with the job that has ``bounding=clip`` and the
same other overrides: both were evaluated on the same seeded episodes and started from the
same initial weights, so the per-pair difference removes most seed-to-seed noise. The CI is a
percentile bootstrap of the mean difference over the pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imitation_lab.report.runs import Job
from imitation_lab.report.stats import stratified_bootstrap_ci


@dataclass(frozen=True)
class PairedDifference:
    """Mean of (arm - reference) over the pairs of one group, its 95 % CI and the counts."""

    label: str
    mean: float
    low: float
    high: float
    n: int
    better: int
    worse: int


def _rest(job: Job, arm_key: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in job.overrides.items() if k != arm_key))


def paired_differences(
    jobs: Sequence[Job],
    group_keys: Sequence[str],
    arm_key: str,
    reference: str,
    metric: str,
) -> list[PairedDifference]:
    """One entry per group (``group_keys`` values) that is not the reference arm and has at
    least one finished job whose reference counterpart finished too."""
    done = [j for j in jobs if j.status == "done" and metric in j.summary]
    reference_of = {
        _rest(j, arm_key): float(j.summary[metric])
        for j in done
        if j.overrides.get(arm_key) == reference
    }
    by_group: dict[tuple, list[float]] = {}
    for job in done:
        if job.overrides.get(arm_key, "<default>") == reference:
            continue
        partner = reference_of.get(_rest(job, arm_key))
        if partner is None:
            continue
        key = tuple((k, job.overrides.get(k, "<default>")) for k in group_keys)
        by_group.setdefault(key, []).append(float(job.summary[metric]) - partner)
    out = []
    for key, diffs in by_group.items():
        values = np.asarray(diffs)
        low, high = (
            stratified_bootstrap_ci([values], np.mean) if len(values) > 1 else (np.nan, np.nan)
        )
        out.append(
            PairedDifference(
                label=" ".join(f"{k}={v}" for k, v in key) or "all",
                mean=float(values.mean()),
                low=float(low),
                high=float(high),
                n=len(values),
                better=int((values > 0).sum()),
                worse=int((values < 0).sum()),
            )
        )
    return out


def paired_table(diffs: Sequence[PairedDifference], reference: str, arm_key: str) -> str:
    """Markdown rows: the mean paired difference, its CI and how many pairs went which way."""
    lines = [
        f"| group | pairs | mean difference to {arm_key}={reference} [95% CI] | better | worse |",
        "|---|---:|---:|---:|---:|",
    ]
    for d in diffs:
        ci = "–" if np.isnan(d.low) else f"{d.low:+.1f}, {d.high:+.1f}"
        lines.append(f"| {d.label} | {d.n} | {d.mean:+.1f} [{ci}] | {d.better} | {d.worse} |")
    return "\n".join(lines)
