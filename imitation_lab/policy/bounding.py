"""Action bounding and scaling: the one table every user of a bound method reads.

``ImitationPolicy.map_action`` / ``map_action_inverse`` (Tianshou semantics), the BC loss of
``bounding=tanh_squash`` (trained through the bound) and the stacked members' env actions all
call the functions here. A new bound method is one entry in ``BOUNDS`` plus its
``conf/bounding/<name>.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch


@dataclass(frozen=True)
class BoundFn:
    """One bound method: raw output -> [-1, 1] at the env, its inverse, its torch form."""

    numpy: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]
    #: differentiable form for training through the bound (None: it has no useful gradient)
    torch: Callable[[torch.Tensor], torch.Tensor] | None = None


def _atanh(act: np.ndarray) -> np.ndarray:
    return (np.log(1.0 + act) - np.log(1.0 - act)) / 2.0  # Tianshou's exact expression


BOUNDS: dict[str, BoundFn] = {
    "clip": BoundFn(numpy=lambda a: np.clip(a, -1.0, 1.0), inverse=lambda a: a),
    "tanh": BoundFn(numpy=np.tanh, inverse=_atanh, torch=torch.tanh),
}
#: what ``action_bound_method`` accepts (None: no bounding)
BOUND_METHODS: tuple[str | None, ...] = (*BOUNDS, None)


def check_method(method: str | None) -> None:
    """Raise ``ValueError`` for a method not in ``BOUNDS`` (None is allowed)."""
    if method not in BOUND_METHODS:
        names = ", ".join(repr(m) for m in BOUND_METHODS)
        raise ValueError(f"action_bound_method must be one of {names}, got {method!r}.")


def trainable_through(method: str | None) -> bool:
    """Whether a loss can be taken through ``method`` (it has a differentiable form)."""
    return method is not None and BOUNDS[method].torch is not None


def bound(act: np.ndarray, method: str | None) -> np.ndarray:
    """Raw output -> [-1, 1] (identity for None)."""
    return act if method is None else BOUNDS[method].numpy(act)


def unbound(act: np.ndarray, method: str | None) -> np.ndarray:
    """Inverse of ``bound`` where one exists (``atanh`` for tanh; identity for clip/None)."""
    return act if method is None else BOUNDS[method].inverse(act)


def bound_for_loss(output: torch.Tensor, method: str | None) -> torch.Tensor:
    """The differentiable bound a ``train_through_bound`` loss compares with the target."""
    if not trainable_through(method):
        raise ValueError(f"The loss cannot be taken through action_bound_method={method!r}.")
    fn = BOUNDS[method].torch  # type: ignore[index]
    assert fn is not None
    return fn(output)


def _scale_of(space: gym.spaces.Box) -> np.ndarray:
    scale = space.high - space.low
    eps = np.finfo(np.float32).eps.item()
    scale[scale < eps] += eps
    return scale


def scale_action(act: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """[-1, 1] -> the Box ``[low, high]`` (Tianshou asserts the input range first)."""
    assert np.min(act) >= -1.0 and np.max(act) <= 1.0, (
        f"action scaling only accepts raw action range = [-1, 1], but got: {act}"
    )
    low, high = space.low, space.high
    return low + (high - low) * (act + 1.0) / 2.0


def unscale_action(act: Any, space: gym.spaces.Box) -> Any:
    """The Box ``[low, high]`` -> [-1, 1] (eps-guarded), on numpy arrays or torch tensors.

    The linear part of ``map_action_inverse``; the trainer maps a whole dataset of targets
    with it at once.
    """
    low, scale = space.low, _scale_of(space)
    if isinstance(act, torch.Tensor):
        low_t = torch.as_tensor(low, dtype=act.dtype, device=act.device)
        scale_t = torch.as_tensor(scale, dtype=act.dtype, device=act.device)
        return (act - low_t) * 2.0 / scale_t - 1.0
    return (act - low) * 2.0 / scale - 1.0


def to_env(act: np.ndarray, space: gym.Space, method: str | None, scaling: bool) -> np.ndarray:
    """``map_action``: bound, then scale to the Box (non-Box spaces pass through)."""
    if not isinstance(space, gym.spaces.Box):
        return act
    act = bound(act, method)
    return scale_action(act, space) if scaling else act


def from_env(act: np.ndarray, space: gym.Space, method: str | None, scaling: bool) -> np.ndarray:
    """``map_action_inverse``: unscale, then invert the bound."""
    if not isinstance(space, gym.spaces.Box):
        return act
    if scaling:
        act = unscale_action(act, space)
    return unbound(act, method)
