"""CS285 expert pickles (observation standardiser, tanh MLP, linear mean head), pure numpy."""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from imitation_lab.collection.zoo.envs import (
    default_env_kwargs,
    describe_env,
    obs_adapter,
    probe_env,
)
from imitation_lab.collection.zoo.policy import ExpertPolicy

CS285 = "cs285"
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
    env = probe_env(env_id, env_kwargs)
    policy_obs_dim = p["mean"].shape[0]
    pad_to = obs_adapter(
        source=path,
        env_id=env_id,
        env_kwargs=env_kwargs,
        env_obs_space=env.observation_space,
        policy_obs_shape=(policy_obs_dim,),
        time_feature=False,
    )
    act_dim = p["out"][1].shape[0]
    from gymnasium import spaces

    env_desc = describe_env(env_id, env_kwargs)
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
        name=parent if parent.startswith(f"{CS285}_") else f"{CS285}_{path.stem}",
        algo=CS285,
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
