"""Who takes the gradient steps of a group of K members: one policy, or K stacked ones.

* ``PolicyLearner`` (K = 1) calls ``ImitationPolicy.update`` itself, so a single run keeps
  Tianshou's numbers exactly.
* ``StackedLearner`` (K >= 2) trains K MLP policies as one ``StackedMLP`` with one
  ``StackedOptimizer`` step; each member keeps its own seed, learning rate (and schedule),
  weight decay, optimizer scalars and bounding. The loss it back-propagates is the sum of the
  K members' losses, so each member's gradient is its own loss's gradient.

Both move per-member state in and out of the members' own ``ImitationPolicy`` objects
(``read_from`` / ``write_back``), so evaluation, checkpoints and resume are the same code for
every K, and checkpoints keep the single-run format. With ``trainer.ema_decay`` they also step
the members' weight averages (``WeightAverage``) after every update; ``acting_weights()``
puts the averages in place for evaluation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from imitation_lab.actors import MLPActor
from imitation_lab.data.batch import Batch
from imitation_lab.data.obs import tree_map
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.policy.losses import bc_loss
from imitation_lab.training.ema import WeightAverage
from imitation_lab.training.stacked import StackedMLP
from imitation_lab.training.stacked_optim import StackedOptimizer


class Learner(Protocol):
    """One gradient step for K members on K minibatches; their actions for evaluation."""

    policies: list[ImitationPolicy]

    def read_from(self, step: int) -> None:
        """Load the learner from the members' policies (all at training step ``step``)."""

    def update(self, obs: Any, act: torch.Tensor) -> tuple[list[float], float]:
        """``obs`` ``[K, B, ...]``, targets ``[K, B, ...]`` -> (the K losses, wall seconds)."""
        ...

    def write_back(self) -> None:
        """Copy each member's weights, optimizer and scheduler state into its policy."""

    def act(self, obs: Any) -> torch.Tensor:
        """Deterministic raw actions ``[K, N, ...]`` (discrete: argmax) for ``obs [K, N, ...]``."""
        ...

    def acting_weights(self) -> contextlib.AbstractContextManager[None]:
        """Inside the block ``act`` uses the weights the members act with (their averages)."""
        ...

    def compile(self, mode: str) -> None:
        """``torch.compile`` the network the steps run (``trainer.compile``)."""
        ...


