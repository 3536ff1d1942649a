"""Checks of the config against the dataset's spaces, run before any training step.

Each failure is one ``ConfigError`` that names the key and says what to use instead.
No Hydra here: callers pass plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from imitation_lab.data.obs import ObsSpec
from imitation_lab.errors import ConfigError

#: an MLP on more image inputs than this is refused (a CNN actor is the right tool)
MLP_MAX_IMAGE_INPUTS = 16_384

log = logging.getLogger(__name__)


def expected_sizes(observation_space: gym.Space, action_space: gym.Space) -> tuple[int, int]:
    """``(obs_dim, act_dim)``: the flattened observation size (``actor=mlp``'s input) and the
    outputs the actor must have (one logit per discrete action)."""
    obs_dim = ObsSpec.of(observation_space).flat_dim
    if isinstance(action_space, gym.spaces.Discrete):
        return obs_dim, int(action_space.n)
    return obs_dim, int(np.prod(action_space.shape))


def check_mlp_inputs(observation_space: gym.Space, dataset_id: str) -> None:
    """``actor=mlp`` on large images would be a huge first layer: say what to use instead."""
    for leaf in ObsSpec.of(observation_space).leaves:
        if leaf.kind == "image" and leaf.flat_dim > MLP_MAX_IMAGE_INPUTS:
            raise ConfigError(
                f"Dataset '{dataset_id}' has the image observation '{leaf.key or 'obs'}' "
                f"{tuple(leaf.space.shape)} ({leaf.flat_dim} inputs): actor=mlp would flatten it "
                f"into a {leaf.flat_dim}-wide first layer (limit {MLP_MAX_IMAGE_INPUTS}). Use "
                "actor=cnn (image-only observations) or actor=multi_input (images + vectors)."
            )


def effective_bounding(
    action_space: gym.Space, bound_method: str | None, scaling: bool
) -> tuple[str | None, bool]:
    """The bound method and scaling a policy gets: as configured for Box actions; none for
    discrete ones, where Tianshou uses neither ("only used if the action_space is
    continuous"), with one info line when a configured choice is set aside."""
    if isinstance(action_space, gym.spaces.Box):
        return bound_method, scaling
    if scaling or bound_method is not None:
        log.info(
            "bounding.action_bound_method=%s, action_scaling=%s apply to continuous (Box) "
            "actions only: not used for the dataset's %s actions.",
            bound_method,
            str(scaling).lower(),
            action_space,
        )
    return None, False


def check_actor_sizes(configured: Mapping[str, Any], obs_dim: int, act_dim: int) -> None:
    """``actor.obs_dim`` / ``actor.act_dim`` set in the config must agree with the dataset.

    They are derived from the dataset; a value set by hand that differs (e.g. a one-output
    continuous head on a discrete dataset) is a mistake, not something to silently override.
    """
    for key, expected in (("obs_dim", obs_dim), ("act_dim", act_dim)):
        value = configured.get(key)
        if value is not None and int(value) != expected:
            raise ConfigError(
                f"actor.{key}={value} but the dataset needs {expected} "
                f"({'one logit per discrete action' if key == 'act_dim' else 'its obs size'}). "
                f"Remove actor.{key}: it is set from the dataset."
            )


def check_actor_output(
    actor: nn.Module,
    observation_space: gym.Space,
    action_space: gym.Space,
    out_dim: int | None = None,
) -> None:
    """Probe the actor once (eval mode, no grad) and check its output matches the action space
    (or ``out_dim``, the parameters an action head reads).

    Catches a custom actor (``actor._target_=...``) whose head does not fit the data, e.g. a
    continuous head of the wrong width on a discrete dataset.
    """
    _, act_dim = expected_sizes(observation_space, action_space)
    act_dim = act_dim if out_dim is None else out_dim
    device = next(iter(actor.parameters()), torch.empty(0)).device
    was_training = actor.training
    actor.eval()
    try:
        with torch.no_grad():
            output = actor(ObsSpec.of(observation_space).zeros(2, device))
    finally:
        actor.train(was_training)
    logits = output[0] if isinstance(output, tuple) else output
    discrete = isinstance(action_space, gym.spaces.Discrete)
    kind = "logits, one per discrete action" if discrete else "values, one per action dimension"
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (2, act_dim):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ConfigError(
            f"The actor {type(actor).__name__} maps a batch of 2 observations to {shape}, but "
            f"the dataset's action space {action_space} needs (2, {act_dim}) ({kind}). Use an "
            "actor whose output size comes from the dataset (actor=mlp)."
        )


def check_device(device: str, key: str = "trainer.device") -> None:
    """``key`` (``trainer.device``, eval's ``device``) must name a device torch can use here;
    say which ones it can."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(
            f"{key}={device!r} is not a torch device ({err}). Use cpu, cuda or cuda:N."
        ) from None
    if parsed.type == "cpu":
        return
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(
                f"{key}={device} but torch {torch.__version__} sees no CUDA device here "
                f"(torch.cuda.is_available() is False). Use {key}=cpu, or install a CUDA build "
                "of torch on a machine with a GPU."
            )
        if parsed.index is not None and parsed.index >= count:
            raise ConfigError(
                f"{key}={device} but this machine has {count} CUDA device(s): "
                f"{', '.join(f'cuda:{i}' for i in range(count))}."
            )
        return
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{key}={device} but MPS is not available here; use cpu.")
