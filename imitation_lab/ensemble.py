"""K behaviour-cloning policies trained as one: stacked parameters and batched matmuls.

``EnsembleMLP`` stacks the parameters of K ``MLPActor``s (same architecture, their own
init) along a leading seed axis and runs all K forward/backward passes with ``torch.baddbmm``.
``EnsembleLearner`` takes one optimizer step for all K on K minibatches. The loss it
back-propagates is the *sum* of the K per-seed losses, so each seed's gradient is exactly its
own loss's gradient; with an elementwise optimizer (Adam, AdamW, SGD with momentum) and one
shared learning-rate schedule, each seed's trajectory is the one a single run with that seed
takes (to float rounding: a batched matmul sums in another order than a plain one).

Per-seed state moves between the ensemble and K ordinary ``ImitationPolicy`` objects
(``write_back`` / ``read_from``), so evaluation, checkpoints and resume use the single-run
code and single-run checkpoint format.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from imitation_lab.actors import MLPActor
from imitation_lab.policy import ImitationPolicy

SchedulerFactory = Callable[[torch.optim.Optimizer], LRScheduler | None]


class EnsembleLinear(nn.Module):
    """K ``nn.Linear`` layers: ``weight`` ``[K, out, in]``, ``bias`` ``[K, out]``."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[K, B, in]`` -> ``[K, B, out]``."""
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


class EnsembleLayerNorm(nn.Module):
    """K ``nn.LayerNorm`` layers over the last dimension, each with its own affine."""

    def __init__(self, layers: Sequence[nn.LayerNorm]) -> None:
        super().__init__()
        first = layers[0]
        self.normalized_shape = tuple(first.normalized_shape)
        self.eps = first.eps
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normalized = F.layer_norm(x, self.normalized_shape, eps=self.eps)
        return torch.addcmul(self.bias.unsqueeze(1), normalized, self.weight.unsqueeze(1))


