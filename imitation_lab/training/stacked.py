"""K MLP actors as one module: stacked weights, batched matmuls, one flat parameter buffer.

``StackedMLP`` holds the parameters of K ``MLPActor``s (same architecture, their own values)
along a leading member axis and runs all K forward/backward passes with ``torch.baddbmm``.
Every parameter (``[K, out, in]`` weights, ``[K, out]`` biases, LayerNorm affines) is a view
into one ``[K, P]`` buffer, and so is its gradient: an optimizer updates all members with a
handful of elementwise ops on ``flat`` / ``flat_grad`` (``imitation_lab.training.stacked_optim``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from imitation_lab.actors import MLPActor

# The parameters are strided views of the flat buffer, and so are their gradients (by design:
# autograd accumulates into them in place); torch warns once that this layout is unusual.
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


@dataclass(frozen=True)
class Slot:
    """Where one member parameter lives in the flat ``[K, P]`` buffer."""

    name: str  # the MLPActor state_dict key, e.g. "net.0.weight"
    shape: tuple[int, ...]
    start: int
    end: int


class StackedMLP(nn.Module):
    """K ``MLPActor``s as one module; member ``k``'s weights are ``member_state_dict(k)``."""

    def __init__(self, members: Sequence[MLPActor]) -> None:
        super().__init__()
        if not members:
            raise ValueError("StackedMLP needs at least one member.")
        reference = _architecture(members[0])
        for member in members[1:]:
            if _architecture(member) != reference:
                raise ValueError("StackedMLP members must share one architecture.")
        first = members[0]
        self.num_members = len(members)
        self.slots: list[Slot] = []
        offset = 0
        for name, param in first.named_parameters():
            size = param.numel()
            self.slots.append(Slot(name, tuple(param.shape), offset, offset + size))
            offset += size
        device = next(first.parameters()).device
        flat = torch.empty(self.num_members, offset, device=device)
        with torch.no_grad():
            for k, member in enumerate(members):
                flat[k] = torch.cat([p.detach().reshape(-1) for p in member.parameters()])
        self.flat = flat
        self.flat_grad = torch.zeros_like(flat)
        self.params = nn.ParameterList(self._view(flat, slot) for slot in self.slots)
        for param, slot in zip(self.params, self.slots, strict=True):
            param.grad = self._view(self.flat_grad, slot)
        self._layers = self._layer_plan(first)

    # ------------------------------------------------------------------ layout
    def _view(self, buffer: torch.Tensor, slot: Slot) -> torch.Tensor:
        view = buffer[:, slot.start : slot.end].view(self.num_members, *slot.shape)
        return nn.Parameter(view) if buffer is self.flat else view

    def _layer_plan(self, actor: MLPActor) -> list[tuple[str, int, nn.Module | None]]:
        """(kind, index of the layer's weight in ``params``, elementwise module) per layer."""
        index = {slot.name: i for i, slot in enumerate(self.slots)}
        plan: list[tuple[str, int, nn.Module | None]] = []
        for position, module in enumerate(actor.net):
            if isinstance(module, nn.Linear):
                plan.append(("linear", index[f"net.{position}.weight"], None))
            elif isinstance(module, nn.LayerNorm):
                if len(module.normalized_shape) != 1 or not module.elementwise_affine:
                    raise ValueError("StackedMLP batches LayerNorm over the last dim only.")
                plan.append(("layer_norm", index[f"net.{position}.weight"], module))
            elif next(module.parameters(), None) is None:
                plan.append(("elementwise", -1, module))  # an activation works on [K, B, w]
            else:
                raise ValueError(f"StackedMLP cannot batch a {type(module).__name__} layer.")
        return plan

    def grads_in_flat(self) -> bool:
        """Whether every parameter's gradient still is its view of ``flat_grad``."""
        return all(
            p.grad is not None and p.grad.data_ptr() == self._view(self.flat_grad, s).data_ptr()
            for p, s in zip(self.params, self.slots, strict=True)
        )

    # ------------------------------------------------------------------ compute
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` ``[K, B, obs_dim]`` -> raw outputs ``[K, B, act_dim]``."""
        x = obs
        params = self.params
        for kind, i, module in self._layers:
            if kind == "linear":
                weight, bias = params[i], params[i + 1]
                x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
            elif kind == "layer_norm":
                assert isinstance(module, nn.LayerNorm)
                weight, bias = params[i], params[i + 1]
                normalized = F.layer_norm(x, module.normalized_shape, eps=module.eps)
                x = torch.addcmul(bias.unsqueeze(1), normalized, weight.unsqueeze(1))
            else:
                assert module is not None
                x = module(x)
        return x

    def zero_grad_(self) -> None:
        """Zero the gradients in place (they must stay views of ``flat_grad``)."""
        self.flat_grad.zero_()

    # ------------------------------------------------------------------ members
    def member_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member ``k``'s weights as an ``MLPActor.state_dict()``."""
        return {
            slot.name: self.flat[k, slot.start : slot.end].view(slot.shape).clone()
            for slot in self.slots
        }

    @torch.no_grad()
    def load_members(self, states: Sequence[dict[str, torch.Tensor]]) -> None:
        """Overwrite every member's weights with ``MLPActor`` state dicts, in member order."""
        for k, state in enumerate(states):
            self.flat[k] = torch.cat([state[slot.name].reshape(-1) for slot in self.slots])

    def split(self, flat_like: torch.Tensor, k: int) -> list[torch.Tensor]:
        """Member ``k``'s row of a ``[K, P]`` buffer as tensors shaped like its parameters."""
        return [flat_like[k, s.start : s.end].view(s.shape).clone() for s in self.slots]

    def join(self, per_member: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
        """The inverse of ``split``: K lists of parameter-shaped tensors -> one ``[K, P]``."""
        return torch.stack([torch.cat([t.reshape(-1) for t in tensors]) for tensors in per_member])


def _architecture(actor: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in actor.state_dict().items()] + [
        (type(m).__name__, ()) for m in actor.modules()
    ]
