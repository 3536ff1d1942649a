"""``python -m imitation_lab.report <multirun dir>``: aggregate a sweep into tables and plots.

Reads every job's ``.hydra/overrides.yaml``, completion markers and ``metrics.jsonl``, groups
jobs by the swept keys except ``seed`` (or by ``--by`` keys), and writes ``results.csv``,
``runs.csv``, ``curves.csv``, ``results.md``, ``learning_curves.png`` and ``final_scores.png``.
For an Optuna sweep (``optuna_study.yaml`` in the sweep dir) it adds the study's trials
(number, state, value, params) from its storage: ``trials.csv`` and a table in ``results.md``.

Per group: n seeds, mean, std (ddof=1), median, IQM (mean of the middle 50 %) and 95 %
stratified-bootstrap percentile CIs of the mean and the IQM: rliable's method
(Agarwal et al., 2021), computed here with numpy (rliable itself pulls arch, statsmodels,
pandas and seaborn). Strata are the other swept keys inside a group (e.g. datasets when
grouping ``--by bounding``); with one stratum it is the plain percentile bootstrap over seeds.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from imitation_lab.errors import ImitationLabError, SweepError
from imitation_lab.markers import DONE, FAILED, PRUNED, read_marker

log = logging.getLogger(__name__)
SEED_KEY = "seed"
STUDY_FILE = "optuna_study.yaml"  # written by hydra/sweeper=optuna: storage and study name
CI_LEVEL = 0.95
REPS = 10_000  # bootstrap resamples for the final-score CIs
CURVE_REPS = 2_000  # bootstrap resamples per learning-curve point
BOOTSTRAP_SEED = 0  # the report is deterministic


# ---------------------------------------------------------------- statistics
def iqm(scores: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle 50 % (``scipy.stats.trim_mean(x, 0.25)``)."""
    scores = np.sort(np.asarray(scores, dtype=np.float64), axis=axis)
    n = scores.shape[axis]
    cut = int(0.25 * n)
    middle = np.take(scores, np.arange(cut, n - cut), axis=axis)
    return middle.mean(axis=axis)


def stratified_bootstrap_ci(
    strata: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray | float],
    reps: int = REPS,
    level: float = CI_LEVEL,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile CI of ``statistic`` when each stratum's scores are resampled on their own.

    ``statistic(samples, axis=-1)`` gets an array ``(reps, n)`` of resampled scores (all
    strata side by side), as rliable's ``StratifiedBootstrap`` resamples runs within a task.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for scores in strata:
        scores = np.asarray(scores, dtype=np.float64)
        parts.append(scores[rng.integers(0, len(scores), size=(reps, len(scores)))])
    values = np.asarray(statistic(np.concatenate(parts, axis=1), axis=-1))
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


# ---------------------------------------------------------------- reading a sweep
@dataclass
class Job:
    """One job folder of a sweep."""

    name: str
    path: Path
    overrides: dict[str, str]
    status: str  # done | failed | pruned | unfinished
    summary: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    error: str | None = None


