"""Acting with action chunks (``head.chunk=H``): one action per env step from chunks of ``H``.

``policy.execute=chunk`` plays a chunk's ``H`` actions, then asks for the next chunk (ACT's and
LeRobot's default). ``policy.execute=temporal_ensemble`` asks for a chunk at every step and
plays, for step ``t``, the weighted mean of every prediction made for ``t`` by the chunks of
steps ``t-H+1 .. t``, weights ``exp(-m * i)`` with ``i = 0`` the oldest prediction and
``m = policy.ensemble_decay`` (ACT, Zhao et al. 2023; LeRobot's ``ACTTemporalEnsembler``).

The executor is what ``rollout`` steps: ``__call__(obs) -> actions`` and ``reset(mask)`` at each
env's episode start, so each env of a vector env keeps its own plan.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

#: observations of N envs -> their chunks ``[N, H, act_dim]`` (env units)
ChunkFn = Callable[[Any], np.ndarray]


class ChunkExecutor:
    """Per-env plans of action chunks; ``execute`` is ``chunk`` or ``temporal_ensemble``."""

    def __init__(self, chunk_fn: ChunkFn, chunk: int, execute: str, ensemble_decay: float) -> None:
        if execute not in ("chunk", "temporal_ensemble"):
            raise ValueError(f"policy.execute must be chunk or temporal_ensemble, got {execute}")
        self.chunk_fn = chunk_fn
        self.chunk = int(chunk)
        self.execute = execute
        self.weights = np.exp(-float(ensemble_decay) * np.arange(self.chunk))
        self._plans: list[deque[np.ndarray]] = []

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Forget the plans of the envs in ``mask`` (all with None): their episodes restart."""
        for i in range(len(self._plans)) if mask is None else np.flatnonzero(mask):
            self._plans[i].clear()

    def __call__(self, obs: Any) -> np.ndarray:
        chunks = np.asarray(self.chunk_fn(obs))
        if len(self._plans) != len(chunks):
            self._plans = [deque(maxlen=self.chunk) for _ in range(len(chunks))]
        if self.execute == "chunk":
            return np.stack([self._next_of_plan(i, chunks[i]) for i in range(len(chunks))])
        return np.stack([self._ensemble(i, chunks[i]) for i in range(len(chunks))])

    def _next_of_plan(self, i: int, chunk: np.ndarray) -> np.ndarray:
        plan = self._plans[i]
        if not plan:  # the last chunk is played out: this step's chunk is the new plan
            plan.extend(chunk)
        return plan.popleft()

    def _ensemble(self, i: int, chunk: np.ndarray) -> np.ndarray:
        """The chunks of the last H steps, oldest first; chunk ``j`` steps old predicted this
        step at its index ``j``."""
        history = self._plans[i]
        history.append(chunk)
        n = len(history)
        predictions = np.stack([history[k][n - 1 - k] for k in range(n)])  # oldest first
        weights = self.weights[:n]
        mean = (weights[:, None] * predictions).sum(axis=0) / weights.sum()
        return mean.astype(chunk.dtype, copy=False)


__all__ = ["ChunkExecutor"]
