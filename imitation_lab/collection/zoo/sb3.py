"""rl-zoo (stable-baselines3 / sb3-contrib) checkpoints, and the ExpertPolicy contract.

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
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from imitation_lab.collection.zoo.envs import (
    check_action_space,
    default_env_kwargs,
    gymnasium_env_id,
    obs_adapter,
    probe_env,
)
from imitation_lab.collection.zoo.policy import ExpertPolicy, TimeFeature, VecNormalizeObs

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
) -> TimeFeature | None:
    time_feature = None
    for name, kwargs in _env_wrappers(config):
        if name.rsplit(".", 1)[-1] != "TimeFeatureWrapper":
            raise ValueError(
                f"{config_path}: env_wrapper {name!r} is not supported (only TimeFeatureWrapper)"
            )
        # sb3-contrib takes the TimeLimit's max_episode_steps first, max_steps as fallback.
        max_steps = max_episode_steps or int(kwargs.get("max_steps", 1000))
        time_feature = TimeFeature(max_steps, bool(kwargs.get("test_mode", False)))
    if config.get("frame_stack"):
        raise ValueError(f"{config_path}: frame_stack is not supported")
    return time_feature


class _GymToGymnasiumUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "gym" or module.startswith("gym."):
            module = "gymnasium" + module[3:]
        return super().find_class(module, name)


def _load_vecnormalize(path: Path, policy_obs_dim: int, folder: Path) -> VecNormalizeObs | None:
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
    return VecNormalizeObs(
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
    env = probe_env(env_id, env_kwargs)
    time_feature = _zoo_time_feature(config, config_path, env.max_episode_steps)
    pad_to = obs_adapter(
        source=folder,
        env_id=env_id,
        env_kwargs=env_kwargs,
        env_obs_space=env.observation_space,
        policy_obs_shape=policy_obs_shape,
        time_feature=time_feature is not None,
    )
    check_action_space(folder, env_id, env_kwargs, env.action_space, saved_act)

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
