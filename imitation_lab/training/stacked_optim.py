"""Adam, AdamW and SGD over a ``StackedMLP``'s flat ``[K, P]`` buffer, hyperparameters per member.

Each member keeps its own learning rate, weight decay, betas, eps and momentum (a ``[K, 1]``
column where members differ, a plain float where they agree), so one elementwise step updates
K members that a sweep would have trained as K runs. The arithmetic is torch's own
(``torch.optim.Adam``/``AdamW``/``SGD``, ``foreach`` form; equal to float rounding), and each
member's state converts to and from its own torch optimizer's ``state_dict`` (checkpoints keep
the single-run format).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from imitation_lab.training.stacked import StackedMLP

Column = float | torch.Tensor
#: torch's fused Adam kernel (CPU and CUDA since torch 2.4); the elementwise form otherwise
_FUSED_ADAM = getattr(torch, "_fused_adam_", None)
#: what differs between members of one stacked optimizer (everything else must agree)
PER_MEMBER = ("lr", "weight_decay", "betas", "eps", "momentum")


def _column(values: Sequence[float], like: torch.Tensor) -> Column:
    """A float when all members agree, else a ``[K, 1]`` column on ``like``'s device."""
    if all(v == values[0] for v in values):
        return float(values[0])
    return torch.tensor(values, dtype=torch.float64).to(like.device, like.dtype).view(-1, 1)


def optimizer_kind(optim: torch.optim.Optimizer) -> str:
    """``adam``, ``adamw`` or ``sgd``; anything else cannot be stacked."""
    if isinstance(optim, torch.optim.AdamW) or (
        isinstance(optim, torch.optim.Adam) and optim.defaults.get("decoupled_weight_decay")
    ):
        return "adamw"
    if isinstance(optim, torch.optim.Adam):
        return "adam"
    if isinstance(optim, torch.optim.SGD):
        return "sgd"
    raise ValueError(
        f"Members trained together need Adam, AdamW or SGD, got {type(optim).__name__}."
    )


def _fixed_settings(optim: torch.optim.Optimizer) -> dict[str, Any]:
    """The settings that change the code path: they must agree across members."""
    group = optim.param_groups[0]
    keys = ("amsgrad", "maximize", "nesterov", "dampening", "differentiable")
    return {key: group[key] for key in keys if key in group}