class EnsembleMLP(nn.Module):
    """K ``MLPActor``s as one module; ``state_dict`` keys match ``MLPActor``'s, with a K axis."""

    def __init__(self, members: Sequence[MLPActor]) -> None:
        super().__init__()
        if not members:
            raise ValueError("EnsembleMLP needs at least one member.")
        reference = _architecture(members[0])
        for member in members[1:]:
            if _architecture(member) != reference:
                raise ValueError("EnsembleMLP members must share one architecture.")
        layers: list[nn.Module] = []
        for index, module in enumerate(members[0].net):
            same = [member.net[index] for member in members]
            if isinstance(module, nn.Linear):
                layers.append(EnsembleLinear(same))  # type: ignore[arg-type]
            elif isinstance(module, nn.LayerNorm):
                layers.append(EnsembleLayerNorm(same))  # type: ignore[arg-type]
            elif next(module.parameters(), None) is None:
                layers.append(module)  # an elementwise activation works on [K, B, width]
            else:
                raise ValueError(f"EnsembleMLP cannot batch a {type(module).__name__} layer.")
        self.net = nn.Sequential(*layers)
        self.num_members = len(members)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` ``[K, B, obs_dim]`` -> raw outputs ``[K, B, act_dim]``."""
        return self.net(obs)

    def member_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member ``k``'s weights as an ``MLPActor.state_dict()``."""
        return {key: value[k].clone() for key, value in self.state_dict().items()}

    @torch.no_grad()
    def load_members(self, states: Sequence[dict[str, torch.Tensor]]) -> None:
        """Overwrite every member's weights with ``MLPActor`` state dicts, in member order."""
        for key, value in self.state_dict().items():
            value.copy_(torch.stack([state[key] for state in states]))


def _architecture(actor: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in actor.state_dict().items()] + [
        (type(m).__name__, ()) for m in actor.modules()
    ]


class EnsembleLearner:
    """One gradient step for K ``ImitationPolicy``s at once (``learn``'s loss, per seed).

    The K policies must be MLP policies with the same architecture, bounding and optimizer
    settings; their own optimizers and schedulers are not stepped here but receive this
    learner's per-seed state on ``write_back`` (for checkpoints).
    """

    def __init__(
        self,
        policies: Sequence[ImitationPolicy],
        scheduler_factory: SchedulerFactory | None = None,
    ) -> None:
        first = policies[0]
        for policy in policies:
            if not isinstance(policy.actor, MLPActor):
                raise ValueError(
                    f"Several seeds in one process need actor=mlp (MLPActor); got "
                    f"{type(policy.actor).__name__}. Run the seeds as separate jobs instead."
                )
            same = (
                type(policy.optim) is type(first.optim)
                and policy.optim.defaults == first.optim.defaults
                and policy.action_type == first.action_type
                and policy.train_through_bound == first.train_through_bound
            )
            if not same:
                raise ValueError("All policies of an ensemble need the same optimizer and loss.")
        self.policies = list(policies)
        self.discrete = first.action_type == "discrete"
        self.train_through_bound = first.train_through_bound
        self.model = EnsembleMLP([policy.actor for policy in policies])  # type: ignore[misc]
        self.optim = _same_optimizer(first.optim, self.model.parameters())
        self.lr_scheduler = scheduler_factory(self.optim) if scheduler_factory else None

    @property
    def num_members(self) -> int:
        return len(self.policies)

    def update(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """One step on K minibatches (``obs`` ``[K, B, d]``); returns the K losses (detached).

        Continuous: each seed's ``F.mse_loss`` (on ``tanh(output)`` with ``tanh_squash``).
        Discrete: each seed's ``F.nll_loss(log_softmax(logits))``.
        """
        self.optim.zero_grad()
        out = self.model(obs)
        if self.discrete:
            log_probs = F.log_softmax(out, dim=-1)
            losses = -log_probs.gather(-1, act.unsqueeze(-1)).squeeze(-1).mean(dim=1)
        else:
            if act.shape != out.shape:  # as ``learn``: never let a (K, B) target broadcast
                raise ValueError(
                    f"Continuous action targets have shape {tuple(act.shape)} but the actors "
                    f"output {tuple(out.shape)}. Reshape the dataset actions to "
                    "(batch, action_dim)."
                )
            if self.train_through_bound:
                out = torch.tanh(out)
            losses = (out - act).square().flatten(1).mean(dim=1)
        losses.sum().backward()
        self.optim.step()
        if self.lr_scheduler is not None:
            self.lr_scheduler.step()
        return losses.detach()

    def timed_update(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[list[float], float]:
        """``update`` plus host-side losses and the wall time of the step."""
        start = time.perf_counter()
        losses = self.update(obs, act).tolist()
        return losses, time.perf_counter() - start

    # ------------------------------------------------------------------ per-seed state
    def write_back(self) -> None:
        """Copy each seed's weights, optimizer state and schedule into its own policy."""
        optim_state = self.optim.state_dict()
        shapes = [p.shape for p in self.model.parameters()]
        sched_state = self.lr_scheduler.state_dict() if self.lr_scheduler is not None else None
        for k, policy in enumerate(self.policies):
            policy.actor.load_state_dict(self.model.member_state_dict(k))
            policy.optim.load_state_dict(_slice_optim_state(optim_state, shapes, k))
            for scheduler in _schedulers(policy):
                if sched_state is not None:
                    scheduler.load_state_dict(sched_state)

    def read_from(self) -> None:
        """Load the ensemble from the K policies (e.g. after each resumed its checkpoint)."""
        self.model.load_members([policy.actor.state_dict() for policy in self.policies])
        states = [policy.optim.state_dict() for policy in self.policies]
        if any(state["state"] for state in states):
            shapes = [p.shape for p in self.model.parameters()]
            self.optim.load_state_dict(_stack_optim_states(states, shapes))
        schedulers = _schedulers(self.policies[0])
        if self.lr_scheduler is not None and schedulers:
            self.lr_scheduler.load_state_dict(schedulers[0].state_dict())


def _same_optimizer(
    optim: torch.optim.Optimizer, params: Iterable[nn.Parameter]
) -> torch.optim.Optimizer:
    """An optimizer of ``optim``'s class and settings over ``params``."""
    accepted = inspect.signature(type(optim).__init__).parameters
    settings = {k: v for k, v in optim.defaults.items() if k in accepted}
    return type(optim)(params, **settings)


def _schedulers(policy: ImitationPolicy) -> list[LRScheduler]:
    schedulers = policy.lr_scheduler
    if schedulers is None:
        return []
    return list(schedulers) if isinstance(schedulers, Sequence) else [schedulers]


def _slice_optim_state(
    state: dict[str, Any], shapes: Sequence[torch.Size], k: int
) -> dict[str, Any]:
    """Seed ``k``'s part of an ensemble optimizer state dict (a single-policy state dict)."""
    per_param: dict[int, dict[str, Any]] = {}
    for index, param_state in state["state"].items():
        shape = shapes[index]
        per_param[index] = {
            key: value[k].clone()
            if isinstance(value, torch.Tensor) and value.shape == shape
            else (value.clone() if isinstance(value, torch.Tensor) else value)
            for key, value in param_state.items()
        }
    return {"state": per_param, "param_groups": [dict(g) for g in state["param_groups"]]}


def _stack_optim_states(
    states: Sequence[dict[str, Any]], shapes: Sequence[torch.Size]
) -> dict[str, Any]:
    """The inverse of ``_slice_optim_state``: K single-policy states -> one ensemble state."""
    first = states[0]
    stacked: dict[int, dict[str, Any]] = {}
    for index, param_state in first["state"].items():
        member_shape = shapes[index][1:]
        entry: dict[str, Any] = {}
        for key, value in param_state.items():
            values = [state["state"][index][key] for state in states]
            if isinstance(value, torch.Tensor) and value.shape == member_shape:
                entry[key] = torch.stack(values)
            else:
                if any(not _same(v, value) for v in values):
                    raise ValueError(
                        f"Seeds disagree on optimizer state {key!r}: resume them from "
                        "checkpoints written at the same step."
                    )
                entry[key] = value
        stacked[index] = entry
    return {"state": stacked, "param_groups": [dict(g) for g in first["param_groups"]]}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return bool(torch.equal(a, b))
    return a == b