def _parse_overrides(lines: Sequence[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        key, _, value = str(line).partition("=")
        out[key.lstrip("+~")] = value
    return out


def _read_metrics(path: Path) -> tuple[dict[str, float], dict[str, list[tuple[int, float]]]]:
    """Summary (the ``step: -1`` line) and per-key eval curves of the last attempt."""
    summary: dict[str, float] = {}
    curves: dict[str, list[tuple[int, float]]] = {}
    last_step = -1
    if not path.exists():
        return summary, curves
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a crash
            continue
        step = record.pop("step", None)
        if step == -1:
            summary = {k.removeprefix("summary/"): v for k, v in record.items()}
            continue
        if not isinstance(step, int):
            continue
        if step < last_step:  # the job was started again in the same folder: keep the last try
            curves, summary = {}, {}
        last_step = step
        for key, value in record.items():
            if key.startswith("eval/") and value is not None:
                curves.setdefault(key, []).append((step, float(value)))
    return summary, curves


def _job_dirs(sweep_dir: Path) -> list[Path]:
    """Job folders; a ``trainer.num_seeds=K`` job counts as its K ``seed_<s>/`` folders."""
    dirs = []
    for job in sorted(
        (p.parent.parent for p in sweep_dir.glob("*/.hydra/overrides.yaml")),
        key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name),
    ):
        seeds = [p.parent.parent for p in job.glob("seed_*/.hydra/overrides.yaml")]
        dirs.extend(sorted(seeds, key=lambda p: int(p.name.removeprefix("seed_"))) or [job])
    return dirs


def load_jobs(sweep_dir: Path) -> list[Job]:
    """Every job of ``sweep_dir``; raises ``SweepError`` when it is not a sweep."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise SweepError(f"{sweep_dir} does not exist or is not a folder: pass a multirun dir.")
    dirs = _job_dirs(sweep_dir)
    if not dirs:
        hint = (
            "it is a single run (it has .hydra/ itself); "
            if (sweep_dir / ".hydra").is_dir()
            else "it has no job folders with .hydra/overrides.yaml; "
        )
        raise SweepError(
            f"{sweep_dir} is not a Hydra sweep: {hint}pass the folder a `-m` run wrote, "
            "e.g. multirun/train/<date_time>."
        )
    jobs = []
    for path in dirs:
        overrides = _parse_overrides(
            yaml.safe_load((path / ".hydra/overrides.yaml").read_text()) or []
        )
        summary, curves = _read_metrics(path / "metrics.jsonl")
        done, failed = read_marker(path / DONE), read_marker(path / FAILED)
        pruned = read_marker(path / PRUNED)
        if done is not None:
            status, summary, error = "done", dict(done.get("summary", summary)), None
        elif pruned is not None:  # stopped early by the Optuna pruner: not a failure
            status = "pruned"
            error = f"pruned at step {pruned.get('step')} (objective {pruned.get('value')})"
        elif failed is not None:
            status, error = "failed", f"{failed.get('error')}: {failed.get('message')}"
        else:
            status, error = ("done" if summary else "unfinished"), None
        name = str(path.relative_to(sweep_dir))  # "3", or "3/seed_12" for a K-seed job
        jobs.append(Job(name, path, overrides, status, summary, curves, error))
    return jobs


def swept_keys(sweep_dir: Path, jobs: Sequence[Job]) -> list[str]:
    """Keys swept by the command line or ``hydra.sweeper.params``, or that differ across jobs."""
    keys: list[str] = []

    def add(key: str) -> None:
        if key not in keys:
            keys.append(key)

    multirun = Path(sweep_dir) / "multirun.yaml"
    if multirun.exists():
        from hydra.core.override_parser.overrides_parser import OverridesParser

        cfg = yaml.safe_load(multirun.read_text()) or {}
        hydra_cfg = cfg.get("hydra", {})
        task = hydra_cfg.get("overrides", {}).get("task", []) or []
        params = (hydra_cfg.get("sweeper", {}) or {}).get("params", {}) or {}
        lines = [*task, *(f"{k}={v}" for k, v in params.items())]
        try:
            parsed = OverridesParser.create().parse_overrides(lines)
        except Exception:  # an unparsable line: fall back to what differs across jobs
            parsed = []
        for override in parsed:
            if override.is_sweep_override():
                add(override.get_key_element().lstrip("+~"))
    all_keys = sorted({k for job in jobs for k in job.overrides})
    for key in all_keys:
        if len({job.overrides.get(key) for job in jobs}) > 1:
            add(key)
    return keys


# ---------------------------------------------------------------- optuna trials
@dataclass
class TrialRow:
    """One trial of an Optuna sweep's study."""

    number: int
    state: str  # complete | pruned | fail | running | waiting
    value: float | None
    params: dict[str, object]
    job: str | None  # the job folder in this sweep dir, if the trial ran here
    note: str = ""


def load_trials(sweep_dir: Path) -> list[TrialRow] | None:
    """The trials of the study behind an Optuna sweep dir, or None for other sweeps.

    The study is read from its storage (named in ``optuna_study.yaml``), so trials run by
    other sweeps sharing it are listed too. A storage that cannot be read is a warning.
    """
    study_file = Path(sweep_dir) / STUDY_FILE
    if not study_file.exists():
        return None
    from imitation_lab import hpo

    info = yaml.safe_load(study_file.read_text()) or {}
    try:
        import optuna

        storage = hpo.open_storage(str(info["storage"]))
        study = optuna.load_study(study_name=str(info["study_name"]), storage=storage)
    except (ImportError, KeyError, ImitationLabError) as err:
        log.warning("No trials table: the study in %s cannot be read (%s).", study_file, err)
        return None
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get(hpo.RETRY_OF_ATTR): t.number for t in trials}
    rows = []
    for trial in trials:
        attrs, note = trial.system_attrs, ""
        if attrs.get(hpo.SURPLUS_ATTR):
            note = "not run: the study had its n_trials"
        elif attrs.get(hpo.INTERRUPTED_ATTR):
            again = retried.get(trial.number)
            note = "its sweep stopped" + (f"; re-run as trial {again}" if again is not None else "")
        elif attrs.get(hpo.RETRY_OF_ATTR) is not None:
            note = f"re-run of trial {attrs[hpo.RETRY_OF_ATTR]}"
        if trial.state.name == "PRUNED" and trial.intermediate_values:
            note = f"pruned at step {max(trial.intermediate_values)}"
        job = Path(sweep_dir) / str(trial.number)
        rows.append(
            TrialRow(
                number=trial.number,
                state=trial.state.name.lower(),
                value=trial.value,
                params=dict(trial.params),
                job=job.name if (job / ".hydra").is_dir() else None,
                note=note,
            )
        )
    return rows