class StackedOptimizer:
    """One optimizer step for every member of a ``StackedMLP``."""

    def __init__(self, model: StackedMLP, member_optims: Sequence[torch.optim.Optimizer]) -> None:
        kinds = {optimizer_kind(optim) for optim in member_optims}
        if len(kinds) != 1:
            raise ValueError(f"Members trained together need one optimizer type, got {kinds}.")
        fixed = [_fixed_settings(optim) for optim in member_optims]
        if any(f != fixed[0] for f in fixed):
            raise ValueError(f"Members trained together disagree on optimizer settings {fixed}.")
        if fixed[0].get("amsgrad") or fixed[0].get("maximize") or fixed[0].get("dampening"):
            raise ValueError("Stacked optimizers support neither amsgrad, maximize nor dampening.")
        self.kind = kinds.pop()
        self.nesterov = bool(fixed[0].get("nesterov", False))
        self.model = model
        self.member_optims = list(member_optims)
        flat = model.flat
        groups = [optim.param_groups[0] for optim in member_optims]
        self.weight_decay = _column([g["weight_decay"] for g in groups], flat)
        if self.kind == "sgd":
            self.momentum = _column([g["momentum"] for g in groups], flat)
            self.has_momentum = any(g["momentum"] != 0 for g in groups)
            self.momentum_buffer: torch.Tensor | None = None
        else:
            self.beta1 = _column([g["betas"][0] for g in groups], flat)
            self.beta2 = _column([g["betas"][1] for g in groups], flat)
            self.eps = _column([g["eps"] for g in groups], flat)
            self.exp_avg = torch.zeros_like(flat)
            self.exp_avg_sq = torch.zeros_like(flat)
        self.steps = 0
        self._step_tensors = [torch.zeros((), device=flat.device) for _ in member_optims]

    # ------------------------------------------------------------------ step
    def member_lrs(self) -> list[float]:
        """Each member's current learning rate (its own scheduler updates it)."""
        return [optim.param_groups[0]["lr"] for optim in self.member_optims]

    @torch.no_grad()
    def step(self) -> None:
        """Update ``model.flat`` from ``model.flat_grad`` with each member's hyperparameters."""
        param, grad = self.model.flat, self.model.flat_grad
        lr = _column(self.member_lrs(), param)
        wd = self.weight_decay
        if self.kind == "sgd":
            self._sgd(param, grad, lr, wd)
        else:
            self._adam(param, grad, lr, wd)

    def _adam(self, param: torch.Tensor, grad: torch.Tensor, lr: Column, wd: Column) -> None:
        self.steps += 1
        if _FUSED_ADAM is not None:
            self._fused_adam(param, grad)
            return
        if self.kind == "adam" and _nonzero(wd):
            grad = grad.add(param * wd)
        if self.kind == "adamw" and _nonzero(wd):
            param.mul_(1.0 - lr * wd)
        beta1, beta2 = self.beta1, self.beta2
        self.exp_avg.lerp_(grad, 1.0 - beta1)
        if isinstance(beta2, float):
            self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
        else:
            self.exp_avg_sq.mul_(beta2).add_(grad * grad * (1.0 - beta2))
        bias1 = _bias_correction(beta1, self.steps)
        bias2_sqrt = _bias_correction(beta2, self.steps) ** 0.5
        denom = (self.exp_avg_sq.sqrt() / bias2_sqrt).add_(self.eps)
        step_size = lr / bias1
        if isinstance(step_size, float):
            param.addcdiv_(self.exp_avg, denom, value=-step_size)
        else:
            param.sub_(self.exp_avg / denom * step_size)

    def _fused_adam(self, param: torch.Tensor, grad: torch.Tensor) -> None:
        """torch's own fused Adam/AdamW kernel, one call per set of equal hyperparameters,
        on the members' rows of the flat buffers (one memory pass per step)."""
        fused = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
        by_settings: dict[tuple[float, ...], list[int]] = {}
        for k, (optim, lr) in enumerate(zip(self.member_optims, self.member_lrs(), strict=True)):
            group = optim.param_groups[0]
            key = (lr, group["weight_decay"], *group["betas"], group["eps"])
            by_settings.setdefault(key, []).append(k)
        torch._foreach_add_(self._step_tensors, 1)
        for (lr, wd, beta1, beta2, eps), rows in by_settings.items():
            fused(
                [param[k] for k in rows],
                [grad[k] for k in rows],
                [self.exp_avg[k] for k in rows],
                [self.exp_avg_sq[k] for k in rows],
                [],
                [self._step_tensors[k] for k in rows],
                amsgrad=False,
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=wd,
                eps=eps,
                maximize=False,
            )

    def _sgd(self, param: torch.Tensor, grad: torch.Tensor, lr: Column, wd: Column) -> None:
        if _nonzero(wd):
            grad = grad.add(param * wd)
        if self.has_momentum:
            if self.momentum_buffer is None:
                self.momentum_buffer = grad.clone()
            else:
                self.momentum_buffer.mul_(self.momentum).add_(grad)
            buffer = self.momentum_buffer
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        self.steps += 1
        param.sub_(grad * lr)

    # ------------------------------------------------------------------ per-member state
    def member_state_dict(self, k: int) -> dict[str, Any]:
        """Member ``k``'s state as its own torch optimizer's ``state_dict()``."""
        own = self.member_optims[k].state_dict()
        state: dict[int, dict[str, Any]] = {}
        if self.steps > 0:
            if self.kind == "sgd":
                bufs = (
                    self.model.split(self.momentum_buffer, k)
                    if self.momentum_buffer is not None and own["param_groups"][0]["momentum"] != 0
                    else [None] * len(self.model.slots)
                )
                state = {i: {"momentum_buffer": buf} for i, buf in enumerate(bufs)}
            else:
                m = self.model.split(self.exp_avg, k)
                v = self.model.split(self.exp_avg_sq, k)
                state = {
                    i: {
                        "step": torch.tensor(float(self.steps)),
                        "exp_avg": m[i],
                        "exp_avg_sq": v[i],
                    }
                    for i in range(len(m))
                }
        return {"state": state, "param_groups": own["param_groups"]}

    def write_back(self) -> None:
        """Load every member's torch optimizer with its part of the state."""
        for k, optim in enumerate(self.member_optims):
            optim.load_state_dict(self.member_state_dict(k))

    def read_from(self, steps: int) -> None:
        """Take the state from the members' torch optimizers, e.g. after each resumed its
        checkpoint; ``steps`` is the training step they are all at (one update per step)."""
        states = [optim.state_dict()["state"] for optim in self.member_optims]
        self.steps = steps
        for step_tensor in self._step_tensors:
            step_tensor.fill_(float(steps))
        if steps == 0:
            return
        slots = self.model.slots
        if self.kind == "sgd":
            if self.has_momentum:
                buffers = [
                    [
                        s[i]["momentum_buffer"]
                        if i in s and s[i].get("momentum_buffer") is not None
                        else torch.zeros(slot.shape)
                        for i, slot in enumerate(slots)
                    ]
                    for s in states
                ]
                self.momentum_buffer = self.model.join(buffers).to(self.model.flat)
            return
        recorded = {int(float(s[0]["step"])) if s else 0 for s in states}
        if recorded != {steps}:
            raise ValueError(
                f"The members' optimizer states record steps {sorted(recorded)}, the run is at "
                f"step {steps}: resume them from checkpoints written at the same step."
            )
        n = len(slots)
        self.exp_avg = self.model.join([[s[i]["exp_avg"] for i in range(n)] for s in states])
        self.exp_avg_sq = self.model.join([[s[i]["exp_avg_sq"] for i in range(n)] for s in states])
        self.exp_avg = self.exp_avg.to(self.model.flat)
        self.exp_avg_sq = self.exp_avg_sq.to(self.model.flat)


def _nonzero(value: Column) -> bool:
    return bool((value != 0).any()) if isinstance(value, torch.Tensor) else value != 0


def _bias_correction(beta: Column, steps: int) -> Column:
    """``1 - beta**steps`` in double precision, as torch computes it from Python floats."""
    if isinstance(beta, float):
        return 1.0 - beta**steps
    return (1.0 - beta.double() ** steps).to(beta.dtype)
