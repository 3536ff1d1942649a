"""``python -m imitation_lab.report <multirun dir>``: aggregate a sweep into tables and plots.

Reads every job's ``.hydra/overrides.yaml``, completion markers and ``metrics.jsonl``, groups
jobs by the swept keys except ``seed`` (or by ``--by`` keys), and writes ``results.csv``,
``runs.csv``, ``curves.csv``, ``results.md``, ``learning_curves.png`` and ``final_scores.png``;
with arms (``--arm-key``, default ``bounding``) over 2 or more tasks (the other swept keys, e.g.
datasets) also ``aggregate.md``/``aggregate.csv`` (aggregate IQM/mean and probability of
improvement over tasks), ``profiles.csv``, ``performance_profiles.png`` and
``learning_curves_by_task.png`` (one panel per task)
(``report.across_tasks``).

Per group: n seeds, mean, std (ddof=1), median, IQM (mean of the middle 50 %) and 95 %
stratified-bootstrap percentile CIs of the mean and the IQM (``imitation_lab.report.stats``). Strata
are the other swept keys inside a group (e.g. datasets when grouping ``--by bounding``); with
one stratum it is the plain percentile bootstrap over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from imitation_lab.errors import ImitationLabError, SweepError
from imitation_lab.report.across_tasks import across_tasks, write_aggregate
from imitation_lab.report.aggregate import GroupResult, aggregate
from imitation_lab.report.improvement import (
    DEFAULT_ARM_KEY,
    attach_improvement,
    default_reference,
)
from imitation_lab.report.paired import PairedDifference, paired_differences
from imitation_lab.report.plots import plot, plot_curves_by_task, plot_profiles
from imitation_lab.report.runs import Job, load_jobs, swept_keys
from imitation_lab.report.tables import (
    markdown_table,
    write_csv,
    write_curves_csv,
    write_markdown,
    write_runs_csv,
)
from imitation_lab.report.trials import load_trials, trials_table, write_trials_csv


def report(
    sweep_dir: Path,
    out_dir: Path | None = None,
    metric: str = "final/normalized_score",
    by: Sequence[str] | None = None,
    reference: str | None = None,
    arm_key: str = DEFAULT_ARM_KEY,
) -> list[GroupResult]:
    """Read ``sweep_dir``, write the CSVs, markdown and plots to ``out_dir`` (default
    ``<sweep_dir>/report``); returns the per-group results. ``reference`` (default ``clip``
    where the ``arm_key`` arms include it) adds P(arm > reference) to results.md/csv."""
    sweep_dir = Path(sweep_dir)
    jobs = load_jobs(sweep_dir)
    keys = swept_keys(sweep_dir, jobs)
    unknown = [k for k in by or () if k not in keys and not any(k in j.overrides for j in jobs)]
    if unknown:
        raise SweepError(
            f"--by {' '.join(unknown)}: no job of {sweep_dir} sets {', '.join(unknown)}; group "
            f"by its swept keys ({', '.join(keys) or 'none'}) or keys its jobs override."
        )
    results = aggregate(jobs, keys, metric, by)
    reference = reference or default_reference(results, arm_key)
    if reference is not None:
        attach_improvement(results, arm_key, reference)
    out_dir = Path(out_dir) if out_dir is not None else sweep_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".report-") as staging:
        _write(jobs, keys, results, sweep_dir, Path(staging), metric, reference, arm_key)
        _replace_report_files(Path(staging), out_dir)
    return results


#: every file ``report`` writes into its output folder (and the only ones it replaces there)
REPORT_FILES = (
    "results.csv", "runs.csv", "curves.csv", "trials.csv", "results.md", "aggregate.csv",
    "aggregate.md", "profiles.csv", "learning_curves.png", "final_scores.png",
    "paired_differences.png", "performance_profiles.png", "learning_curves_by_task.png",
)  # fmt: skip


def _replace_report_files(staging: Path, out_dir: Path) -> None:
    """Move the new report in, file by file (a rename each), then delete what an earlier report
    wrote that this one did not (other options); files that are not the report's stay."""
    written = {p.name for p in staging.iterdir()}
    unexpected = sorted(written - set(REPORT_FILES))
    assert not unexpected, f"report wrote files it does not list in REPORT_FILES: {unexpected}"
    for name in sorted(written):
        os.replace(staging / name, out_dir / name)
    for name in REPORT_FILES:  # last: an earlier report's file this one did not write
        if name not in written:
            (out_dir / name).unlink(missing_ok=True)


