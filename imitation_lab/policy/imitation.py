"""``ImitationPolicy`` with the semantics of Tianshou 1.x ``tianshou.policy.ImitationPolicy``.

Same constructor, ``forward``, ``learn``, ``update``, ``map_action`` and ``map_action_inverse``
as Tianshou 1.1/1.2 (``tianshou/policy/imitation/base.py`` and ``tianshou/policy/base.py``), so
the same weights and inputs give the same numbers. Two deliberate differences:

* ``update(batch)`` takes the already sampled minibatch: the trainer owns sampling.
* ``learn`` rejects a continuous target whose shape differs from the actor output. ``F.mse_loss``
  would silently broadcast ``(B,)`` against ``(B, 1)`` into a ``(B, B)`` loss.

Beside Tianshou's behaviour (``head=None``, the default and exactly Tianshou's), an action
``head`` (``imitation_lab.policy.heads``) may read the actor's output as a distribution's
parameters: ``forward`` then returns them as ``logits`` and the head's mode or sample as
``act``, and ``learn`` minimizes the head's loss (its negative log-likelihood).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from imitation_lab.data.batch import Batch
from imitation_lab.policy import bounding
from imitation_lab.policy.heads import ActionHead
from imitation_lab.policy.losses import bc_loss

ActionBoundMethod = Literal["clip", "tanh"] | None
ActionType = Literal["discrete", "continuous"]


class Actor(Protocol):
    """Tianshou's model protocol: ``actor(obs, state=None, info={}) -> (logits, state)``."""

    def __call__(
        self, obs: Any, state: Any = None, info: Any = None
    ) -> tuple[torch.Tensor, Any]: ...


@dataclass(kw_only=True)
class TrainingStats:
    """Statistics of one ``update`` call (Tianshou's ``TrainingStats``)."""

    _non_loss_fields: ClassVar[tuple[str, ...]] = ("train_time", "smoothed_loss")

    train_time: float = 0.0
    """Wall time of the update in seconds."""
    smoothed_loss: dict[str, float] = field(default_factory=dict)
    """Moving average (last 100 updates) of each loss, filled by the trainer."""

    def get_loss_stats_dict(self) -> dict[str, float]:
        """All loss fields (everything but ``train_time``/``smoothed_loss``/None)."""
        return {
            key: value
            for key, value in self.__dict__.items()
            if not key.startswith("_") and value is not None and key not in self._non_loss_fields
        }


@dataclass(kw_only=True)
class ImitationTrainingStats(TrainingStats):
    """``TrainingStats`` plus the imitation loss (MSE or NLL)."""

    loss: float = 0.0


def action_type_of(action_space: gym.Space) -> ActionType:
    """Tianshou's rule: Discrete/MultiDiscrete/MultiBinary are discrete, Box is continuous."""
    if isinstance(
        action_space, gym.spaces.Discrete | gym.spaces.MultiDiscrete | gym.spaces.MultiBinary
    ):
        return "discrete"
    if isinstance(action_space, gym.spaces.Box):
        return "continuous"
    raise ValueError(f"Unsupported action space: {action_space}.")


def _to_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    return np.asanyarray(value)


