"""Expert policy loaders against the real checkpoints in ../shared/experts (skipped if absent)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imitation_lab.collection.zoo import (
    EXPERTS_DIR_ENV_VAR,
    ExpertPolicy,
    find_expert,
    list_experts,
    load_cs285_policy,
    load_zoo_policy,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPERTS_DIR = Path(
    os.environ.get(EXPERTS_DIR_ENV_VAR) or REPO_ROOT.parent / "shared" / "experts"
).resolve()

pytestmark = [
    pytest.mark.experts,
    pytest.mark.skipif(not EXPERTS_DIR.is_dir(), reason=f"no experts folder at {EXPERTS_DIR}"),
]

# folder -> (env_id, env_kwargs, plain obs dim, SOURCES.md 5-episode mean over 1000 steps)
CASES = {
    "tqc_HalfCheetah": ("HalfCheetah-v5", {}, 17, 12183.0),
    "trpo_Ant": ("Ant-v5", {"include_cfrc_ext_in_observation": False}, 27, 5148.0),
    "ppo_Walker2d": ("Walker2d-v5", {}, 17, 3657.0),
    "cs285_Hopper": ("Hopper-v5", {}, 11, 3728.0),
}
STEPS = 200
_cache: dict[str, ExpertPolicy] = {}


def _needs_zoo(name: str) -> None:
    if not name.startswith("cs285_"):
        pytest.importorskip("stable_baselines3")
        pytest.importorskip("sb3_contrib")


def _expert(name: str) -> ExpertPolicy:
    _needs_zoo(name)
    if name not in _cache:
        _cache[name] = find_expert(name, EXPERTS_DIR)
    return _cache[name]


def _rollout(policy: ExpertPolicy, seed: int = 0, steps: int = STEPS):
    env = policy.make_env()
    obs, _ = env.reset(seed=seed)
    policy.reset()
    observations, actions, total = [], [], 0.0
    for _ in range(steps):
        action = policy(obs)
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        if terminated or truncated:
            break
    env.close()
    return np.stack(observations), np.stack(actions), total


@pytest.mark.parametrize("name", list(CASES))
def test_expert_short_episode(name: str) -> None:
    env_id, env_kwargs, obs_dim, full_return = CASES[name]
    policy = _expert(name)
    assert policy.name == name
    assert policy.env_id == env_id
    assert policy.env_kwargs == env_kwargs
    assert policy.obs_dim == obs_dim
    # The env the dataset records is the plain one (no padding / time feature).
    assert policy.make_env().observation_space.shape == (obs_dim,)

    observations, actions, total = _rollout(policy)
    assert len(observations) == STEPS, "an expert fell within 200 steps"
    assert observations.shape[1] == obs_dim
    assert actions.shape == (STEPS, *policy.action_space.shape)
    assert np.all(np.abs(actions) <= 1.0)
    prorated = full_return * STEPS / 1000
    assert 0.5 * prorated < total < 1.3 * prorated, (name, total, prorated)

    # One batched call (vectorised envs) gives the same actions as the single calls.
    batched = policy(observations, elapsed_steps=np.arange(len(observations)))
    np.testing.assert_allclose(batched, actions, rtol=1e-5, atol=1e-5)


def test_list_and_find() -> None:
    names = list_experts(EXPERTS_DIR)
    assert {"tqc_HalfCheetah", "cs285_Hopper", "trpo_Ant", "ppo_Walker2d"} <= set(names)
    with pytest.raises(ValueError, match="unknown expert 'nope_Foo'"):
        find_expert("nope_Foo", EXPERTS_DIR)
    with pytest.raises(FileNotFoundError, match="tqc_Nothing"):
        find_expert("tqc_Nothing", EXPERTS_DIR)


def test_time_feature_and_vecnormalize_match_sb3_wrappers() -> None:
    """ppo_Walker2d: our input equals TimeFeatureWrapper + VecNormalize.normalize_obs."""
    policy = _expert("ppo_Walker2d")
    assert policy.stateful and policy.policy_obs_dim == 18
    from sb3_contrib.common.wrappers import TimeFeatureWrapper

    from imitation_lab.collection.zoo.sb3 import _GymToGymnasiumUnpickler

    with open(EXPERTS_DIR / "ppo_Walker2d" / "Walker2d-v3" / "vecnormalize.pkl", "rb") as f:
        vec_normalize = _GymToGymnasiumUnpickler(f).load()
    env = TimeFeatureWrapper(policy.make_env())
    wrapped_obs, _ = env.reset(seed=3)
    policy.reset()
    for t in range(30):
        plain = wrapped_obs[:-1]
        expected = vec_normalize.normalize_obs(wrapped_obs)
        np.testing.assert_allclose(policy.policy_input(plain, elapsed_steps=t), expected, 1e-6)
        wrapped_obs, *_ = env.step(policy(plain))  # counter advances by one per call


def test_ant_padding_matches_vecnormalize() -> None:
    policy = _expert("trpo_Ant")
    from imitation_lab.collection.zoo.sb3 import _GymToGymnasiumUnpickler

    with open(EXPERTS_DIR / "trpo_Ant" / "Ant-v3" / "vecnormalize.pkl", "rb") as f:
        vec_normalize = _GymToGymnasiumUnpickler(f).load()
    obs, _ = policy.make_env().reset(seed=0)
    expected = vec_normalize.normalize_obs(np.concatenate([obs, np.zeros(84)]))
    np.testing.assert_allclose(policy.policy_input(obs), expected, rtol=1e-6)


def test_stateful_counters_with_vector_env() -> None:
    policy = _expert("ppo_Walker2d")
    envs = policy.make_vec_env(2)
    obs, _ = envs.reset(seed=[0, 1])
    policy.reset()
    for t in range(5):
        actions = policy(obs)
        np.testing.assert_allclose(actions, policy(obs, elapsed_steps=t), atol=1e-6)
        obs, *_ = envs.step(actions)
    policy.reset(np.array([True, False]))  # sub-env 0 restarted: its counter is 0 again
    np.testing.assert_allclose(policy(obs), policy(obs, elapsed_steps=[0, 5]), atol=1e-6)
    envs.close()
    with pytest.raises(ValueError, match="call reset"):
        policy(obs[:1])
    policy.reset()


def test_bad_observation_shape() -> None:
    policy = _expert("cs285_Hopper")
    with pytest.raises(ValueError, match=r"shape \(11,\) or \(N, 11\).*got shape \(5,\)"):
        policy(np.zeros(5))


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing_expert"):
        load_zoo_policy(tmp_path / "missing_expert")
    (tmp_path / "tqc_Empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no rl-zoo checkpoint.*tqc_Empty"):
        load_zoo_policy(tmp_path / "tqc_Empty")
    with pytest.raises(FileNotFoundError, match=r"Hopper\.pkl"):
        load_cs285_policy(tmp_path / "Hopper.pkl")


def test_missing_vecnormalize(tmp_path: Path) -> None:
    src = EXPERTS_DIR / "ppo_Walker2d"
    dst = tmp_path / "ppo_Walker2d"
    (dst / "Walker2d-v3").mkdir(parents=True)
    (dst / "Walker2d-v3.zip").symlink_to(src / "Walker2d-v3.zip")
    for f in ("config.yml", "args.yml"):
        (dst / "Walker2d-v3" / f).symlink_to(src / "Walker2d-v3" / f)
    with pytest.raises(FileNotFoundError, match=r"vecnormalize\.pkl"):
        load_zoo_policy(dst)


def test_unknown_algo(tmp_path: Path) -> None:
    folder = tmp_path / "foo_HalfCheetah"
    folder.mkdir()
    (folder / "HalfCheetah-v3.zip").symlink_to(
        EXPERTS_DIR / "tqc_HalfCheetah" / "HalfCheetah-v3.zip"
    )
    with pytest.raises(ValueError, match=r"unknown algo 'foo'.*foo_HalfCheetah"):
        load_zoo_policy(folder)


def test_shape_mismatch_names_folder_env_and_shapes() -> None:
    with pytest.raises(ValueError) as err:
        load_zoo_policy(EXPERTS_DIR / "tqc_HalfCheetah", env_id="Hopper-v5")
    msg = str(err.value)
    assert "tqc_HalfCheetah" in msg and "Hopper-v5" in msg
    assert "(17,)" in msg and "(11,)" in msg
    # Ant-v5 with its default 105-dim observation (contact forces) must not be padded silently.
    with pytest.raises(ValueError, match=r"trpo_Ant.*\(111,\).*Ant-v5.*\(105,\)"):
        load_zoo_policy(EXPERTS_DIR / "trpo_Ant", env_id="Ant-v5", env_kwargs={})
    with pytest.raises(ValueError, match=r"Hopper\.pkl.*\(11,\).*HalfCheetah-v5.*\(17,\)"):
        load_cs285_policy(EXPERTS_DIR / "cs285_Hopper" / "Hopper.pkl", env_id="HalfCheetah-v5")


def test_import_error_without_zoo_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)
    with pytest.raises(ImportError, match=r"pip install imitation-lab\[zoo\]"):
        load_zoo_policy(EXPERTS_DIR / "tqc_HalfCheetah")


def test_module_does_not_import_sb3() -> None:
    code = (
        "import sys, imitation_lab.collection.zoo.sb3 as m; "
        "assert 'stable_baselines3' not in sys.modules and 'sb3_contrib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)