def trials_table(trials: Sequence[TrialRow]) -> str:
    lines = ["| trial | state | value | params | job | note |", "|---:|---|---:|---|---|---|"]
    for row in trials:
        params = " ".join(f"{k}={v}" for k, v in row.params.items())
        value = "–" if row.value is None else f"{row.value:.3f}"
        lines.append(
            f"| {row.number} | {row.state} | {value} | `{params}` | {row.job or '–'} | {row.note} |"
        )
    return "\n".join(lines)


def write_trials_csv(trials: Sequence[TrialRow], path: Path) -> None:
    keys = sorted({k for row in trials for k in row.params})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "state", "value", *keys, "job", "note"])
        for row in trials:
            writer.writerow(
                [
                    row.number,
                    row.state,
                    "" if row.value is None else row.value,
                    *(row.params.get(k, "") for k in keys),
                    row.job or "",
                    row.note,
                ]
            )


# ---------------------------------------------------------------- aggregation
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

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key) or "all"


def group_stats(strata: Sequence[np.ndarray]) -> dict[str, float]:
    """n, mean, std, median, IQM and the bootstrap CIs of the mean and the IQM."""
    scores = np.concatenate([np.asarray(s, dtype=np.float64) for s in strata])
    n = len(scores)
    if n == 0:
        return {"n": 0}
    mean_ci = stratified_bootstrap_ci(strata, np.mean)
    iqm_ci = stratified_bootstrap_ci(strata, iqm)
    return {
        "n": n,
        "mean": float(scores.mean()),
        "std": float(scores.std(ddof=1)) if n > 1 else math.nan,
        "median": float(np.median(scores)),
        "iqm": float(iqm(scores)),
        "mean_ci_low": mean_ci[0],
        "mean_ci_high": mean_ci[1],
        "iqm_ci_low": iqm_ci[0],
        "iqm_ci_high": iqm_ci[1],
    }


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
            )
        )
    return results


# ---------------------------------------------------------------- writing
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