class ImitationPolicy(nn.Module):
    """Behaviour cloning: MSE regression (continuous) or NLL classification (discrete)."""

    def __init__(
        self,
        *,
        actor: nn.Module,
        optim: torch.optim.Optimizer,
        action_space: gym.Space,
        observation_space: gym.Space | None = None,
        action_scaling: bool = False,
        action_bound_method: ActionBoundMethod = "clip",
        lr_scheduler: LRScheduler | Sequence[LRScheduler] | None = None,
        train_through_bound: bool = False,
        head: ActionHead | None = None,
    ) -> None:
        super().__init__()
        bounding.check_method(action_bound_method)
        if train_through_bound and not bounding.trainable_through(action_bound_method):
            raise ValueError(
                f"train_through_bound=True needs action_bound_method='tanh' (a differentiable "
                f"bound), got {action_bound_method!r}."
            )
        if action_scaling and not isinstance(action_space, gym.spaces.Box):
            raise ValueError(
                f"action_scaling can only be True when action_space is Box but got: {action_space}"
            )
        self.action_type: ActionType = action_type_of(action_space)
        self.action_space = action_space
        self.observation_space = observation_space
        self.action_scaling = action_scaling
        self.action_bound_method = action_bound_method
        self.lr_scheduler = lr_scheduler
        # Not in Tianshou: the loss compares tanh(output) with the target (tanh_squash).
        self.train_through_bound = train_through_bound
        if head is not None and not isinstance(action_space, gym.spaces.Box):
            raise ValueError(
                f"{type(head).__name__} is an action head for continuous (Box) actions, but the "
                f"action space is {action_space}: discrete actions keep their categorical."
            )
        self.actor = actor
        self.head = head
        self.optim = optim
        self.updating = False
        #: draws of ``head.act=sample`` (reseeded per evaluation: ``reseed_actions``)
        self.act_generator = torch.Generator(device="cpu").manual_seed(0)

    # ------------------------------------------------------------------ inference
    def forward(self, batch: Batch, state: Any = None, **kwargs: Any) -> Batch:
        """Raw actor output; ``act`` is the argmax (discrete), the output itself, or (with a
        head) the head's mode or sample, the output being its distribution's parameters."""
        logits, hidden = self.actor(batch.obs, state=state, info=batch.get("info", {}))
        if self.head is not None:
            act = self.head.act(logits, self.act_generator)
        else:
            act = logits.argmax(dim=1) if self.action_type == "discrete" else logits
        return Batch(logits=logits, act=act, state=hidden)

    def reseed_actions(self, seed: int) -> None:
        """Restart the draws of ``head.act=sample`` (each evaluation from its seed)."""
        self.act_generator.manual_seed(int(seed))

    # ------------------------------------------------------------------ training
    def learn(self, batch: Batch, *args: Any, **kwargs: Any) -> ImitationTrainingStats:
        """One gradient step on ``batch`` (``obs`` and target ``act``)."""
        self.optim.zero_grad()
        if self.head is not None:
            return self._learn_head(batch)
        if self.action_type == "continuous":
            output = self(batch).act
            target = torch.as_tensor(batch.act, dtype=torch.float32, device=output.device)
        else:
            output = self(batch).logits
            target = torch.as_tensor(batch.act, dtype=torch.long, device=output.device)
        loss = bc_loss(
            output, target, discrete=self.action_type == "discrete", through=self.loss_bound
        )
        loss.backward()
        self.optim.step()
        return ImitationTrainingStats(loss=loss.item())

    @torch.no_grad()
    def evaluation_loss(self, obs: Any, act: torch.Tensor) -> torch.Tensor:
        """The loss ``learn`` minimizes, on ``obs``/``act`` without a gradient step (the
        validation loss of held-out data; eval mode)."""
        was_training = self.training
        self.eval()
        try:
            if self.head is not None:
                params, _ = self.actor(obs, state=None, info={})
                target = torch.as_tensor(act, dtype=torch.float32, device=params.device)
                return self.head.loss(params, target, self.loss_bound).mean()
            discrete = self.action_type == "discrete"
            output = self(Batch(obs=obs, info={}))
            output = output.logits if discrete else output.act
            dtype = torch.long if discrete else torch.float32
            target = torch.as_tensor(act, dtype=dtype, device=output.device)
            return bc_loss(output, target, discrete=discrete, through=self.loss_bound)
        finally:
            self.train(was_training)

    def _learn_head(self, batch: Batch) -> ImitationTrainingStats:
        """The head's loss of the actor's output (no action is drawn while learning)."""
        assert self.head is not None
        params, _ = self.actor(batch.obs, state=None, info=batch.get("info", {}))
        target = torch.as_tensor(batch.act, dtype=torch.float32, device=params.device)
        expected = self.head.target_shape(params)
        if tuple(target.shape) != expected:
            raise ValueError(
                f"Continuous action targets have shape {tuple(target.shape)} but the head needs "
                f"{expected}. Reshape the dataset actions to (batch, action_dim)."
            )
        loss = self.head.loss(params, target, self.loss_bound).mean()
        loss.backward()
        self.optim.step()
        return ImitationTrainingStats(loss=loss.item())

    @property
    def loss_bound(self) -> str | None:
        """The bound the loss is taken through (``train_through_bound``), else None."""
        return self.action_bound_method if self.train_through_bound else None

    def update(self, batch: Batch, **kwargs: Any) -> ImitationTrainingStats:
        """``learn`` on a sampled minibatch, step the scheduler(s) once, fill ``train_time``."""
        start_time = time.time()
        self.updating = True
        was_training = self.training
        self.train(True)  # Tianshou's ``torch_train_mode``: learn always runs in train mode
        try:
            stats = self.learn(batch, **kwargs)
        finally:
            self.train(was_training)
            self.updating = False
        self.step_lr_scheduler()
        stats.train_time = time.time() - start_time
        return stats

    def step_lr_scheduler(self) -> None:
        """Step the scheduler, or each scheduler of a sequence in order."""
        if self.lr_scheduler is None:
            return
        if isinstance(self.lr_scheduler, Sequence):
            for scheduler in self.lr_scheduler:
                scheduler.step()
        else:
            self.lr_scheduler.step()

    # ------------------------------------------------------------------ env interface
    def map_action(self, act: Any) -> Any:
        """Map a raw output to the env's action range: bound (clip/tanh), then scale.

        Always returns numpy (Tianshou converts before looking at the space).
        """
        return bounding.to_env(
            _to_numpy(act), self.action_space, self.action_bound_method, self.action_scaling
        )

    def map_action_inverse(self, act: Any) -> Any:
        """Inverse of ``map_action``: undo the scaling, then ``atanh`` for tanh."""
        return bounding.from_env(
            _to_numpy(act), self.action_space, self.action_bound_method, self.action_scaling
        )
