"""Metric sinks behind one protocol: a local JSONL file (always) and W&B (optional)."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Logger(Protocol):
    """Receives ``{"train/loss": ..., ...}`` at a gradient step."""

    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def finish(self, summary: dict[str, float] | None = None) -> None: ...


class NullLogger:
    """Logs nothing (``logger=none``); ``metrics.jsonl`` is still written by the trainer."""

    def __init__(self, **_: Any) -> None:
        pass

    def log(self, metrics: dict[str, float], step: int) -> None:
        pass

    def finish(self, summary: dict[str, float] | None = None) -> None:
        pass


class JsonlLogger:
    """Appends one JSON object per logging step to ``metrics.jsonl``, flushed each time.

    On resume, lines at or after ``resume_step`` are dropped first, so a resumed run has no
    duplicate steps.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        if resume_step is not None and self.path.exists():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and _line_step(line) is not None and _line_step(line) <= resume_step
            ]
            self.path.write_text("".join(f"{line}\n" for line in kept))
        self._handle = open(self.path, "a", buffering=1)  # noqa: SIM115 - kept open for the run

    def log(self, metrics: dict[str, float], step: int) -> None:
        record = {"step": step, **{k: _json_number(v) for k, v in metrics.items()}}
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def finish(self, summary: dict[str, float] | None = None) -> None:
        if summary:
            self.log({f"summary/{k}": v for k, v in summary.items()}, step=-1)
        self._handle.close()


def _line_step(line: str) -> int | None:
    try:
        step = json.loads(line).get("step")
    except json.JSONDecodeError:  # a line cut by a crash
        return None
    return step if isinstance(step, int) and step >= 0 else None


def _json_number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


class WandbLogger:
    """W&B run in ``<run dir>/wandb``; offline by default, resumable by a saved run id.

    A W&B failure (network, quota, a killed service) never stops training: the logger
    warns once and turns itself off; the local metrics file carries on.
    """

    def __init__(
        self,
        *,
        run_dir: Path,
        config: dict[str, Any],
        project: str = "imitation_lab",
        entity: str | None = None,
        group: str | None = None,
        name: str | None = None,
        mode: str = "offline",
        tags: list[str] | None = None,
    ) -> None:
        self._run = None
        mode = getattr(mode, "value", mode)
        if mode == "disabled":
            log.info("W&B disabled (logger.mode=disabled); metrics go to metrics.jsonl only.")
            return
        run_dir = Path(run_dir)
        id_file = run_dir / "wandb_run_id.txt"
        try:
            import wandb

            run_id = id_file.read_text().strip() if id_file.exists() else wandb.util.generate_id()
            id_file.write_text(run_id)
            os.environ.setdefault("WANDB_SILENT", "true")
            self._run = wandb.init(
                project=project,
                entity=entity,
                group=group,
                name=name,
                mode=mode,
                tags=list(tags or []),
                dir=str(run_dir),
                config=config,
                id=run_id,
                resume="allow",
                settings=wandb.Settings(console="off", init_timeout=60, x_disable_stats=True),
            )
        except Exception as err:  # no login, no network, broken service: never fatal
            log.warning(
                "W&B could not start (%s: %s); continuing with metrics.jsonl only.",
                type(err).__name__,
                err,
            )
            self._run = None

    @property
    def run_dir(self) -> Path | None:
        return Path(self._run.dir).parent if self._run is not None else None

    def log(self, metrics: dict[str, float], step: int) -> None:
        if self._run is None:
            return
        try:
            self._run.log(metrics, step=step)
        except Exception as err:
            log.warning(
                "W&B logging failed (%s: %s); continuing with metrics.jsonl only.",
                type(err).__name__,
                err,
            )
            self._run = None

    def finish(self, summary: dict[str, float] | None = None) -> None:
        if self._run is None:
            return
        try:
            if summary:
                self._run.summary.update(summary)
            self._run.finish()
        except Exception as err:
            log.warning("W&B finish failed (%s: %s).", type(err).__name__, err)
        self._run = None


class MultiLogger:
    """Fans each call out to several loggers."""

    def __init__(self, *loggers: Logger) -> None:
        self.loggers = loggers

    def log(self, metrics: dict[str, float], step: int) -> None:
        for logger in self.loggers:
            logger.log(metrics, step)

    def finish(self, summary: dict[str, float] | None = None) -> None:
        for logger in self.loggers:
            logger.finish(summary)