def write_csv(results: Sequence[GroupResult], path: Path) -> None:
    keys = [k for k, _ in results[0].key] if results else []
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", *keys, *STAT_COLUMNS])
        for res in results:
            row = {
                **res.stats,
                "n_failed": res.n_failed,
                "n_unfinished": res.n_unfinished,
                "n_pruned": res.n_pruned,
            }
            writer.writerow(
                [res.label, *(v for _, v in res.key), *(row.get(c, "") for c in STAT_COLUMNS)]
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


def markdown_table(results: Sequence[GroupResult], metric: str) -> str:
    lines = [
        f"| group | n | {metric} mean ± std | median | IQM [95% CI] | mean [95% CI] |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        s = res.stats
        if s["n"] == 0:
            lines.append(f"| {res.label} | 0 | – | – | – | – |")
            continue
        lines.append(
            f"| {res.label} | {s['n']} | {_fmt(s['mean'])} ± {_fmt(s['std'])} "
            f"| {_fmt(s['median'])} "
            f"| {_fmt(s['iqm'])} [{_fmt(s['iqm_ci_low'])}, {_fmt(s['iqm_ci_high'])}] "
            f"| {_fmt(s['mean'])} [{_fmt(s['mean_ci_low'])}, {_fmt(s['mean_ci_high'])}] |"
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
        markdown_table(results, metric),
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
    text += ["![learning curves](learning_curves.png)", "", "![final scores](final_scores.png)", ""]
    path.write_text("\n".join(text))


def plot(results: Sequence[GroupResult], metric: str, out_dir: Path) -> list[Path]:
    """``learning_curves.png`` (mean and CI band per group) and ``final_scores.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r.stats["n"] > 0]
    colors = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, res in enumerate(shown):
        c = res.curve
        if len(c["step"]) == 0:
            continue
        ax.plot(
            c["step"],
            c["mean"],
            "o-",
            ms=3,
            color=colors(i % 10),
            label=f"{res.label} (n={res.stats['n']})",
        )
        ax.fill_between(c["step"], c["low"], c["high"], color=colors(i % 10), alpha=0.2)
    ax.set_xlabel("gradient step")
    ax.set_ylabel(curve_key_of(metric))
    ax.set_title("Learning curves: mean over seeds, 95% bootstrap CI")
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=8)
    fig.tight_layout()
    curves_path = out_dir / "learning_curves.png"
    fig.savefig(curves_path, dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 0.6 * max(len(shown), 2) + 1.5), sharey=True)
    for ax, (name, stat) in zip(axes, (("IQM", "iqm"), ("Mean", "mean")), strict=True):
        for i, res in enumerate(shown):
            s = res.stats
            low, high = s[f"{stat}_ci_low"], s[f"{stat}_ci_high"]
            ax.barh(i, high - low, left=low, height=0.6, color=colors(i % 10), alpha=0.35)
            ax.plot([s[stat]], [i], "|", color=colors(i % 10), markersize=18, mew=2)
            ax.scatter(res.scores, np.full(len(res.scores), i), s=8, color="k", alpha=0.5, zorder=3)
        ax.set_title(f"{name} (95% CI), dots = seeds")
        ax.set_xlabel(metric)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(shown)), [r.label for r in shown])
    fig.tight_layout()
    final_path = out_dir / "final_scores.png"
    fig.savefig(final_path, dpi=120)
    plt.close(fig)
    return [curves_path, final_path]


def report(
    sweep_dir: Path,
    out_dir: Path | None = None,
    metric: str = "final/normalized_score",
    by: Sequence[str] | None = None,
) -> list[GroupResult]:
    """Read ``sweep_dir``, write the CSVs, markdown and plots to ``out_dir`` (default
    ``<sweep_dir>/report``); returns the per-group results."""
    sweep_dir = Path(sweep_dir)
    jobs = load_jobs(sweep_dir)
    keys = swept_keys(sweep_dir, jobs)
    results = aggregate(jobs, keys, metric, by)
    out_dir = Path(out_dir) if out_dir is not None else sweep_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(results, out_dir / "results.csv")
    write_runs_csv(jobs, keys, metric, out_dir / "runs.csv")
    write_curves_csv(results, out_dir / "curves.csv")
    trials = load_trials(sweep_dir)
    if trials is not None:
        write_trials_csv(trials, out_dir / "trials.csv")
    write_markdown(results, jobs, keys, sweep_dir, metric, out_dir / "results.md", trials)
    plot(results, metric, out_dir)
    return results


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
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = report(args.sweep_dir, args.out, args.metric, args.by)
    except ImitationLabError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(markdown_table(results, args.metric))
    trials = load_trials(args.sweep_dir)
    if trials is not None:
        print(f"\nOptuna trials:\n{trials_table(trials)}")
    csvs = "results.csv, runs.csv, curves.csv" + (", trials.csv" if trials is not None else "")
    print(f"wrote {csvs}, results.md and 2 PNGs to {args.out or args.sweep_dir / 'report'}")


if __name__ == "__main__":
    main()
