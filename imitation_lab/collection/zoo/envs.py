"""Env ids and shapes for pretrained checkpoints: gym ids -> gymnasium ids, padding, checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Checkpoints name gym ids (MuJoCo -v2/-v3 ran on mujoco-py); they run on gymnasium's.
_MUJOCO_ENVS = frozenset(
    {
        "Ant",
        "HalfCheetah",
        "Hopper",
        "Humanoid",
        "HumanoidStandup",
        "InvertedDoublePendulum",
        "InvertedPendulum",
        "Pusher",
        "Reacher",
        "Swimmer",
        "Walker2d",
    }
)
_RENAMED_ENVS = {
    "LunarLander-v2": "LunarLander-v3",
    "LunarLanderContinuous-v2": "LunarLanderContinuous-v3",
}
_DEFAULT_ENV_KWARGS: dict[str, dict[str, Any]] = {
    # The v3 agents expect Ant's 27 positional/velocity entries followed by 84 zero contact forces.
    "Ant-v5": {"include_cfrc_ext_in_observation": False},
}
# (env name, plain env obs dim, checkpoint obs dim without time feature): pad with zeros.
_OBS_PAD_RULES = frozenset({("Ant", 27, 111)})
_ENV_ID_RE = re.compile(r"^(?:(?P<ns>[\w.-]+)/)?(?P<name>[\w.:-]+?)-v(?P<version>\d+)$")


def split_env_id(env_id: str) -> tuple[str, int | None]:
    m = _ENV_ID_RE.match(env_id)
    if m is None:
        return env_id, None
    return m.group("name"), int(m.group("version"))


def gymnasium_env_id(saved_env_id: str) -> str:
    """The gymnasium id to run a checkpoint saved on ``saved_env_id`` (a gym id) with.

    MuJoCo ``-v2``/``-v3`` (mujoco-py) become ``-v5`` (same observation and action shapes, except
    Ant, see :func:`default_env_kwargs`); ``LunarLander*-v2`` become ``-v3``; others are kept.
    """
    if saved_env_id in _RENAMED_ENVS:
        return _RENAMED_ENVS[saved_env_id]
    name, version = split_env_id(saved_env_id)
    if name in _MUJOCO_ENVS and version is not None and version < 4:
        return f"{name}-v5"
    return saved_env_id


def default_env_kwargs(env_id: str) -> dict[str, Any]:
    """Keyword arguments ``gymnasium.make(env_id, ...)`` needs for the zoo/CS285 checkpoints."""
    return dict(_DEFAULT_ENV_KWARGS.get(env_id, {}))


@dataclass(frozen=True)
class EnvInfo:
    observation_space: Any
    action_space: Any
    max_episode_steps: int | None


def probe_env(env_id: str, env_kwargs: Mapping[str, Any]) -> EnvInfo:
    import gymnasium as gym

    env = gym.make(env_id, **env_kwargs)
    try:
        spec = env.spec
        return EnvInfo(
            env.observation_space,
            env.action_space,
            spec.max_episode_steps if spec is not None else None,
        )
    finally:
        env.close()


def describe_env(env_id: str, env_kwargs: Mapping[str, Any]) -> str:
    if not env_kwargs:
        return env_id
    return f"{env_id}({', '.join(f'{k}={v!r}' for k, v in env_kwargs.items())})"


def obs_adapter(
    *,
    source: Path,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    env_obs_space: Any,
    policy_obs_shape: tuple[int, ...],
    time_feature: bool,
) -> int | None:
    """Check the checkpoint's input shape against the env; return ``pad_to`` (or None)."""
    env_shape = tuple(getattr(env_obs_space, "shape", None) or ())
    where = f"{source}: checkpoint observation shape {policy_obs_shape}"
    env_desc = describe_env(env_id, env_kwargs)
    if len(env_shape) != 1 or len(policy_obs_shape) != 1:
        raise ValueError(
            f"{where} vs env {env_desc} observation shape {env_shape}: only flat (1-D) Box "
            "observations are supported"
        )
    extra = 1 if time_feature else 0
    if policy_obs_shape[0] == env_shape[0] + extra:
        return None
    pad_to = policy_obs_shape[0] - extra
    if (split_env_id(env_id)[0], env_shape[0], pad_to) in _OBS_PAD_RULES:
        return pad_to
    note = " plus 1 time feature" if time_feature else ""
    raise ValueError(f"{where} does not match env {env_desc} observation shape {env_shape}{note}")


def check_action_space(
    source: Path, env_id: str, env_kwargs: Mapping[str, Any], env_space: Any, saved: Mapping
) -> None:
    from gymnasium import spaces

    env_desc = describe_env(env_id, env_kwargs)
    if isinstance(env_space, spaces.Discrete):
        n = saved.get("n")
        if n is None or int(n) != int(env_space.n):
            raise ValueError(
                f"{source}: checkpoint action space {_saved_space_repr(saved)} does not match "
                f"env {env_desc} action space Discrete({env_space.n})"
            )
        return
    if not isinstance(env_space, spaces.Box):
        raise ValueError(f"{source}: unsupported action space {env_space} of env {env_desc}")
    shape = tuple(saved.get("shape") or ())
    if "n" in saved or shape != env_space.shape:
        raise ValueError(
            f"{source}: checkpoint action shape {shape} ({_saved_space_repr(saved)}) does not "
            f"match env {env_desc} action shape {env_space.shape}"
        )
    for key in ("low", "high"):
        bound = _parse_saved_array(saved.get(key))
        if bound is not None and bound.shape == env_space.shape:
            ours = getattr(env_space, key).astype(np.float64)
            if not np.allclose(bound, ours, rtol=1e-5, atol=1e-6):
                raise ValueError(
                    f"{source}: checkpoint action {key} {bound.tolist()} does not match env "
                    f"{env_desc} action {key} {ours.tolist()}"
                )


def _saved_space_repr(saved: Mapping) -> str:
    kind = str(saved.get(":type:", "?")).rsplit(".", 1)[-1].rstrip("'>")
    if "n" in saved:
        return f"{kind}({saved['n']})"
    return f"{kind}{tuple(saved.get('shape') or ())}"


def _parse_saved_array(text: Any) -> np.ndarray | None:
    """Parse a numpy-printed 1-D array like ``'[-1. -1. inf]'`` (sb3's JSON 'low'/'high')."""
    if not isinstance(text, str):
        return None
    try:
        return np.array([float(t) for t in text.strip().strip("[]").split()], dtype=np.float64)
    except ValueError:
        return None
