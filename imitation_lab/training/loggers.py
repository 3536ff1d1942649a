"""Metric sinks behind one protocol: a local JSONL file (always) and W&B (optional)."""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from pathlib import Path
from typing import Any, Protocol, TextIO

log = logging.getLogger(__name__)


class Logger(Protocol):
    """Receives ``{"train/loss": ..., ...}`` at a gradient step."""

    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def finish(self, summary: dict[str, float] | None = None) -> None: ...


class LoggerFactory(Protocol):
    """What ``instantiate(cfg.logger)`` returns: every logger is built with these keywords."""

    def __call__(
        self,
        *,
        run_dir: Path,
        config: dict[str, Any],
        group: str | None,
        name: str | None,
        tags: list[str],
        job_type: str,
    ) -> Logger: ...


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

    On resume, lines after ``resume_step`` (written after the checkpoint the run continues
    from, or cut by a crash) are dropped, so a resumed run has no duplicate steps. The file is
    opened at the first record: a run that fails before training leaves it untouched.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.resume_step = resume_step
        self._handle: TextIO | None = None

    def _file(self) -> TextIO:
        if self._handle is None:
            if self.resume_step is not None and self.path.exists():
                kept = [
                    line
                    for line in self.path.read_text().splitlines()
                    if (step := _line_step(line)) is not None and step <= self.resume_step
                ]
                self.path.write_text("".join(f"{line}\n" for line in kept))
            self._handle = open(self.path, "a", buffering=1)  # noqa: SIM115 - open for the run
        return self._handle

    def log(self, metrics: dict[str, float], step: int) -> None:
        record = {"step": step, **{k: _json_number(v) for k, v in metrics.items()}}
        handle = self._file()
        handle.write(json.dumps(record) + "\n")
        handle.flush()

    def finish(self, summary: dict[str, float] | None = None) -> None:
        if summary:
            self.log({f"summary/{k}": v for k, v in summary.items()}, step=-1)
        if self._handle is not None:
            self._handle.close()
            self._handle = None


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

    W&B never stops or stalls training: online mode without credentials, or a server that does
    not answer within ``init_timeout`` seconds, falls back to an offline run (one warning; upload
    it later with ``wandb sync``); it never prompts. A failure mid-run (network, quota, a killed
    service) warns once and turns the logger off; the local metrics file carries on.
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
        job_type: str = "train",
        init_timeout: float = 30.0,
    ) -> None:
        self._run = None
        mode = getattr(mode, "value", mode)
        if mode == "disabled":
            log.info("W&B disabled (logger.mode=disabled); metrics go to metrics.jsonl only.")
            return
        run_dir = Path(run_dir)
        _check_wandb_env()
        id_file = run_dir / "wandb_run_id.txt"
        try:
            import wandb

            run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:8]
            group, name = _same_names_on_resume(run_dir, group, name)
            id_file.write_text(run_id)
            os.environ.setdefault("WANDB_SILENT", "true")
            init_kwargs: dict[str, Any] = {
                "project": project,
                "entity": entity,
                "group": group,
                "name": name,
                "tags": list(tags or []),
                "job_type": job_type,
                "dir": str(run_dir),
                "config": config,
                "id": run_id,
                "resume": "allow",
                "reinit": "create_new",  # K seeds in one process: K concurrent runs
            }
            if mode == "online":
                mode = _online_or_offline(run_dir)
            try:
                self._run = _init_run(wandb, mode, init_timeout, init_kwargs)
            except Exception as err:
                if mode != "online":
                    raise
                _PROCESS["online_failed"] = _one_line(err)
                log.warning(
                    "W&B online could not start (%s); logging offline to %s/wandb instead "
                    "(upload later with `wandb sync`).",
                    _one_line(err),
                    run_dir,
                )
                if _PROCESS["live_runs"] == 0:  # the failed attempt still holds the run id
                    wandb.teardown()
                self._run = _init_run(wandb, "offline", init_timeout, init_kwargs)
            _PROCESS["live_runs"] += 1
        except Exception as err:  # a broken install or service: never fatal
            log.warning(
                "W&B could not start (%s); continuing with metrics.jsonl only.", _one_line(err)
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
                "W&B logging failed (%s); continuing with metrics.jsonl only.", _one_line(err)
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
            log.warning("W&B finish failed (%s).", _one_line(err))
        self._run = None
        _PROCESS["live_runs"] -= 1


def _same_names_on_resume(
    run_dir: Path, group: str | None, name: str | None
) -> tuple[str | None, str | None]:
    """A resumed run keeps the group and name of its first segment (``wandb_run_names.json``);
    a new run records its own."""
    names_file = run_dir / "wandb_run_names.json"
    if names_file.exists():
        try:
            saved = json.loads(names_file.read_text())
            return saved.get("group", group), saved.get("name", name)
        except (json.JSONDecodeError, AttributeError):
            pass  # unreadable: rewritten below
    names_file.write_text(json.dumps({"group": group, "name": name}))
    return group, name


# W&B state of this process. Once online failed, later runs in the process (the K seeds of
# trainer.num_seeds, sequential sweep jobs) go offline at once instead of waiting again; the
# service is only torn down when no run of ours is live.
_PROCESS: dict[str, Any] = {"online_failed": None, "live_runs": 0}


def _online_or_offline(run_dir: Path) -> str:
    """``"online"``, or ``"offline"`` with one warning saying why (never prompts)."""
    if _PROCESS["online_failed"] is not None:
        reason = f"failed earlier in this process ({_PROCESS['online_failed']})"
    elif not _has_wandb_credentials():
        reason = "needs a login (`wandb login` or WANDB_API_KEY)"
    else:
        return "online"
    log.warning(
        "W&B online %s; logging offline to %s/wandb instead (upload later with `wandb sync`).",
        reason,
        run_dir,
    )
    return "offline"


def _check_wandb_env() -> None:
    """W&B rejects an empty ``WANDB_*`` variable with a bare validation error: name it, and
    ignore it (``logger.mode`` decides)."""
    for name in ("WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "WANDB_ENTITY"):
        if name in os.environ and not os.environ[name].strip():
            log.warning(
                "%s is set but empty; W&B would refuse to start. Ignoring it (unset it, or set "
                "WANDB_MODE=offline|online|disabled).",
                name,
            )
            del os.environ[name]


def _init_run(wandb: Any, mode: str, timeout: float, kwargs: dict[str, Any]) -> Any:
    settings = wandb.Settings(console="off", init_timeout=timeout, x_disable_stats=True)
    return wandb.init(mode=mode, settings=settings, **kwargs)


def _has_wandb_credentials() -> bool:
    """Whether W&B finds an API key (env, settings, netrc) without prompting or networking."""
    import wandb

    try:
        return bool(wandb.login(prompt=False, verify=False))
    except Exception:  # an older wandb without `prompt`, or an unreadable netrc
        return bool(os.environ.get("WANDB_API_KEY"))


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


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
