"""The behaviour-cloning loss, for one policy (``[B, ...]``) or K stacked members (``[K, B, ...]``).

Continuous actions: ``F.mse_loss`` of the raw output (or of its bound, for members trained
through it) against the target. Discrete actions: ``F.nll_loss`` of ``log_softmax(logits)``.
For a single policy both reduce exactly as Tianshou's ``ImitationPolicy.learn`` does; for
stacked members each member's loss is the mean over its own minibatch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from imitation_lab.policy.bounding import bound_for_loss

#: the bound method a member's loss is taken through (None: the raw output, Tianshou's way)
Through = str | None


def continuous_loss(
    output: torch.Tensor, target: torch.Tensor, through: Through | Sequence[Through] = None
) -> torch.Tensor:
    """MSE per member: a scalar for ``[B, A]``, ``[K]`` for ``[K, B, A]``.

    ``through`` is one method (single policy) or one per member. A target whose shape differs
    from the output raises: ``F.mse_loss`` would silently broadcast ``(B,)`` against
    ``(B, 1)`` into a ``(B, B)`` loss.
    """
    if target.shape != output.shape:
        raise ValueError(
            f"Continuous action targets have shape {tuple(target.shape)} but the actor outputs "
            f"{tuple(output.shape)}; F.mse_loss would broadcast them silently. Reshape the "
            "dataset actions to (batch, action_dim)."
        )
    output = _bounded(output, through)
    if output.dim() == 2:
        return F.mse_loss(output, target)
    return F.mse_loss(output, target, reduction="none").flatten(1).mean(dim=1)


def discrete_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """NLL of ``log_softmax(logits)`` per member: scalar for ``[B, n]``, ``[K]`` for ``[K, B, n]``
    (the NLL of each sample, then the mean over its member's batch)."""
    log_probs = F.log_softmax(logits, dim=-1)
    if log_probs.dim() == 2:
        return F.nll_loss(log_probs, target)
    # [K, B, n] -> nll over n per (member, sample), then the mean over each member's batch
    return F.nll_loss(log_probs.transpose(1, 2), target, reduction="none").mean(dim=1)


def bc_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    *,
    discrete: bool,
    through: Through | Sequence[Through] = None,
) -> torch.Tensor:
    """The BC loss of ``output`` (logits or raw actions) against the dataset's ``target``."""
    if discrete:
        return discrete_loss(output, target)
    return continuous_loss(output, target, through)


def _bounded(output: torch.Tensor, through: Through | Sequence[Through]) -> torch.Tensor:
    if through is None or isinstance(through, str):
        return output if through is None else bound_for_loss(output, through)
    methods = list(through)
    if len(methods) != output.shape[0]:
        raise ValueError(f"{len(methods)} loss bounds for {output.shape[0]} members.")
    for method in {m for m in methods if m is not None}:
        mask = torch.tensor([m == method for m in methods], device=output.device)
        shape = (-1,) + (1,) * (output.dim() - 1)
        output = torch.where(mask.view(shape), bound_for_loss(output, method), output)
    return output
