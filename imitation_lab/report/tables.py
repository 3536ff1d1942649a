"""The report's files: results.csv, curves.csv, runs.csv and results.md."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from imitation_lab.report.aggregate import GroupResult
from imitation_lab.report.paired import PairedDifference, paired_table
from imitation_lab.report.runs import Job
from imitation_lab.report.stats import REPS
from imitation_lab.report.trials import TrialRow, trials_table

STAT_COLUMNS = (
    "n",
    "n_failed",
    "n_unfinished",
    "n_pruned",
    "mean",
    "std",
    "median",
    "iqm",
    "iqm_ci_low",
    "iqm_ci_high",
    "mean_ci_low",
    "mean_ci_high",
)

IMPROVEMENT_COLUMNS = ("poi_vs_reference", "poi_ci_low", "poi_ci_high")


def write_csv(results: Sequence[GroupResult], path: Path) -> None:
    keys = [k for k, _ in results[0].key] if results else []
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", *keys, *STAT_COLUMNS, *IMPROVEMENT_COLUMNS])
        for res in results:
            row = {
                **res.stats,
                "n_failed": res.n_failed,
                "n_unfinished": res.n_unfinished,
                "n_pruned": res.n_pruned,
            }
            improvement = res.improvement or ("", "", "")
            writer.writerow(
                [
                    res.label,
                    *(v for _, v in res.key),
                    *(row.get(c, "") for c in STAT_COLUMNS),
                    *improvement,
                ]
            )


def write_curves_csv(results: Sequence[GroupResult], path: Path) -> None:
    """Learning curves: one row per group and eval step (mean and 95 % CI over seeds)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", "step", "n", "mean", "ci_low", "ci_high"])
        for res in results:
            c = res.curve
            for row in zip(c["step"], c["n"], c["mean"], c["low"], c["high"], strict=True):
                writer.writerow([res.label, *row])


def write_runs_csv(jobs: Sequence[Job], keys: Sequence[str], metric: str, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["job", *keys, "status", metric, "error"])
        for job in jobs:
            value = job.summary.get(metric, "") if job.status == "done" else ""
            writer.writerow(
                [
                    job.name,
                    *(job.overrides.get(k, "") for k in keys),
                    job.status,
                    value,
                    job.error or "",
                ]
            )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _ci(stats: dict, name: str) -> str:
    """``[low, high]``; one seed has no CI (never a zero-width one): ``[–]``."""
    if stats["n"] < 2:
        return "[–]"
    return f"[{_fmt(stats[f'{name}_ci_low'])}, {_fmt(stats[f'{name}_ci_high'])}]"


def _improvement(res: GroupResult) -> str:
    if res.improvement is None:
        return "–"
    poi, low, high = res.improvement
    return f"{poi:.2f} [{low:.2f}, {high:.2f}]"


def markdown_table(
    results: Sequence[GroupResult], metric: str, reference: str | None = None
) -> str:
    """One row per group; with ``reference`` (an arm), a P(group > reference) column."""
    poi = f" P(> {reference}) [95% CI] |" if reference else ""
    lines = [
        f"| group | n | {metric} mean ± std | median | IQM [95% CI] | mean [95% CI] |{poi}",
        "|---|---:|---:|---:|---:|---:|" + ("---:|" if reference else ""),
    ]
    for res in results:
        s = res.stats
        extra = f" {_improvement(res)} |" if reference else ""
        if s["n"] == 0:
            lines.append(f"| {res.label} | 0 | – | – | – | – |{extra}")
            continue
        lines.append(
            f"| {res.label} | {s['n']} | {_fmt(s['mean'])} ± {_fmt(s['std'])} "
            f"| {_fmt(s['median'])} "
            f"| {_fmt(s['iqm'])} {_ci(s, 'iqm')} "
            f"| {_fmt(s['mean'])} {_ci(s, 'mean')} |{extra}"
        )
    return "\n".join(lines)


def write_markdown(
    results: Sequence[GroupResult],
    jobs: Sequence[Job],
    keys: Sequence[str],
    sweep_dir: Path,
    metric: str,
    path: Path,
    trials: Sequence[TrialRow] | None = None,
    reference: str | None = None,
    paired: Sequence[PairedDifference] = (),
    arm_key: str = "bounding",
) -> None:
    statuses = ("done", "failed", "pruned", "unfinished")
    counts = {s: sum(j.status == s for j in jobs) for s in statuses}
    pruned = f"{counts['pruned']} pruned, " if counts["pruned"] else ""
    text = [
        f"# Sweep report: `{sweep_dir}`",
        "",
        f"{len(jobs)} jobs: {counts['done']} done, {counts['failed']} failed, {pruned}"
        f"{counts['unfinished']} unfinished. Metric: `{metric}` of each finished job "
        "(one value per seed).",
        f"IQM = mean of the middle 50 % of seeds; std uses ddof=1; CIs: 95 % stratified bootstrap "
        f"(percentile, {REPS} resamples, numpy implementation of rliable's method).",
        "",
        markdown_table(results, metric, reference),
        "",
    ]
    bad = [j for j in jobs if j.status in ("failed", "unfinished")]
    if bad:
        text += [
            "## Failed or unfinished jobs",
            "",
            "| job | status | swept values | error |",
            "|---|---|---|---|",
        ]
        for job in bad:
            overrides = " ".join(f"{k}={job.overrides.get(k, '<default>')}" for k in keys)
            error = (job.error or "").replace("|", "\\|").replace("\n", " ")
            text.append(f"| {job.name} | {job.status} | `{overrides}` | {error} |")
        text.append("")
    pruned_jobs = [j for j in jobs if j.status == "pruned"]
    if pruned_jobs:
        text += ["## Pruned jobs", "", "| job | why |", "|---|---|"]
        text += [f"| {job.name} | {job.error} |" for job in pruned_jobs]
        text.append("")
    if trials is not None:
        text += ["## Optuna trials", "", trials_table(trials), ""]
    if paired and reference is not None:
        text += [
            f"## Paired by seed: difference to {arm_key}={reference}",
            "",
            "Each job minus the job with the reference arm and the same other overrides "
            "(same seed: same initial weights and evaluation episodes).",
            "",
            paired_table(paired, reference, arm_key),
            "",
        ]
    text += ["![learning curves](learning_curves.png)", "", "![final scores](final_scores.png)", ""]
    if paired:
        text += ["![paired differences](paired_differences.png)", ""]
    path.write_text("\n".join(text))
