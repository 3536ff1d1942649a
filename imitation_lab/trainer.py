"""Step-based behaviour-cloning trainer: sampling, updates, evaluation, checkpoints, resume.

Plain typed arguments, no Hydra: ``imitation_lab.train`` builds the pieces from a config and
hands them over, and tests can drive it directly.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from imitation_lab.batch import Batch
from imitation_lab.checkpoint import load_checkpoint, save_checkpoint
from imitation_lab.data.buffer import ObsNormalizer, OfflineData
from imitation_lab.errors import CheckpointError, TrainingDivergedError
from imitation_lab.evaluate import EvalResult
from imitation_lab.loggers import Logger
from imitation_lab.policy import ImitationPolicy, unscale_action
from imitation_lab.seeding import rng_state, set_rng_state

log = logging.getLogger(__name__)

SMOOTHING_WINDOW = 100  # Tianshou's MovAvg size for smoothed_loss
Evaluator = Callable[[Callable[[np.ndarray], np.ndarray]], EvalResult]
ScoreFn = Callable[[np.ndarray], np.ndarray]
#: Called after each evaluation with the step and the ``eval/*`` metrics just logged (e.g.
#: ``imitation_lab.hpo.TrialReporter``); whatever it raises stops training and leaves ``fit``.
EvalHook = Callable[[int, dict[str, float]], None]


@dataclass
class TrainerSettings:
    """What ``trainer.*`` in the config sets."""

    steps: int = 10_000
    batch_size: int = 256
    log_every: int = 100
    eval_every: int = 2_500
    eval_episodes: int = 10
    checkpoint_every: int = 2_500
    resume: bool = False
    progress: bool = True
    seed: int = 0


class Trainer:
    """Fits an ``ImitationPolicy`` on ``OfflineData`` by uniform minibatch sampling."""

    def __init__(
        self,
        policy: ImitationPolicy,
        data: OfflineData,
        run_dir: Path,
        settings: TrainerSettings,
        *,
        normalizer: ObsNormalizer,
        logger: Logger,
        evaluator: Evaluator | None = None,
        score_fn: ScoreFn | None = None,
        metadata: dict[str, Any] | None = None,
        training_tensors: tuple[torch.Tensor, torch.Tensor] | None = None,
        eval_hook: EvalHook | None = None,
    ) -> None:
        self.policy = policy
        self.eval_hook = eval_hook
        self.settings = settings
        self.normalizer = normalizer
        self.logger = logger
        self.evaluator = evaluator
        self.score_fn = score_fn
        self.metadata = metadata or {}
        self.run_dir = Path(run_dir)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.device = next(policy.parameters()).device
        # K seeds in one process share one copy of the (normalized) dataset
        self.train_obs, self.train_act = training_tensors or self._training_tensors(data)
        self.sampler = torch.Generator(device="cpu").manual_seed(settings.seed)
        self.step = 0
        self.best_score = -math.inf
        self.last_eval: dict[str, float] = {}
        self.loss_window: deque[float] = deque(maxlen=SMOOTHING_WINDOW)
        self._idx = torch.empty(settings.batch_size, dtype=torch.long)
        self._interval = _Interval()

    # ------------------------------------------------------------------ data
    def _training_tensors(self, data: OfflineData) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized observations and the targets ``learn`` compares the raw output with.

        With ``action_scaling`` the dataset's env-unit actions are mapped back into [-1, 1]
        (the linear part of ``map_action_inverse``), once, for the whole dataset.
        """
        with torch.no_grad():
            obs = self.normalizer(data.obs).to(self.device).contiguous()
        act = data.act
        if self.policy.action_scaling:
            assert isinstance(self.policy.action_space, gym.spaces.Box)
            act = unscale_action(act, self.policy.action_space).float()
        return obs, act.to(self.device).contiguous()

    def _sample(self) -> Batch:
        """A uniform minibatch; the indices go into a preallocated buffer (no per-step alloc)."""
        idx = torch.randint(
            len(self.train_obs), (self.settings.batch_size,), generator=self.sampler, out=self._idx
        )
        if idx.device != self.device:
            idx = idx.to(self.device)
        return Batch(obs=self.train_obs[idx], act=self.train_act[idx], info={})

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic env actions for a batch of raw env observations."""
        obs_t = self.normalizer(torch.as_tensor(obs, dtype=torch.float32, device=self.device))
        action = self.policy.map_action(self.policy(Batch(obs=obs_t, info={})).act)
        if isinstance(action, torch.Tensor):
            action = action.cpu().numpy()
        return action

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict[str, float]:
        """Train to ``settings.steps``; returns the final summary metrics."""
        settings = self.settings
        self.begin()
        bar = progress_bar(settings, self.step)
        try:
            while self.step < settings.steps:
                stats = self.policy.update(self._sample())
                logged = self.record_update(stats.loss, stats.train_time)
                if logged is not None:
                    update_bar(bar, logged)
                self.end_of_step()
            self.finish()
        finally:
            bar.close()
        return self.summary()

    def begin(self) -> None:
        """Before the loop: resume when asked, train mode, start the first logging interval."""
        if self.settings.resume:
            self._resume()
        self.policy.train()
        self._interval = _Interval()

    def record_update(self, loss: float, train_time: float) -> dict[str, float] | None:
        """Count one gradient step: divergence check, loss window, ``train/*`` when due.

        O(1) per step: the moving average and the interval means are computed only when
        logging. Returns the logged metrics, or None when this step does not log.
        """
        self.step += 1
        if not math.isfinite(loss):
            self._diverged(loss)
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

    def snapshot_due(self) -> bool:
        """Whether ``end_of_step`` will read the policy's weights (evaluation or checkpoint)."""
        at_end = self.step == self.settings.steps
        return (
            at_end
            or self._due(self.settings.eval_every)
            or self._due(self.settings.checkpoint_every)
        )

    def end_of_step(self) -> None:
        """Evaluate and checkpoint when due (and always at the last step)."""
        at_end = self.step == self.settings.steps
        if self._due(self.settings.eval_every) or at_end:
            self._evaluate()
        if self._due(self.settings.checkpoint_every) or at_end:
            self.save("last.pt")

    def finish(self) -> None:
        """After the loop: a run with no evaluation yet (steps=0, resumed at the end) gets one."""
        if self.settings.steps == self.step and not self.last_eval:
            self._evaluate()

    def _due(self, every: int) -> bool:
        return every > 0 and self.step % every == 0

    def _diverged(self, loss: float) -> None:
        self.logger.log({"train/loss": loss}, self.step)
        raise self._divergence_error(f"Loss became {loss} at step {self.step}")

    def _divergence_error(self, what: str) -> TrainingDivergedError:
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

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self) -> None:
        if self.evaluator is None or self.settings.eval_episodes == 0:
            return
        self.policy.eval()
        result = self.evaluator(self.act)
        self.policy.train()
        metrics = {
            "eval/return_mean": float(result.returns.mean()),
            "eval/return_std": float(result.returns.std()),
            "eval/length_mean": float(result.lengths.mean()),
        }
        if self.score_fn is not None:
            scores = 100.0 * np.asarray(self.score_fn(result.returns), dtype=np.float64)
            score = float(scores.mean())
            metrics["eval/normalized_score"] = score
            metrics["eval/normalized_score_std"] = float(scores.std())
            if score > self.best_score:
                self.best_score = score
                self.save("best.pt")
            metrics["eval/best_normalized_score"] = self.best_score
        self.last_eval = metrics
        self.logger.log(metrics, self.step)
        log.info(
            "step %d: %s",
            self.step,
            ", ".join(f"{k.split('/')[1]}={v:.2f}" for k, v in metrics.items()),
        )
        if self.eval_hook is not None:
            self.eval_hook(self.step, metrics)

    def summary(self) -> dict[str, float]:
        """Last and best evaluation (normalized scores x100) and the final smoothed loss."""
        out = {"step": float(self.step)}
        if self.loss_window:
            out["train/smoothed_loss"] = float(np.mean(self.loss_window))
        out.update({k.replace("eval/", "final/"): v for k, v in self.last_eval.items()})
        if math.isfinite(self.best_score):
            out["best/normalized_score"] = self.best_score
        return out

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        schedulers = self.policy.lr_scheduler
        if schedulers is None:
            schedulers = []
        elif not isinstance(schedulers, list | tuple):
            schedulers = [schedulers]
        return {
            "policy": self.policy.state_dict(),
            "optim": self.policy.optim.state_dict(),
            "schedulers": [s.state_dict() for s in schedulers],
            "normalizer": self.normalizer.state_dict(),
            "step": self.step,
            "best_score": self.best_score,
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
            raise self._divergence_error(
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
        _check_same_setup(state.get("metadata") or {}, self.metadata, source)
        try:
            self.policy.load_state_dict(state["policy"])
            self.normalizer.load_state_dict(state["normalizer"])
            self.policy.optim.load_state_dict(state["optim"])
            schedulers = self.policy.lr_scheduler
            if schedulers is not None:
                schedulers = schedulers if isinstance(schedulers, list | tuple) else [schedulers]
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
# Parts of the run's metadata a resumed run must share with its checkpoint (dotted paths).
# The optimizer and scheduler states are restored from the checkpoint, so a changed lr or
# schedule would be silently ignored: refuse it instead.
RESUME_MUST_MATCH = (
    "dataset_id",
    "dataset_info.dataset_version",  # a rebuilt/other dataset under the same id
    "dataset_info.total_episodes",  # (not content_key: it hashes mtimes, copies would differ)
    "dataset_info.total_steps",
    "config.actor",
    "config.optim",
    "config.scheduler",
    "config.bounding",
    "config.dataset.normalize_obs",
)


def _check_same_setup(saved: dict[str, Any], current: dict[str, Any], source: Path) -> None:
    """Raise ``CheckpointError`` naming every setting where checkpoint and run disagree."""
    saved_flat, current_flat = _flatten(saved), _flatten(current)
    diffs = [
        f"{key.removeprefix('config.')}: checkpoint {saved_flat[key]!r}, now {current_flat[key]!r}"
        for key in sorted(saved_flat.keys() & current_flat.keys())
        if key.startswith(RESUME_MUST_MATCH) and saved_flat[key] != current_flat[key]
    ]
    if diffs:
        raise CheckpointError(
            f"Checkpoint {source} was written with a different setup ({'; '.join(diffs)}). "
            "Resume with the config and data it was trained with (see .hydra/config.yaml) "
            "or start a new run in a new dir."
        )


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return out


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


def progress_bar(settings: TrainerSettings, initial: int) -> tqdm:
    """The training progress bar (quiet when disabled or stderr is not a TTY)."""
    return tqdm(
        total=settings.steps,
        initial=initial,
        disable=not settings.progress or None,
        desc="train",
        dynamic_ncols=True,
    )


def update_bar(bar: tqdm, logged: dict[str, float]) -> None:
    bar.update(int(logged["steps"]))
    bar.set_postfix(
        loss=f"{logged['train/smoothed_loss']:.4g}", sps=f"{logged['train/steps_per_sec']:.0f}"
    )
