"""Pretrained expert policies (rl-zoo and CS285 checkpoints) as plain numpy callables.

Two on-disk formats are supported; both loaders take a path, nothing here knows where the
checkpoints live (``find_expert`` takes the folder that holds them, or reads
``$IMITATION_LAB_EXPERTS_DIR``):

* **rl-zoo** folders ``<algo>_<Env>/<Env-vN>.zip`` + ``<algo>_<Env>/<Env-vN>/{config.yml,
  args.yml[,vecnormalize.pkl]}`` (DLR-RM/rl-trained-agents), algos from stable-baselines3 and
  sb3-contrib (ppo, a2c, dqn, sac, td3, ddpg, tqc, trpo, ars, qrdqn). ``load_zoo_policy`` needs
  the ``[zoo]`` extra (``pip install imitation-lab[zoo]``); it is imported lazily, so the rest of
  the package works without it.
* **CS285** pickles (``hw1/cs285/policies/experts/<Env>.pkl``): observation standardiser,
  tanh MLP and a linear mean head. ``load_cs285_policy`` is pure numpy.

Both return an :class:`ExpertPolicy`. It consumes the **plain** observation of
``gymnasium.make(policy.env_id, **policy.env_kwargs)`` (what a Minari dataset must record, e.g.
17 dims for Walker2d, 27 for Ant) and rebuilds the checkpoint's own input itself, in this order:

1. zero padding (Ant: the v3 agents saw 111 dims whose 84 contact forces were always 0 under
   mujoco-py; the 27-dim ``Ant-v5(include_cfrc_ext_in_observation=False)`` observation is padded),
2. the ``TimeFeatureWrapper`` feature ``1 - t / max_episode_steps`` when ``config.yml`` names it,
   where ``t`` is the number of ``env.step`` calls since the last reset,
3. ``VecNormalize`` observation statistics (``clip_obs``; rewards are never normalised).

Policies that use a time feature are *stateful* (``policy.stateful``): they count their own calls.
Call ``policy.reset()`` after every ``env.reset()`` and call the policy once per env step::

    policy = find_expert("ppo_Walker2d", "/path/to/experts")
    env = policy.make_env()                     # plain Walker2d-v5, 17-dim observations
    obs, _ = env.reset(seed=0)
    policy.reset()
    while True:
        obs, rew, term, trunc, _ = env.step(policy(obs))
        if term or trunc:
            break

Batches ``(N, obs_dim)`` from vectorised envs work the same way: the counters then have one
entry per sub-env, and ``policy.reset(mask)`` zeroes those whose sub-env was reset (e.g. the
``terminated | truncated`` of the previous step with gymnasium's default NEXT_STEP autoreset,
before acting on the reset observation). Callers that track the step themselves can instead pass
``policy(obs, elapsed_steps=t)`` (scalar or one per row), which neither reads nor advances the
counters. Stateless policies ignore both.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EXPERTS_DIR_ENV_VAR",
    "ZOO_ALGOS",
    "ExpertPolicy",
    "default_env_kwargs",
    "evaluate_expert",
    "find_expert",
    "gymnasium_env_id",
    "list_experts",
    "load_cs285_policy",
    "load_zoo_policy",
    "resolve_experts_dir",
]

EXPERTS_DIR_ENV_VAR = "IMITATION_LAB_EXPERTS_DIR"
_ZOO_HINT = "pip install imitation-lab[zoo]  (stable-baselines3 and sb3-contrib)"

#: rl-zoo algo name -> (module, class). Imported lazily by ``load_zoo_policy``.
ZOO_ALGOS: dict[str, tuple[str, str]] = {
    "a2c": ("stable_baselines3", "A2C"),
    "ddpg": ("stable_baselines3", "DDPG"),
    "dqn": ("stable_baselines3", "DQN"),
    "ppo": ("stable_baselines3", "PPO"),
    "sac": ("stable_baselines3", "SAC"),
    "td3": ("stable_baselines3", "TD3"),
    "ars": ("sb3_contrib", "ARS"),
    "qrdqn": ("sb3_contrib", "QRDQN"),
    "tqc": ("sb3_contrib", "TQC"),
    "trpo": ("sb3_contrib", "TRPO"),
}
_CS285 = "cs285"

# --------------------------------------------------------------------------------------------
# Environment ids: checkpoints name gym ids (MuJoCo -v2/-v3 ran on mujoco-py); use gymnasium's.
# --------------------------------------------------------------------------------------------
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


def _split_env_id(env_id: str) -> tuple[str, int | None]:
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
    name, version = _split_env_id(saved_env_id)
    if name in _MUJOCO_ENVS and version is not None and version < 4:
        return f"{name}-v5"
    return saved_env_id


def default_env_kwargs(env_id: str) -> dict[str, Any]:
    """Keyword arguments ``gymnasium.make(env_id, ...)`` needs for the zoo/CS285 checkpoints."""
    return dict(_DEFAULT_ENV_KWARGS.get(env_id, {}))


@dataclass(frozen=True)
class _EnvInfo:
    observation_space: Any
    action_space: Any
    max_episode_steps: int | None


def _probe_env(env_id: str, env_kwargs: Mapping[str, Any]) -> _EnvInfo:
    import gymnasium as gym

    env = gym.make(env_id, **env_kwargs)
    try:
        spec = env.spec
        return _EnvInfo(
            env.observation_space,
            env.action_space,
            spec.max_episode_steps if spec is not None else None,
        )
    finally:
        env.close()


def _describe_env(env_id: str, env_kwargs: Mapping[str, Any]) -> str:
    if not env_kwargs:
        return env_id
    return f"{env_id}({', '.join(f'{k}={v!r}' for k, v in env_kwargs.items())})"


# --------------------------------------------------------------------------------------------
# ExpertPolicy
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TimeFeature:
    max_steps: int
    test_mode: bool = False  # sb3-contrib: constant 1.0 instead of the remaining time


@dataclass(frozen=True)
class _ObsNormalizer:
    mean: np.ndarray
    var: np.ndarray
    epsilon: float
    clip: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # Same arithmetic as stable_baselines3 VecNormalize.normalize_obs.
        z = np.clip((x - self.mean) / np.sqrt(self.var + self.epsilon), -self.clip, self.clip)
        return z.astype(np.float32)


class ExpertPolicy:
    """A loaded expert: ``action = policy(obs)`` on one observation or a batch ``(N, obs_dim)``.

    ``obs`` is the plain observation of ``make_env()`` (``gymnasium.make(env_id, **env_kwargs)``);
    padding, time feature and observation normalisation are applied inside (see module docs).
    Returns float actions of shape ``action_space.shape`` (or ``(N, *shape)``) for ``Box``
    spaces and integer actions of shape ``()`` (or ``(N,)``) for ``Discrete`` ones.

    Attributes: ``name`` (e.g. ``'tqc_HalfCheetah'``), ``algo``, ``source`` (checkpoint path),
    ``env_id`` (gymnasium id, e.g. ``'HalfCheetah-v5'``), ``env_kwargs``, ``observation_space``
    and ``action_space`` (of that env), ``obs_dim``, ``policy_obs_dim`` (the checkpoint's input
    size), ``deterministic`` and ``stateful`` (True when a time feature is used).
    """

    def __init__(
        self,
        *,
        name: str,
        algo: str,
        source: Path,
        env_id: str,
        env_kwargs: Mapping[str, Any],
        observation_space: Any,
        action_space: Any,
        predict_fn: Callable[[np.ndarray], np.ndarray],
        policy_obs_dim: int,
        pad_to: int | None = None,
        time_feature: _TimeFeature | None = None,
        obs_normalizer: _ObsNormalizer | None = None,
        deterministic: bool = True,
    ) -> None:
        self.name = name
        self.algo = algo
        self.source = source
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.observation_space = observation_space
        self.action_space = action_space
        self.obs_dim = int(observation_space.shape[0])
        self.policy_obs_dim = int(policy_obs_dim)
        self.deterministic = deterministic
        self._predict_fn = predict_fn
        self._pad_to = pad_to
        self._time_feature = time_feature
        self._obs_normalizer = obs_normalizer
        self._steps: np.ndarray | None = None  # per-row env step counters (stateful only)

    # -- state ---------------------------------------------------------------------------------
    @property
    def stateful(self) -> bool:
        """True if actions depend on the step within the episode (TimeFeatureWrapper)."""
        return self._time_feature is not None

    def reset(self, mask: np.ndarray | Sequence[bool] | Sequence[int] | None = None) -> None:
        """Start new episodes: all of them (``mask=None``) or the rows selected by ``mask``
        (booleans or indices into the batch). A no-op for stateless policies."""
        if mask is None or self._steps is None:
            self._steps = None
            return
        self._steps[np.asarray(mask)] = 0

    # -- inference -----------------------------------------------------------------------------
    def _as_batch(self, obs: Any) -> tuple[np.ndarray, bool]:
        x = np.asarray(obs)
        if x.ndim not in (1, 2) or x.shape[-1] != self.obs_dim:
            raise ValueError(
                f"{self.name}: expected an observation of shape ({self.obs_dim},) or "
                f"(N, {self.obs_dim}) from {_describe_env(self.env_id, self.env_kwargs)}, "
                f"got shape {x.shape}"
            )
        single = x.ndim == 1
        return (x[None] if single else x), single

    def _steps_for(self, n: int, elapsed_steps: Any) -> tuple[np.ndarray, bool]:
        if elapsed_steps is not None:
            return np.broadcast_to(np.asarray(elapsed_steps, dtype=np.float64), (n,)), False
        if self._steps is None:
            self._steps = np.zeros(n, dtype=np.int64)
        elif self._steps.shape != (n,):
            raise ValueError(
                f"{self.name}: called with a batch of {n} observations but the step counters "
                f"track {self._steps.shape[0]}; call reset() when the batch size changes"
            )
        return self._steps.astype(np.float64), True

    def _preprocess(self, batch: np.ndarray, steps: np.ndarray | None) -> np.ndarray:
        x = batch.astype(np.float64, copy=False)
        if self._pad_to is not None:
            x = np.concatenate([x, np.zeros((len(x), self._pad_to - x.shape[1]))], axis=1)
        if self._time_feature is not None:
            assert steps is not None
            tf = self._time_feature
            feature = np.ones(len(x)) if tf.test_mode else 1.0 - steps / tf.max_steps
            x = np.concatenate([x, feature[:, None]], axis=1)
        if self._obs_normalizer is not None:
            x = self._obs_normalizer(x)
        return x

    def policy_input(self, obs: Any, elapsed_steps: Any = None) -> np.ndarray:
        """The checkpoint's own input for ``obs`` (padded, time feature, normalised); for
        debugging. Stateful policies need ``elapsed_steps`` here (counters are not used)."""
        batch, single = self._as_batch(obs)
        steps = None
        if self.stateful:
            if elapsed_steps is None:
                raise ValueError(f"{self.name}: policy_input() needs elapsed_steps")
            steps, _ = self._steps_for(len(batch), elapsed_steps)
        x = self._preprocess(batch, steps)
        return x[0] if single else x

    def __call__(self, obs: Any, elapsed_steps: Any = None) -> np.ndarray:
        batch, single = self._as_batch(obs)
        steps, advance = None, False
        if self.stateful:
            steps, advance = self._steps_for(len(batch), elapsed_steps)
        actions = np.asarray(self._predict_fn(self._preprocess(batch, steps)))
        if advance:
            assert self._steps is not None
            self._steps += 1
        return actions[0] if single else actions

    # -- environments --------------------------------------------------------------------------
    def make_env(self, **overrides: Any) -> Any:
        """``gymnasium.make(env_id, **env_kwargs, **overrides)``: the plain env whose
        observations this policy consumes (and a dataset should record)."""
        import gymnasium as gym

        return gym.make(self.env_id, **{**self.env_kwargs, **overrides})

    def make_vec_env(self, num_envs: int, **overrides: Any) -> Any:
        """``gymnasium.make_vec`` of :meth:`make_env`'s env (sync vectorisation by default)."""
        import gymnasium as gym

        vectorization_mode = overrides.pop("vectorization_mode", "sync")
        return gym.make_vec(
            self.env_id,
            num_envs=num_envs,
            vectorization_mode=vectorization_mode,
            **{**self.env_kwargs, **overrides},
        )

    def __repr__(self) -> str:
        extras = []
        if self._pad_to is not None:
            extras.append(f"pad_to={self._pad_to}")
        if self._time_feature is not None:
            extras.append(f"time_feature(max_steps={self._time_feature.max_steps})")
        if self._obs_normalizer is not None:
            extras.append("vecnormalize")
        return (
            f"ExpertPolicy(name={self.name!r}, algo={self.algo!r}, "
            f"env={_describe_env(self.env_id, self.env_kwargs)!r}, obs_dim={self.obs_dim}, "
            f"policy_obs_dim={self.policy_obs_dim}" + "".join(f", {e}" for e in extras) + ")"
        )


