"""What a run writes into its run dir besides metrics and checkpoints.

* ``DONE.json`` (summary + resolved config) when it finished, ``FAILED.json`` (error, message,
  traceback) when it failed, ``PRUNED.json`` when an Optuna pruner stopped it early (not a
  failure): a re-run sweep skips a job whose ``DONE.json`` holds the same config, and the
  report tells finished, failed, pruned and unfinished jobs apart by these files;
* ``dataset_info.json``: the dataset's provenance;
* ``.hydra/{config,hydra,overrides}.yaml``, written by imitation_lab (not by Hydra) once the
  run dir is this run's: a refused resume leaves the dir exactly as it was.

A run dir has one owner: ``owned`` holds its lock for the life of the run, ``inspect_run``
says what it already holds. No Hydra here: callers pass plain data.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shlex
import socket
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imitation_lab.config.identity import same_job
from imitation_lab.errors import ImitationLabError
from imitation_lab.runs.resume_args import hydra_quoted
from imitation_lab.training.checkpoint import load_checkpoint
from imitation_lab.utils.files import atomic_write_json, atomic_write_text, read_json

log = logging.getLogger(__name__)

DONE = "DONE.json"
FAILED = "FAILED.json"
TIMINGS = "timings.json"
PRUNED = "PRUNED.json"
DATASET_INFO = "dataset_info.json"


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker's content, or None when it is absent or unreadable."""
    return read_json(path)


def finished_summary(run_dir: Path, config: dict[str, Any]) -> dict[str, float] | None:
    """The stored summary if ``run_dir`` finished with exactly this ``config``, else None."""
    done = read_marker(Path(run_dir) / DONE)
    if done is None or not same_job(done.get("config"), config):
        return None
    summary = done.get("summary")
    return summary if isinstance(summary, dict) else None


def write_done(run_dir: Path, config: dict[str, Any], summary: dict[str, float]) -> None:
    """Mark ``run_dir`` finished (and clear an earlier failure marker)."""
    run_dir = Path(run_dir)
    atomic_write_json(run_dir / DONE, {"summary": summary, "config": config})
    (run_dir / FAILED).unlink(missing_ok=True)


def write_timings(run_dir: Path, phases: dict[str, float], members: int) -> None:
    """``timings.json``: the seconds per phase of the group this run trained in (``members``
    runs shared them; ``benchmarks/`` adds them up per sweep)."""
    atomic_write_json(Path(run_dir) / TIMINGS, {"group_seconds": phases, "members": members})


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


# ---------------------------------------------------------------- ownership
LOCK = ".imitation_lab.lock"
#: what makes a folder "hold a run" (anything else, e.g. an empty new dir, is free)
RUN_FILES = (DONE, FAILED, PRUNED, "metrics.jsonl", "checkpoints")


class RunDirError(ImitationLabError):
    """A run dir is in use, or holds a run that this command must not touch."""


@contextlib.contextmanager
def owned(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the life of a run: a second process on the same dir stops
    with one error instead of interleaving its metrics. A lock left by a killed process is
    free (the OS releases it) and taken over. The lock file is removed at the end."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    handle = open(path, "a+")  # noqa: SIM115 - held for the life of the run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunDirError(
                f"{run_dir} is in use by {holder}: two runs in one dir would mix their metrics "
                "and checkpoints. Wait for it to finish, or start this run in another dir."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.ctime()}")
        handle.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        handle.close()


@dataclass
class RunState:
    """What a run dir holds: ``empty``, or a ``finished``/``failed``/``pruned``/``unfinished``
    run, with its step (last checkpoint) and config where they are recorded."""

    kind: str
    step: int | None = None
    config: dict[str, Any] | None = None

    @property
    def empty(self) -> bool:
        return self.kind == "empty"

    def describe(self) -> str:
        at = f" at step {self.step}" if self.step is not None else ""
        return f"a {self.kind} run{at}"


