"""Every config option composes and instantiates; bad values fail at start naming the key."""

from __future__ import annotations

import gymnasium as gym
import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf.errors import ConfigAttributeError, ValidationError

from imitation_lab.config.build import build_policy
from imitation_lab.config.schemas import SCHEMAS, validate
from imitation_lab.errors import ConfigError
from imitation_lab.policy.imitation import ImitationPolicy
from tests.conftest import CONFIG_DIR
from tests.helpers import compose_config

GROUPS = ["actor", "optim", "scheduler", "bounding", "dataset", "trainer", "logger", "experiment"]
OPTIONS = [
    (group, path.stem) for group in GROUPS for path in sorted((CONFIG_DIR / group).glob("*.yaml"))
]
BOX = gym.spaces.Box(-2.0, 2.0, shape=(1,))
OBS = gym.spaces.Box(-8.0, 8.0, shape=(3,))
IMAGE = gym.spaces.Box(0, 255, shape=(36, 36, 3), dtype="uint8")


def test_every_group_has_options() -> None:
    assert {group for group, _ in OPTIONS} == set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_and_builds_a_policy(group: str, option: str) -> None:
    cfg = compose_config([f"{group}={option}"])
    validate(cfg)
    discrete = cfg.dataset.id.startswith("imitation-lab/cartpole")
    action_space = gym.spaces.Discrete(2) if discrete else BOX
    obs_space = IMAGE if cfg.actor._target_.endswith("CNNActor") else OBS  # CNN: images only
    policy = build_policy(cfg, obs_space, action_space, total_steps=100)
    assert isinstance(policy, ImitationPolicy)
    assert policy.action_scaling == cfg.bounding.action_scaling


def test_schemas_are_all_used_by_an_option() -> None:
    yaml_text = "\n".join(p.read_text() for p in CONFIG_DIR.rglob("*.yaml"))
    for _, name in SCHEMAS:
        assert name in yaml_text, f"schema {name} is registered but no YAML names it"


def test_defaults() -> None:
    cfg = compose_config([], fast=False)
    assert cfg.dataset.id == "imitation-lab/pendulum/expert-v0"
    assert cfg.bounding.action_bound_method.value == "clip"
    assert cfg.bounding.action_scaling is True
    assert cfg.logger.mode.value == "offline"
    assert cfg.seed == 0


def test_cartpole_selects_no_bounding() -> None:
    cfg = compose_config(["dataset=cartpole"])
    assert cfg.bounding.action_bound_method is None
    assert cfg.bounding.action_scaling is False


def test_experiment_overrides_root_values() -> None:
    cfg = compose_config(["experiment=cartpole_bc"], fast=False)
    assert cfg.trainer.steps == 3000
    assert list(cfg.tags) == ["bc", "cartpole"]


def test_unknown_choice_names_the_group() -> None:
    with pytest.raises(MissingConfigException, match="bounding/sigmoid"):
        compose_config(["bounding=sigmoid"])


def test_typo_key_fails_at_compose() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["trainer.bach_size=3"])
    assert isinstance(info.value.__cause__, ConfigAttributeError)
    assert "bach_size" in str(info.value.__cause__)


def test_wrong_type_fails_at_compose() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["trainer.batch_size=abc"])
    assert isinstance(info.value.__cause__, ValidationError)
    assert "trainer.batch_size" in str(info.value.__cause__)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optim.lr=-1", "optim.lr"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("optim.weight_decay=-0.1", "optim.weight_decay"),
        ("trainer.eval_episodes=-1", "trainer.eval_episodes"),
        ("scheduler=cosine scheduler.min_lr_ratio=2", "scheduler.min_lr_ratio"),
        ("actor.hidden_sizes=[64,0]", "actor.hidden_sizes"),
    ],
)
def test_out_of_range_values_name_the_key(override: str, key: str) -> None:
    cfg = compose_config(override.split())
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(cfg)


def test_scaling_an_unbounded_output_is_rejected() -> None:
    cfg = compose_config(["bounding=none", "bounding.action_scaling=true"])
    with pytest.raises(ConfigError, match="action_scaling"):
        validate(cfg)


@pytest.mark.parametrize("bounding", ["clip", "tanh", "tanh_squash", "none"])
def test_bounding_is_set_aside_on_a_discrete_space_with_one_line(
    bounding: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Tianshou uses bounding and scaling only for continuous actions: a Discrete dataset
    trains under any bounding choice (e.g. the default clip), saying so once."""
    cfg = compose_config(["dataset=cartpole", f"bounding={bounding}"])
    with caplog.at_level("INFO", logger="imitation_lab.config.checks"):
        policy = build_policy(cfg, OBS, gym.spaces.Discrete(2), total_steps=10)
    assert policy.action_scaling is False and policy.action_bound_method is None
    notes = [r.getMessage() for r in caplog.records if "Box" in r.getMessage()]
    assert len(notes) == (bounding != "none"), notes
    if notes:
        assert "Discrete(2)" in notes[0] and "not used" in notes[0]


def test_partials_build_optimizer_and_scheduler() -> None:
    cfg = compose_config(
        ["optim=adamw", "optim.lr=0.01", "scheduler=cosine", "scheduler.warmup_steps=10"]
    )
    policy = build_policy(cfg, OBS, BOX, total_steps=100)
    assert type(policy.optim).__name__ == "AdamW"
    assert policy.optim.param_groups[0]["weight_decay"] == pytest.approx(0.01)
    assert policy.optim.param_groups[0]["lr"] == pytest.approx(0.01 / 10)  # warm-up step 0
    assert [layer.out_features for layer in policy.actor.net if hasattr(layer, "out_features")] == [
        32,
        32,
        1,
    ]
