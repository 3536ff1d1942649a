"""Completion markers in a run dir: ``DONE.json`` (summary + config) and ``FAILED.json``.

A re-run sweep skips a job whose ``DONE.json`` holds the same resolved config, and the
report tells finished, failed and unfinished jobs apart by these two files.
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

DONE = "DONE.json"
FAILED = "FAILED.json"


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
    if done is None or done.get("config") != json.loads(json.dumps(config, default=str)):
        return None
    summary = done.get("summary")
    return summary if isinstance(summary, dict) else None


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
