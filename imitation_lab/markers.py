"""Completion markers in a run dir: ``DONE.json`` (summary + config), ``FAILED.json`` and
``PRUNED.json`` (an Optuna pruner stopped the trial early: not a failure).

A re-run sweep skips a job whose ``DONE.json`` holds the same resolved config, and the
report tells finished, failed, pruned and unfinished jobs apart by these files.
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

DONE = "DONE.json"
FAILED = "FAILED.json"
PRUNED = "PRUNED.json"
#: config keys that do not change a run's result (a resumed or requeued job sets resume)
NOT_COMPARED = (("trainer", "resume"),)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): a killed job never leaves half a marker."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker's content, or None when it is absent or unreadable."""
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def finished_summary(run_dir: Path, config: dict[str, Any]) -> dict[str, float] | None:
    """The stored summary if ``run_dir`` finished with exactly this ``config``, else None."""
    done = read_marker(Path(run_dir) / DONE)
    if done is None or _comparable(done.get("config")) != _comparable(
        json.loads(json.dumps(config, default=str))
    ):
        return None
    summary = done.get("summary")
    return summary if isinstance(summary, dict) else None


def _comparable(config: Any) -> Any:
    """``config`` without the ``NOT_COMPARED`` keys and top-level nulls (a key added with a
    null default, such as ``hpo``, does not make an older ``DONE.json`` stale)."""
    if not isinstance(config, dict):
        return config
    out = {k: v for k, v in config.items() if v is not None}
    for group, key in NOT_COMPARED:
        if isinstance(out.get(group), dict):
            out[group] = {k: v for k, v in out[group].items() if k != key}
    return out


def write_done(run_dir: Path, config: dict[str, Any], summary: dict[str, float]) -> None:
    """Mark ``run_dir`` finished (and clear an earlier failure marker)."""
    run_dir = Path(run_dir)
    _write_json(run_dir / DONE, {"summary": summary, "config": config})
    (run_dir / FAILED).unlink(missing_ok=True)


def write_failed(run_dir: Path, error: BaseException) -> None:
    """Record why the job in ``run_dir`` failed (type, message, traceback)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(
        run_dir / FAILED,
        {
            "error": type(error).__name__,
            "message": str(error),
            "traceback": "".join(traceback.format_exception(error)),
        },
    )


def write_pruned(run_dir: Path, step: int, value: float, trial: int | None = None) -> None:
    """Record that the pruner stopped the trial in ``run_dir`` at ``step`` (value: its score)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(run_dir / PRUNED, {"step": step, "value": value, "trial": trial})