def _write(
    jobs: Sequence[Job],
    keys: Sequence[str],
    results: list[GroupResult],
    sweep_dir: Path,
    out_dir: Path,
    metric: str,
    reference: str | None,
    arm_key: str,
) -> None:
    """Every table and figure of the report, into ``out_dir``."""
    write_csv(results, out_dir / "results.csv")
    write_runs_csv(jobs, keys, metric, out_dir / "runs.csv")
    write_curves_csv(results, out_dir / "curves.csv")
    trials = load_trials(sweep_dir)
    if trials is not None:
        write_trials_csv(trials, out_dir / "trials.csv")
    paired: list[PairedDifference] = []
    if reference is not None and results:
        group_keys = [k for k, _ in results[0].key]
        paired = paired_differences(jobs, group_keys, arm_key, reference, metric)
    write_markdown(
        results, jobs, keys, sweep_dir, metric, out_dir / "results.md", trials, reference,
        paired=paired, arm_key=arm_key,
    )  # fmt: skip
    plot(results, metric, out_dir, data_context(jobs), paired, reference, arm_key)
    across = across_tasks(jobs, keys, metric, arm_key, reference)
    if across is not None:
        write_aggregate(across, metric, out_dir)
        plot_profiles(across, metric, out_dir)
        plot_curves_by_task(results, across, metric, out_dir)


def data_context(jobs: Sequence[Job]) -> str:
    """``<dataset id> (<env id>)`` of the sweep's jobs, for the figures' titles."""
    seen: dict[str, str | None] = {}
    for job in jobs:
        path = job.path / "dataset_info.json"
        try:
            info = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            continue
        if info.get("dataset_id"):
            seen.setdefault(info["dataset_id"], info.get("eval_env_id") or info.get("env_id"))
    if len(seen) > 3:
        return f"{len(seen)} datasets"
    return "; ".join(f"{d} ({e})" if e else d for d, e in seen.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="imitation-lab report", description="Aggregate a Hydra multirun sweep."
    )
    parser.add_argument("sweep_dir", type=Path, help="the multirun folder (multirun/train/<time>)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: <sweep_dir>/report)"
    )
    parser.add_argument(
        "--metric", default="final/normalized_score", help="summary key to aggregate"
    )
    parser.add_argument(
        "--by", nargs="+", default=None, help="group by these keys (default: swept keys but seed)"
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="arm to compare with: P(arm > reference) per group (default: clip, if swept)",
    )
    parser.add_argument(
        "--arm-key", default=DEFAULT_ARM_KEY, help="the group key whose values are the arms"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = report(
            args.sweep_dir, args.out, args.metric, args.by, args.reference, args.arm_key
        )
    except ImitationLabError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    reference = args.reference or default_reference(results, args.arm_key)
    print(markdown_table(results, args.metric, reference))
    trials = load_trials(args.sweep_dir)
    if trials is not None:
        print(f"\nOptuna trials:\n{trials_table(trials)}")
    csvs = "results.csv, runs.csv, curves.csv" + (", trials.csv" if trials is not None else "")
    out_dir = args.out or args.sweep_dir / "report"
    if (Path(out_dir) / "aggregate.md").is_file():
        print("\n" + (Path(out_dir) / "aggregate.md").read_text().split("\n\n")[2])
        csvs += ", aggregate.csv, profiles.csv, aggregate.md"
    pngs = sorted(p.name for p in Path(out_dir).glob("*.png"))
    print(f"wrote {csvs}, results.md and {', '.join(pngs)} to {out_dir}")
