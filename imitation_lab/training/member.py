"""One member of a training group: what a single run owns, minus the loop.

A member has its own seed (minibatch sampler), loss window, loggers, evaluation record, best
score, checkpoints and resume rules, and writes only into its run dir.
``imitation_lab.training.fit`` steps K members together; a single run is a group of one. No
Hydra here.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imitation_lab.data.normalize import Normalizer
from imitation_lab.data.reference import ScoreFn
from imitation_lab.envs.evaluate import EvalResult
from imitation_lab.errors import CheckpointError, TrainingDivergedError
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.training.checkpoint import load_checkpoint, save_checkpoint
from imitation_lab.training.ema import WeightAverage
from imitation_lab.training.loggers import Logger, NullLogger
from imitation_lab.training.settings import TrainerSchema
from imitation_lab.utils.seeding import rng_state, set_rng_state

log = logging.getLogger(__name__)

SMOOTHING_WINDOW = 100  # Tianshou's MovAvg size for smoothed_loss
#: Called after each evaluation with the step and the ``eval/*`` metrics just logged (e.g.
#: ``imitation_lab.runs.hpo.TrialReporter``); whatever it raises stops training and leaves ``fit``.
EvalHook = Callable[[int, dict[str, float]], None]
#: ``check(saved_metadata, metadata, checkpoint)`` raises when a checkpoint was written with
#: another setup than the resumed run's (``imitation_lab.config.identity.check_same_setup``)
SetupCheck = Callable[[dict[str, Any], dict[str, Any], Path], None]


@dataclass
class _Interval:
    """Running sums of the steps since the last ``train/*`` log line."""

    start: float = field(default_factory=time.perf_counter)
    count: int = 0
    loss_sum: float = 0.0
    time_sum: float = 0.0

    def add(self, loss: float, train_time: float) -> None:
        self.count += 1
        self.loss_sum += loss
        self.time_sum += train_time


class Member:
    """One policy being trained, with everything its run dir holds."""

    def __init__(
        self,
        policy: ImitationPolicy,
        run_dir: Path,
        settings: TrainerSchema,
        *,
        seed: int,
        normalizer: Normalizer,
        logger: Logger | None = None,
        score_fn: ScoreFn | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        eval_hook: EvalHook | None = None,
        check_setup: SetupCheck | None = None,
    ) -> None:
        self.policy = policy
        self.eval_hook = eval_hook
        self.check_setup = check_setup
        self.settings = settings
        self.seed = seed
        self.normalizer = normalizer
        self.logger: Logger = logger or NullLogger()  # attached once the run dir is ours
        self.score_fn = score_fn
        self.metadata = metadata or {}
        self.run_dir = Path(run_dir)
        self.name = name or str(self.run_dir)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.sampler = torch.Generator(device="cpu").manual_seed(seed)
        self.step = 0
        self.best_score = -math.inf
        self.best_val_loss = math.inf
        self.best_step = -1  # the evaluation step of best_val_loss
        self.last_val: float | None = None
        self.val_step = -1  # the step of last_val
        self.last_eval: dict[str, float] = {}
        self.loss_window: deque[float] = deque(maxlen=SMOOTHING_WINDOW)
        self.failure: BaseException | None = None
        self._interval = _Interval()
        decay = getattr(settings, "ema_decay", None)
        #: ``trainer.ema_decay``: the average of the weights, what evaluation and checkpoints use
        self.ema = None if decay is None else WeightAverage(list(policy.parameters()), decay)

    @property
    def alive(self) -> bool:
        return self.failure is None

    # ------------------------------------------------------------------ loop hooks
    def begin(self) -> None:
        """Before the loop: resume when asked (only reads: a refused resume changes nothing),
        start the first logging interval."""
        if self.settings.resume:
            self._resume()
        self._interval = _Interval()

    def record_update(self, loss: float, train_time: float) -> dict[str, float] | None:
        """Count one gradient step: divergence check, loss window, ``train/*`` when due.

        O(1) per step: the moving average and the interval means are computed only when
        logging. Returns the logged metrics, or None when this step does not log.
        """
        self.step += 1
        if not math.isfinite(loss):
            self.logger.log({"train/loss": loss}, self.step)
            raise self.divergence_error(f"Loss became {loss} at step {self.step}")
        self.loss_window.append(loss)
        interval = self._interval
        interval.add(loss, train_time)
        if self.step % self.settings.log_every and self.step != self.settings.steps:
            return None
        elapsed = time.perf_counter() - interval.start
        metrics = {
            "train/loss": interval.loss_sum / interval.count,
            "train/smoothed_loss": self.smoothed_loss(),
            "train/train_time": interval.time_sum / interval.count,
            "train/lr": self.policy.optim.param_groups[0]["lr"],
            "train/steps_per_sec": interval.count / max(elapsed, 1e-9),
        }
        self.logger.log(metrics, self.step)
        self._interval = _Interval()
        return {**metrics, "steps": interval.count}

    def smoothed_loss(self) -> float:
        """Mean of the last ``SMOOTHING_WINDOW`` losses (Tianshou's ``smoothed_loss``)."""
        return float(np.mean(self.loss_window)) if self.loss_window else math.nan

    def divergence_error(self, what: str) -> TrainingDivergedError:
        last = self.checkpoint_dir / "last.pt"
        kept = (
            f"the last good checkpoint is kept ({last})"
            if last.exists()
            else "no checkpoint had been written yet"
        )
        return TrainingDivergedError(
            f"{what}: training stopped; {kept} and metrics so far are in "
            f"{self.run_dir / 'metrics.jsonl'}. Start a new run with a lower optim.lr or "
            "optim=adamw, or check the dataset for extreme values."
        )

    @contextlib.contextmanager
    def acting_weights(self) -> Iterator[None]:
        """The policy holds the weights it acts with inside the block: the average with
        ``trainer.ema_decay``, else its own."""
        if self.ema is None:
            yield
        else:
            with self.ema.swapped():
                yield

    # ------------------------------------------------------------------ evaluation
    def record_val(self, loss: float) -> None:
        """Log ``val/loss`` (held-out episodes); with ``trainer.select=best_val`` a new lowest
        one saves ``checkpoints/best.pt`` (this evaluation step is then the best)."""
        self.logger.log({"val/loss": loss}, self.step)
        self.last_val, self.val_step = loss, self.step
        if _select(self.settings) == "best_val" and loss < self.best_val_loss:
            self.best_val_loss = loss
            self.best_step = self.step
            self.save("best.pt")

    def record_eval(self, result: EvalResult) -> dict[str, float]:
        """Log an evaluation. ``trainer.select`` says which weights ``checkpoints/best.pt``
        holds: the best normalized score (``best_eval``, the default), the lowest
        ``val/loss`` (``best_val``: its evaluation's score is the best), or the last
        (``final``)."""
        metrics = {f"eval/{key}": value for key, value in result.metrics(self.score_fn).items()}
        select = _select(self.settings)
        if "eval/normalized_score" in metrics:
            score = metrics["eval/normalized_score"]
            if select == "best_eval" and score > self.best_score:
                self.best_score = score
                self.save("best.pt")
            elif (select == "best_val" and self.step == self.best_step) or (
                select == "final" and self.step == self.settings.steps
            ):
                self.best_score = score
            metrics["eval/best_normalized_score"] = self.best_score
        if select == "final" and self.step == self.settings.steps:
            self.save("best.pt")
        self.last_eval = metrics
        self.logger.log(metrics, self.step)
        log.info(
            "%sstep %d: %s",
            f"{self.name}: " if self.name != str(self.run_dir) else "",
            self.step,
            ", ".join(f"{k.split('/')[1]}={v:.2f}" for k, v in metrics.items()),
        )
        if self.eval_hook is not None:
            self.eval_hook(self.step, metrics)
        return metrics

    def summary(self) -> dict[str, float]:
        """Last and best evaluation (normalized scores x100) and the final smoothed loss."""
        out = {"step": float(self.step)}
        if self.loss_window:
            out["train/smoothed_loss"] = float(np.mean(self.loss_window))
        out.update({k.replace("eval/", "final/"): v for k, v in self.last_eval.items()})
        if self.last_val is not None:
            out["final/val_loss"] = self.last_val
        if math.isfinite(self.best_score):
            out["best/normalized_score"] = self.best_score
        if math.isfinite(self.best_val_loss):
            out["best/val_loss"] = self.best_val_loss
            out["best/step"] = float(self.best_step)
        return out

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The checkpoint: ``policy`` holds the weights to act with (``eval``, ``load_policy``,
        ``collect``): with ``trainer.ema_decay`` the average, the trained weights then being
        ``trained_policy``."""
        trained = self.policy.state_dict()
        with self.acting_weights():
            acting = {k: v.clone() for k, v in self.policy.state_dict().items()}
        ema = {} if self.ema is None else {
            "trained_policy": trained, "ema_updates": self.ema.updates
        }  # fmt: skip
        return {
            "policy": acting,
            **ema,
            "optim": self.policy.optim.state_dict(),
            "schedulers": [s.state_dict() for s in _schedulers(self.policy)],
            "normalizer": self.normalizer.state_dict(),
            "step": self.step,
            "best_score": self.best_score,
            "best_val_loss": self.best_val_loss,
            "best_step": self.best_step,
            "last_val": self.last_val,
            "val_step": self.val_step,
            "last_eval": self.last_eval,
            "loss_window": list(self.loss_window),
            "rng": rng_state(),
            "sampler": self.sampler.get_state(),
            "metadata": self.metadata,
        }

    def save(self, name: str) -> Path:
        """Write ``checkpoints/<name>`` atomically; never overwrite a good one with NaN weights."""
        bad = [n for n, p in self.policy.named_parameters() if not torch.isfinite(p).all()]
        if bad:  # NaN/inf gradients poisoned the weights before the loss showed it
            raise self.divergence_error(
                f"Weights {', '.join(bad[:3])} became NaN/inf at step {self.step} "
                f"(not saved to {name})"
            )
        path = self.checkpoint_dir / name
        save_checkpoint(self.state_dict(), path)
        return path

    def load_state_dict(self, state: dict[str, Any], source: Path) -> None:
        """Restore a ``state_dict()``; a checkpoint of another setup is one ``CheckpointError``."""
        missing = [key for key in RESUME_STATE if key not in state]
        if missing:
            raise CheckpointError(
                f"Checkpoint {source} has no {', '.join(missing)}: it cannot resume a run "
                "(written by another imitation_lab version?). Start a new run."
            )
        if self.check_setup is not None:
            self.check_setup(state.get("metadata") or {}, self.metadata, source)
        if (self.ema is None) != ("trained_policy" not in state):
            raise CheckpointError(
                f"Checkpoint {source} was written "
                f"{'without' if self.ema is not None else 'with'} trainer.ema_decay: resume it "
                "with its own trainer.ema_decay (see .hydra/config.yaml in its run dir)."
            )
        try:
            if self.ema is not None:  # the average first: its tensors are the policy's shape
                self.policy.load_state_dict(state["policy"])
                self.ema.load([p.detach().clone() for p in self.policy.parameters()], 0)
                self.ema.updates = int(state["ema_updates"])
                self.policy.load_state_dict(state["trained_policy"])
            else:
                self.policy.load_state_dict(state["policy"])
            self.normalizer.load_state_dict(state["normalizer"])
            self.policy.optim.load_state_dict(state["optim"])
            schedulers = _schedulers(self.policy)
            for scheduler, sched_state in zip(schedulers, state["schedulers"], strict=True):
                scheduler.load_state_dict(sched_state)
        except (RuntimeError, ValueError, KeyError) as err:
            detail = str(err).strip().splitlines()[-1].strip()
            raise CheckpointError(
                f"Checkpoint {source} was written for a different architecture or optimizer "
                f"({type(err).__name__}: {detail}). Use the config it was trained with (see "
                ".hydra/config.yaml in its run dir) or start a new run."
            ) from err
        self.step = int(state["step"])
        self.best_score = float(state["best_score"])
        self.best_val_loss = float(state.get("best_val_loss", math.inf))
        self.best_step = int(state.get("best_step", -1))
        self.last_val = state.get("last_val")
        self.val_step = int(state.get("val_step", -1))
        self.last_eval = dict(state.get("last_eval", {}))
        self.loss_window = deque(state["loss_window"], maxlen=SMOOTHING_WINDOW)
        set_rng_state(state["rng"])
        self.sampler.set_state(state["sampler"])

    def _resume(self) -> None:
        path = self.checkpoint_dir / "last.pt"
        if not path.exists():
            log.info("trainer.resume=true but %s does not exist: starting from step 0.", path)
            return
        self.load_state_dict(load_checkpoint(path), path)
        log.info("Resumed from %s at step %d.", path, self.step)


def _schedulers(policy: ImitationPolicy) -> list[Any]:
    schedulers = policy.lr_scheduler
    if schedulers is None:
        return []
    return list(schedulers) if isinstance(schedulers, list | tuple) else [schedulers]


# What ``load_state_dict`` needs to continue a run exactly.
RESUME_STATE = (
    "policy",
    "normalizer",
    "optim",
    "schedulers",
    "step",
    "best_score",
    "loss_window",
    "rng",
    "sampler",
)


def _select(settings: TrainerSchema) -> str:
    """``trainer.select`` as a name (an Enum from the config, a str from the Python API)."""
    select = getattr(settings, "select", "best_eval")
    return str(getattr(select, "value", select))