class PolicyLearner:
    """K = 1: ``ImitationPolicy.update`` on the member's own minibatch (Tianshou-exact)."""

    def __init__(self, policy: ImitationPolicy, ema: WeightAverage | None = None) -> None:
        self.policies = [policy]
        self.ema = ema  # over the policy's own parameters

    def read_from(self, step: int) -> None:
        pass  # the policy is the learner

    def compile(self, mode: str) -> None:
        self.policies[0].actor.compile(mode=mode)  # in place: state_dict keys unchanged

    def update(self, obs: Any, act: torch.Tensor) -> tuple[list[float], float]:
        stats = self.policies[0].update(Batch(obs=_member(obs, 0), act=act[0], info={}))
        if self.ema is not None:
            self.ema.update()
        return [stats.loss], stats.train_time

    def acting_weights(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext() if self.ema is None else self.ema.swapped()

    def write_back(self) -> None:
        pass

    @torch.no_grad()
    def act(self, obs: Any) -> torch.Tensor:
        policy = self.policies[0]
        was_training = policy.training
        policy.eval()
        try:
            return policy(Batch(obs=_member(obs, 0), info={})).act.unsqueeze(0)
        finally:
            policy.train(was_training)


class StackedLearner:
    """K >= 2 MLP policies (one architecture) trained as one stacked model."""

    def __init__(
        self, policies: Sequence[ImitationPolicy], emas: Sequence[WeightAverage] | None = None
    ) -> None:
        first = policies[0]
        for policy in policies:
            if not isinstance(policy.actor, MLPActor):
                raise ValueError(
                    f"Members trained in one process need actor=mlp (MLPActor); got "
                    f"{type(policy.actor).__name__}. Run them as separate jobs instead."
                )
            if policy.action_type != first.action_type:
                raise ValueError("Members trained together need one action space type.")
            if type(policy.head) is not type(first.head):
                raise ValueError("Members trained together need one action head.")
        if first.head is not None and not first.head.stackable:
            raise ValueError(
                f"head={first.head.name} does not stack (a network beside the actor): run the "
                "members as separate jobs."
            )
        self.policies = list(policies)
        self.head = first.head  # its kind is every member's; its parameters are in the actor
        self.heads = list(enumerate(self.policies))
        self.discrete = first.action_type == "discrete"
        bounds = [policy.loss_bound for policy in policies]
        self.loss_bounds = None if all(b is None for b in bounds) else bounds
        self.model = StackedMLP([policy.actor for policy in policies])  # type: ignore[misc]
        self.optim = StackedOptimizer(self.model, [policy.optim for policy in policies])
        self.scheduled = [p for p in policies if p.lr_scheduler is not None]
        for policy in self.scheduled:  # their schedulers step without optim.step(): no warning
            policy.optim._opt_called = True  # type: ignore[attr-defined]
        self._checked_grads = False
        self.member_emas = list(emas) if emas else None
        self.ema: WeightAverage | None = None  # over the flat [K, P] buffer, from read_from

    @property
    def num_members(self) -> int:
        return len(self.policies)

    def compile(self, mode: str) -> None:
        self.model.compile(mode=mode)

    def read_from(self, step: int) -> None:
        self.model.load_members([policy.actor.state_dict() for policy in self.policies])
        self.optim.read_from(step)
        if self.member_emas is not None:  # one average of the stacked buffer: per member
            first = self.member_emas[0]
            if len(first.shadow) != len(self.model.slots):
                raise ValueError("A stacked weight average covers the actors' parameters only.")
            self.ema = WeightAverage([self.model.flat], first.decay)
            self.ema.load([self.model.join([e.shadow for e in self.member_emas])], first.updates)

    def _input(self, obs: Any) -> torch.Tensor:
        """``[K, B, obs_dim]`` floats: the members' shared flatten/one-hot/scale step first."""
        actor = self.policies[0].actor
        assert isinstance(actor, MLPActor)
        return obs if actor.flatten is None else actor.preprocess(obs)

    def update(self, obs: Any, act: torch.Tensor) -> tuple[list[float], float]:
        start = time.perf_counter()
        self.model.zero_grad_()
        output = self.model(self._input(obs))
        if self.head is not None:  # each member's own head (its range, its bound)
            losses = torch.stack(
                [p.head.loss(output[k], act[k], p.loss_bound).mean() for k, p in self.heads]
            )
        else:
            losses = bc_loss(output, act, discrete=self.discrete, through=self.loss_bounds)
        losses.sum().backward()
        if not self._checked_grads:  # the optimizer reads flat_grad: autograd must write there
            if not self.model.grads_in_flat():
                raise RuntimeError("Gradients left the stacked buffer (torch changed?).")
            self._checked_grads = True
        self.optim.step()
        if self.ema is not None:
            self.ema.update()
        for policy in self.scheduled:  # each member's own schedule, as its single run steps it
            policy.step_lr_scheduler()
        values = losses.detach().tolist()
        return values, time.perf_counter() - start

    def write_back(self) -> None:
        for k, policy in enumerate(self.policies):
            policy.actor.load_state_dict(self.model.member_state_dict(k))
        self.optim.write_back()
        if self.ema is not None and self.member_emas is not None:
            for k, member_ema in enumerate(self.member_emas):
                member_ema.load(self.model.split(self.ema.shadow[0], k), self.ema.updates)

    def acting_weights(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext() if self.ema is None else self.ema.swapped()

    @torch.no_grad()
    def act(self, obs: Any) -> torch.Tensor:
        output = self.model(self._input(obs))
        if self.head is not None:  # each member draws from its own generator, as alone
            return torch.stack([p.head.act(output[k], p.act_generator) for k, p in self.heads])
        return output.argmax(dim=-1) if self.discrete else output


def _member(obs: Any, k: int) -> Any:
    """Member ``k``'s rows of a ``[K, ...]`` observation (tensor or tree)."""
    return obs[k] if isinstance(obs, torch.Tensor) else tree_map(lambda t: t[k], obs)


def make_learner(
    policies: Sequence[ImitationPolicy], emas: Sequence[WeightAverage | None] | None = None
) -> Learner:
    """``PolicyLearner`` for one member, ``StackedLearner`` for several; ``emas``: each
    member's weight average (``trainer.ema_decay``; all or none)."""
    averages = [e for e in emas or () if e is not None]
    if len(policies) == 1:
        return PolicyLearner(policies[0], averages[0] if averages else None)
    return StackedLearner(policies, averages or None)
