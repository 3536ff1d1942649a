"""Reading a sweep from disk: its job folders, overrides, markers, summaries and eval curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from imitation_lab.config.identity import is_compared
from imitation_lab.errors import SweepError
from imitation_lab.runs.run_dir import DONE, FAILED, PRUNED, read_marker


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
        (p.parent.parent for p in sweep_dir.glob("*/.hydra/overrides.yaml")), key=_job_order
    ):
        seeds = [p.parent.parent for p in job.glob("seed_*/.hydra/overrides.yaml")]
        dirs.extend(sorted(seeds, key=lambda p: int(p.name.removeprefix("seed_"))) or [job])
    return dirs


def _job_order(path: Path) -> tuple[bool, int, str]:
    """Job folders in job order: ``3`` or ``3-<hash>`` by their number, then by name."""
    number = path.name.split("-", 1)[0]
    return (not number.isdigit(), int(number) if number.isdigit() else 0, path.name)


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
        elif failed is not None:
            status, error = "failed", f"{failed.get('error')}: {failed.get('message')}"
        elif pruned is not None:  # stopped early by the Optuna pruner: not a failure
            status = "pruned"
            error = f"pruned at step {pruned.get('step')} (objective {pruned.get('value')})"
        else:
            status, error = ("done" if summary else "unfinished"), None
        name = str(path.relative_to(sweep_dir))  # "3", or "3/seed_12" for a K-seed job
        jobs.append(Job(name, path, overrides, status, summary, curves, error))
    return jobs


def swept_keys(sweep_dir: Path, jobs: Sequence[Job]) -> list[str]:
    """Keys swept by the command line or ``hydra.sweeper.params``, or that differ across jobs;
    never keys that do not change a result (``identity.NOT_COMPARED``: the logger, tags...),
    so jobs run with another logger still group with the rest."""
    keys: list[str] = []

    def add(key: str) -> None:
        if key not in keys and is_compared(f"{key}=x"):
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