def _obs_adapter(
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
    env_desc = _describe_env(env_id, env_kwargs)
    if len(env_shape) != 1 or len(policy_obs_shape) != 1:
        raise ValueError(
            f"{where} vs env {env_desc} observation shape {env_shape}: only flat (1-D) Box "
            "observations are supported"
        )
    extra = 1 if time_feature else 0
    if policy_obs_shape[0] == env_shape[0] + extra:
        return None
    pad_to = policy_obs_shape[0] - extra
    if (_split_env_id(env_id)[0], env_shape[0], pad_to) in _OBS_PAD_RULES:
        return pad_to
    note = " plus 1 time feature" if time_feature else ""
    raise ValueError(f"{where} does not match env {env_desc} observation shape {env_shape}{note}")


def _check_action_space(
    source: Path, env_id: str, env_kwargs: Mapping[str, Any], env_space: Any, saved: Mapping
) -> None:
    from gymnasium import spaces

    env_desc = _describe_env(env_id, env_kwargs)
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


# --------------------------------------------------------------------------------------------
# rl-zoo (stable-baselines3 / sb3-contrib)
# --------------------------------------------------------------------------------------------
def _import_zoo_algo(algo: str) -> Any:
    module_name, class_name = ZOO_ALGOS[algo]
    try:
        importlib.import_module("stable_baselines3")
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"loading rl-zoo expert policies ({algo}) needs stable-baselines3 and sb3-contrib, "
            f"which are not installed: {_ZOO_HINT}"
        ) from exc
    return getattr(module, class_name)