def inspect_run(run_dir: Path) -> RunState:
    """Read ``run_dir`` (and its ``seed_<s>/`` members) without changing anything."""
    run_dir = Path(run_dir)
    seeds = [p for p in run_dir.glob("seed_*") if p.name.removeprefix("seed_").isdigit()]
    dirs = [run_dir, *sorted(seeds, key=lambda p: int(p.name.removeprefix("seed_")))]
    if not any((d / name).exists() for d in dirs for name in RUN_FILES):
        return RunState("empty")
    done = read_marker(run_dir / DONE)
    step, config = _last_checkpoint(dirs)
    if done is not None:
        return RunState("finished", step, done.get("config"))
    kind = "failed" if any((d / FAILED).exists() for d in dirs) else "unfinished"
    if (run_dir / PRUNED).exists():
        kind = "pruned"
    return RunState(kind, step, config)


def _last_checkpoint(dirs: Sequence[Path]) -> tuple[int | None, dict[str, Any] | None]:
    """Step and job config of the newest readable ``checkpoints/last.pt`` (None, None without
    one). A K-seed job's smallest seed has exactly the job's config."""
    paths = [d / "checkpoints" / "last.pt" for d in dirs]
    paths = [path for path in paths if path.exists()]
    if not paths:
        return None, None
    try:
        states = [load_checkpoint(path) for path in paths]
    except ImitationLabError:
        return None, None
    config = (states[0].get("metadata") or {}).get("config")
    return max(int(state["step"]) for state in states), config


def read_yaml(path: Path) -> dict[str, Any] | None:
    try:
        payload = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None
    return payload if isinstance(payload, dict) else None


def write_hydra_files(run_dir: Path, files: dict[str, str]) -> None:
    """``run_dir/.hydra/<name>`` for each ``name -> text`` (config, hydra, overrides)."""
    for name, text in files.items():
        atomic_write_text(Path(run_dir) / ".hydra" / name, text)


ATTEMPTS = "attempts"


def set_aside(run_dir: Path) -> Path:
    """Move what ``run_dir`` holds (all but its lock) into ``attempts/<n>/``: nothing is
    deleted, and the dir is free for a new attempt. Returns the attempt's folder."""
    run_dir = Path(run_dir)
    attempts = run_dir / ATTEMPTS
    number = 1 + max((int(p.name) for p in attempts.glob("*") if p.name.isdigit()), default=0)
    target = attempts / str(number)
    target.mkdir(parents=True)
    for entry in run_dir.iterdir():
        if entry.name not in (LOCK, ATTEMPTS):
            os.rename(entry, target / entry.name)
    return target


def decide_resume(
    state: RunState,
    resolved: dict[str, Any],
    resume: bool,
    run_dir: Path,
    *,
    sweep: bool,
    command: str = "python -m imitation_lab.train",
) -> bool:
    """Whether a job continues the run its dir holds; raises when it must not touch it.

    A fresh dir starts fresh. ``trainer.resume=true`` continues (the checkpoint's setup is
    checked there, and a refusal changes nothing). In a sweep, a job whose dir holds an
    unfinished or failed run of the same config continues it (a re-run sweep finishes what was
    stopped); one with no checkpoint to continue from is set aside in ``attempts/`` and run
    again. Anything else is refused, naming the way out.
    """
    if state.empty or resume:
        return resume
    same = state.config is None or same_job(state.config, resolved)
    if sweep and state.kind in ("unfinished", "failed") and same:
        if state.step is not None:
            log.info("%s holds %s of this config: resuming it.", run_dir, state.describe())
            return True
        kept = set_aside(run_dir)
        log.info(
            "%s held %s (no checkpoint): kept in %s; running again.",
            run_dir,
            state.describe(),
            kept,
        )
        return False
    if sweep:
        raise RunDirError(
            f"Job dir {run_dir} holds {state.describe()} of another config; nothing was "
            "changed. Run the sweep into a new hydra.sweep.dir, or move that job dir away."
        )
    command = " ".join(part for part in command.split() if not part.startswith("hydra.run.dir"))
    run_arg = shlex.quote(f"hydra.run.dir={hydra_quoted(str(run_dir))}")
    raise RunDirError(
        f"Run dir {run_dir} already holds {state.describe()}; nothing was changed. Continue "
        f"it: `{command} trainer.resume=true {run_arg}`, or start a new run in a new dir "
        "(leave hydra.run.dir unset)."
    )
