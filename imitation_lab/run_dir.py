"""What a run writes into its run dir besides metrics and checkpoints.

* ``DONE.json`` (summary + resolved config) when it finished, ``FAILED.json`` (error, message,
  traceback) when it failed, ``PRUNED.json`` when an Optuna pruner stopped it early (not a
  failure): a re-run sweep skips a job whose ``DONE.json`` holds the same config, and the
  report tells finished, failed, pruned and unfinished jobs apart by these files;
* ``dataset_info.json``: the dataset's provenance;
* ``.hydra/{config,overrides}.yaml`` for the members a job trains beside itself
  (``trainer.num_seeds``), as Hydra writes them for a job.

No Hydra here: callers pass plain data.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from imitation_lab.files import atomic_write_json, atomic_write_text, read_json

DONE = "DONE.json"
FAILED = "FAILED.json"
PRUNED = "PRUNED.json"
DATASET_INFO = "dataset_info.json"
#: config keys that do not change a run's result (a resumed or requeued job sets resume)
NOT_COMPARED = (("trainer", "resume"),)


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker's content, or None when it is absent or unreadable."""
    return read_json(path)


def finished_summary(run_dir: Path, config: dict[str, Any]) -> dict[str, float] | None:
    """The stored summary if ``run_dir`` finished with exactly this ``config``, else None."""
    done = read_marker(Path(run_dir) / DONE)
    if done is None or comparable(done.get("config")) != comparable(
        json.loads(json.dumps(config, default=str))
    ):
        return None
    summary = done.get("summary")
    return summary if isinstance(summary, dict) else None


def comparable(config: Any) -> Any:
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
    atomic_write_json(run_dir / DONE, {"summary": summary, "config": config})
    (run_dir / FAILED).unlink(missing_ok=True)


def write_failed(run_dir: Path, error: BaseException) -> None:
    """Record why the job in ``run_dir`` failed (type, message, traceback)."""
    atomic_write_json(
        Path(run_dir) / FAILED,
        {
            "error": type(error).__name__,
            "message": str(error),
            "traceback": "".join(traceback.format_exception(error)),
        },
    )


def write_pruned(run_dir: Path, step: int, value: float, trial: int | None = None) -> None:
    """Record that the pruner stopped the trial in ``run_dir`` at ``step`` (value: its score)."""
    atomic_write_json(Path(run_dir) / PRUNED, {"step": step, "value": value, "trial": trial})


def write_dataset_info(run_dir: Path, info: dict[str, Any]) -> None:
    """``dataset_info.json``: id, versions, sizes, reference scores of the training data."""
    atomic_write_text(Path(run_dir) / DATASET_INFO, json.dumps(info, indent=2) + "\n")


def write_hydra_dir(run_dir: Path, config: dict[str, Any], overrides: Sequence[str]) -> None:
    """``run_dir/.hydra/{config,overrides}.yaml`` as Hydra writes them for a job."""
    hydra_dir = Path(run_dir) / ".hydra"
    atomic_write_text(hydra_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    atomic_write_text(hydra_dir / "overrides.yaml", yaml.safe_dump(list(overrides)))