def _find_zoo_checkpoint(folder: Path) -> tuple[Path, Path]:
    """Return (folder, zip) for a folder or a zip path."""
    if folder.suffix == ".zip" and folder.is_file():
        return folder.parent, folder
    if not folder.exists():
        raise FileNotFoundError(f"expert folder not found: {folder}")
    if not folder.is_dir():
        raise FileNotFoundError(f"not an rl-zoo expert folder (nor a .zip checkpoint): {folder}")
    zips = sorted(folder.glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"no rl-zoo checkpoint <Env-vN>.zip in expert folder {folder}")
    if len(zips) > 1:
        raise ValueError(
            f"several checkpoints in {folder}: {[z.name for z in zips]}; pass the .zip path"
        )
    return folder, zips[0]


def _read_zoo_data(zip_path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(zip_path) as zf:
            return json.loads(zf.read("data"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stable-baselines3 checkpoint: {zip_path} ({exc})") from exc


def _read_zoo_config(path: Path) -> dict[str, Any]:
    """Read an rl-zoo ``config.yml`` (an OrderedDict dumped by PyYAML) without unsafe loading."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def _ordered_dict(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        args = loader.construct_sequence(node, deep=True)  # type: ignore[arg-type]
        pairs = args[0] if len(args) == 1 else args
        return {k: v for k, v in pairs}

    _Loader.add_constructor(
        "tag:yaml.org,2002:python/object/apply:collections.OrderedDict", _ordered_dict
    )
    try:
        with open(path) as f:
            config = yaml.load(f, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"cannot read rl-zoo config {path}: {exc}") from exc
    return dict(config or {})


def _env_wrappers(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = config.get("env_wrapper")
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, Mapping):
            out.extend((str(k), dict(v or {})) for k, v in item.items())
        else:
            out.append((repr(item), {}))
    return out


def _zoo_time_feature(
    config: Mapping[str, Any], config_path: Path, max_episode_steps: int | None
) -> _TimeFeature | None:
    time_feature = None
    for name, kwargs in _env_wrappers(config):
        if name.rsplit(".", 1)[-1] != "TimeFeatureWrapper":
            raise ValueError(
                f"{config_path}: env_wrapper {name!r} is not supported (only TimeFeatureWrapper)"
            )
        # sb3-contrib takes the TimeLimit's max_episode_steps first, max_steps as fallback.
        max_steps = max_episode_steps or int(kwargs.get("max_steps", 1000))
        time_feature = _TimeFeature(max_steps, bool(kwargs.get("test_mode", False)))
    if config.get("frame_stack"):
        raise ValueError(f"{config_path}: frame_stack is not supported")
    return time_feature


class _GymToGymnasiumUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "gym" or module.startswith("gym."):
            module = "gymnasium" + module[3:]
        return super().find_class(module, name)


def _load_vecnormalize(path: Path, policy_obs_dim: int, folder: Path) -> _ObsNormalizer | None:
    with open(path, "rb") as f:
        try:
            vec_normalize = _GymToGymnasiumUnpickler(f).load()
        except Exception as exc:
            raise ValueError(f"cannot unpickle {path}: {exc}") from exc
    if not getattr(vec_normalize, "norm_obs", True):
        return None
    obs_rms = vec_normalize.obs_rms
    if isinstance(obs_rms, dict):
        raise ValueError(f"{path}: dict observation statistics are not supported")
    mean = np.asarray(obs_rms.mean, dtype=np.float64)
    var = np.asarray(obs_rms.var, dtype=np.float64)
    if mean.shape != (policy_obs_dim,):
        raise ValueError(
            f"{folder}: {path.name} statistics have shape {mean.shape}, the checkpoint "
            f"observation shape is ({policy_obs_dim},)"
        )
    return _ObsNormalizer(
        mean, var, float(getattr(vec_normalize, "epsilon", 1e-8)), float(vec_normalize.clip_obs)
    )


def load_zoo_policy(
    folder: str | os.PathLike[str],
    env_id: str | None = None,
    deterministic: bool = True,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    algo: str | None = None,
) -> ExpertPolicy:
    """Load an rl-zoo expert folder (``<algo>_<Env>/``, or the ``.zip`` inside it).

    ``env_id`` defaults to :func:`gymnasium_env_id` of the checkpoint's env (e.g.
    ``HalfCheetah-v3`` -> ``HalfCheetah-v5``) and ``env_kwargs`` to :func:`default_env_kwargs`
    of ``env_id``. ``algo`` defaults to the folder-name prefix. ``deterministic=False`` samples
    from the policy's distribution with torch's global RNG (seed it with ``torch.manual_seed``).

    Raises FileNotFoundError for a missing folder/zip/``vecnormalize.pkl`` (``config.yml`` says
    ``normalize``), ValueError for an unknown algo or checkpoint/env shape mismatch, and
    ImportError (``pip install imitation-lab[zoo]``) without stable-baselines3/sb3-contrib.
    """
    folder, zip_path = _find_zoo_checkpoint(Path(folder))
    algo = (algo or folder.name.split("_", 1)[0]).lower()
    if algo not in ZOO_ALGOS:
        raise ValueError(
            f"unknown algo {algo!r} for expert folder {folder} (folders are named "
            f"'<algo>_<Env>'; known algos: {sorted(ZOO_ALGOS)}); pass algo=... explicitly"
        )
    data = _read_zoo_data(zip_path)
    saved_obs, saved_act = data.get("observation_space", {}), data.get("action_space", {})
    policy_obs_shape = tuple(int(d) for d in saved_obs.get("shape") or ())

    saved_env_id = zip_path.stem
    hyperparams_dir = folder / saved_env_id
    config_path = hyperparams_dir / "config.yml"
    config = _read_zoo_config(config_path) if config_path.is_file() else {}

    env_id = env_id or gymnasium_env_id(saved_env_id)
    env_kwargs = default_env_kwargs(env_id) if env_kwargs is None else dict(env_kwargs)
    env = _probe_env(env_id, env_kwargs)
    time_feature = _zoo_time_feature(config, config_path, env.max_episode_steps)
    pad_to = _obs_adapter(
        source=folder,
        env_id=env_id,
        env_kwargs=env_kwargs,
        env_obs_space=env.observation_space,
        policy_obs_shape=policy_obs_shape,
        time_feature=time_feature is not None,
    )
    _check_action_space(folder, env_id, env_kwargs, env.action_space, saved_act)

    vecnormalize_path = hyperparams_dir / "vecnormalize.pkl"
    has_vecnormalize = vecnormalize_path.is_file()
    if not has_vecnormalize and config.get("normalize"):
        raise FileNotFoundError(
            f"{config_path} sets normalize={config['normalize']!r} but {vecnormalize_path} "
            "is missing"
        )

    algo_cls = _import_zoo_algo(algo)  # also makes sb3's classes importable for the pickle
    obs_normalizer = None
    if has_vecnormalize:
        obs_normalizer = _load_vecnormalize(vecnormalize_path, policy_obs_shape[0], folder)

    from gymnasium import spaces

    policy_obs_space = spaces.Box(-np.inf, np.inf, policy_obs_shape, np.float32)
    custom_objects = {
        "observation_space": policy_obs_space,
        "action_space": env.action_space,
        "learning_rate": 0.0,
        "lr_schedule": lambda _: 0.0,
        "clip_range": lambda _: 0.0,
        "delta_std_schedule": lambda _: 0.0,
        "exploration_schedule": lambda _: 0.0,
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not deserialize object")
        model = algo_cls.load(zip_path, device="cpu", custom_objects=custom_objects)
    model.policy.set_training_mode(False)
    is_box = isinstance(env.action_space, spaces.Box)

    def predict(x: np.ndarray) -> np.ndarray:
        actions, _ = model.predict(x, deterministic=deterministic)
        return actions.astype(np.float32, copy=False) if is_box else actions

    return ExpertPolicy(
        name=folder.name,
        algo=algo,
        source=zip_path,
        env_id=env_id,
        env_kwargs=env_kwargs,
        observation_space=env.observation_space,
        action_space=env.action_space,
        predict_fn=predict,
        policy_obs_dim=policy_obs_shape[0],
        pad_to=pad_to,
        time_feature=time_feature,
        obs_normalizer=obs_normalizer,
        deterministic=deterministic,
    )


# --------------------------------------------------------------------------------------------
# CS285 (pure numpy)
# --------------------------------------------------------------------------------------------
_CS285_PICKLE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays and nothing else (no arbitrary code)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _CS285_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def _cs285_params(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = _NumpyOnlyUnpickler(f).load()
        nonlin = data["nonlin_type"]
        (policy_type,) = [k for k in data if k != "nonlin_type"]
        if policy_type != "GaussianPolicy":
            raise ValueError(f"policy type {policy_type!r} is not GaussianPolicy")
        params = data[policy_type]
        hidden = params["hidden"]["FeedforwardNet"]
        layer_names = sorted(hidden, key=lambda k: int(k.rsplit("_", 1)[1]))
        layers = [
            (
                np.asarray(hidden[k]["AffineLayer"]["W"], np.float64),
                np.asarray(hidden[k]["AffineLayer"]["b"], np.float64).reshape(-1),
            )
            for k in layer_names
        ]
        out = params["out"]["AffineLayer"]
        norm = params["obsnorm"]["Standardizer"]
        mean = np.asarray(norm["mean_1_D"], np.float64).reshape(-1)
        meansq = np.asarray(norm["meansq_1_D"], np.float64).reshape(-1)
    except (OSError, pickle.UnpicklingError, KeyError, ValueError, IndexError, TypeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"not a CS285 expert policy pickle: {path} ({exc})") from exc
    if nonlin not in ("tanh", "lrelu"):
        raise ValueError(f"{path}: unsupported nonlin_type {nonlin!r}")
    return {
        "nonlin": nonlin,
        "layers": layers,
        "out": (
            np.asarray(out["W"], np.float64),
            np.asarray(out["b"], np.float64).reshape(-1),
        ),
        "mean": mean,
        "std": np.sqrt(np.maximum(0.0, meansq - mean**2)),
        "logstd": np.asarray(params["logstdevs_1_Da"], np.float64).reshape(-1),
    }


def load_cs285_policy(
    pkl_path: str | os.PathLike[str],
    env_id: str | None = None,
    deterministic: bool = True,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> ExpertPolicy:
    """Load a CS285 ``<Env>.pkl`` (or a folder holding exactly one ``.pkl``), pure numpy.

    Action = mean of the Gaussian head, clipped to [-1, 1]. ``deterministic=False`` adds
    ``exp(logstd) * N(0, 1)`` noise from ``numpy.random.default_rng(seed)`` before clipping.
    ``env_id`` defaults to ``<Env>-v5`` (for Walker2d, ``Walker2d-v4`` scores higher).
    """
    path = Path(pkl_path)
    if path.is_dir():
        pkls = sorted(path.glob("*.pkl"))
        if len(pkls) != 1:
            raise FileNotFoundError(
                f"expected exactly one CS285 <Env>.pkl in {path}, found {[p.name for p in pkls]}"
            )
        path = pkls[0]
    if not path.is_file():
        raise FileNotFoundError(f"CS285 expert pickle not found: {path}")
    p = _cs285_params(path)

    env_id = env_id or f"{path.stem}-v5"
    env_kwargs = default_env_kwargs(env_id) if env_kwargs is None else dict(env_kwargs)
    env = _probe_env(env_id, env_kwargs)
    policy_obs_dim = p["mean"].shape[0]
    pad_to = _obs_adapter(
        source=path,
        env_id=env_id,
        env_kwargs=env_kwargs,
        env_obs_space=env.observation_space,
        policy_obs_shape=(policy_obs_dim,),
        time_feature=False,
    )
    act_dim = p["out"][1].shape[0]
    from gymnasium import spaces

    env_desc = _describe_env(env_id, env_kwargs)
    if not isinstance(env.action_space, spaces.Box) or env.action_space.shape != (act_dim,):
        raise ValueError(
            f"{path}: checkpoint action shape ({act_dim},) does not match env {env_desc} "
            f"action space {env.action_space}"
        )

    layers, (w_out, b_out) = p["layers"], p["out"]
    mean, std, nonlin = p["mean"], p["std"], p["nonlin"]
    noise_scale = np.exp(p["logstd"])
    rng = np.random.default_rng(seed)
    dtype = env.action_space.dtype

    def predict(x: np.ndarray) -> np.ndarray:
        h = (x - mean) / (std + 1e-6)
        for w, b in layers:
            h = h @ w + b
            h = np.tanh(h) if nonlin == "tanh" else np.maximum(h, 0.01 * h)
        a = h @ w_out + b_out
        if not deterministic:
            a = a + noise_scale * rng.standard_normal(a.shape)
        return np.clip(a, -1.0, 1.0).astype(dtype)

    parent = path.parent.name
    return ExpertPolicy(
        name=parent if parent.startswith(f"{_CS285}_") else f"{_CS285}_{path.stem}",
        algo=_CS285,
        source=path,
        env_id=env_id,
        env_kwargs=env_kwargs,
        observation_space=env.observation_space,
        action_space=env.action_space,
        predict_fn=predict,
        policy_obs_dim=policy_obs_dim,
        pad_to=pad_to,
        deterministic=deterministic,
    )


# --------------------------------------------------------------------------------------------
# Lookup by folder name, evaluation
# --------------------------------------------------------------------------------------------
def resolve_experts_dir(experts_dir: str | os.PathLike[str] | None = None) -> Path:
    """``experts_dir``, else ``$IMITATION_LAB_EXPERTS_DIR``; must be an existing folder."""
    if experts_dir is None:
        env_value = os.environ.get(EXPERTS_DIR_ENV_VAR)
        if not env_value:
            raise FileNotFoundError(
                f"no experts folder given: pass experts_dir or set ${EXPERTS_DIR_ENV_VAR}"
            )
        experts_dir = env_value
    root = Path(experts_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"experts folder not found: {root}")
    return root


def _source_kind(name: str) -> str | None:
    prefix = name.split("_", 1)[0].lower()
    if prefix == _CS285:
        return _CS285
    return prefix if prefix in ZOO_ALGOS and "_" in name else None


def list_experts(experts_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the expert folders (``<algo>_<Env>`` / ``cs285_<Env>``) in ``experts_dir``."""
    root = resolve_experts_dir(experts_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _source_kind(p.name))


def find_expert(
    name: str,
    experts_dir: str | os.PathLike[str] | None = None,
    *,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> ExpertPolicy:
    """Load the expert folder ``experts_dir/name`` (``tqc_HalfCheetah``, ``cs285_Hopper``, ...)
    with the loader its prefix names (``cs285`` or an rl-zoo algo)."""
    kind = _source_kind(name)
    if kind is None:
        raise ValueError(
            f"unknown expert {name!r}: names are '<source>_<Env>' with source in "
            f"{[_CS285, *sorted(ZOO_ALGOS)]}"
        )
    root = resolve_experts_dir(experts_dir)
    folder = root / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"expert folder not found: {folder} (available: {', '.join(list_experts(root))})"
        )
    if kind == _CS285:
        return load_cs285_policy(folder, env_id, deterministic=deterministic, env_kwargs=env_kwargs)
    return load_zoo_policy(folder, env_id, deterministic=deterministic, env_kwargs=env_kwargs)


def evaluate_expert(
    policy: ExpertPolicy,
    seeds: Iterable[int] = range(5),
    *,
    max_steps: int | None = None,
    env: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run one episode per seed (``env.reset(seed=s)``) and return (returns, lengths).

    Uses ``policy.make_env()`` (default TimeLimit) unless ``env`` is given; ``max_steps`` cuts
    episodes short.
    """
    own_env = env is None
    env = policy.make_env() if own_env else env
    returns, lengths = [], []
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=int(seed))
            policy.reset()
            total, steps, done = 0.0, 0, False
            while not done and (max_steps is None or steps < max_steps):
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += float(reward)
                steps += 1
                done = terminated or truncated
            returns.append(total)
            lengths.append(steps)
    finally:
        if own_env:
            env.close()
    if not math.isfinite(sum(returns)):
        warnings.warn(f"{policy.name}: non-finite returns {returns}", stacklevel=2)
    return np.asarray(returns), np.asarray(lengths)
