"""Pretrained expert checkpoints (rl-zoo / stable-baselines3 and CS285) as numpy callables.

``find_expert("tqc_HalfCheetah", experts_dir)`` loads a folder by name with the loader its
prefix names; ``sb3`` and ``cs285`` hold the two formats, ``envs`` the gym -> gymnasium id and
shape rules, ``policy`` the ``ExpertPolicy`` both return.
"""

from imitation_lab.collection.zoo.cs285 import load_cs285_policy
from imitation_lab.collection.zoo.policy import ExpertPolicy
from imitation_lab.collection.zoo.registry import (
    EXPERTS_DIR_ENV_VAR,
    REPO_EXPERTS_DIR,
    evaluate_expert,
    find_expert,
    list_experts,
    resolve_experts_dir,
)
from imitation_lab.collection.zoo.sb3 import ZOO_ALGOS, load_zoo_policy

__all__ = [
    "EXPERTS_DIR_ENV_VAR",
    "REPO_EXPERTS_DIR",
    "ZOO_ALGOS",
    "ExpertPolicy",
    "evaluate_expert",
    "find_expert",
    "list_experts",
    "load_cs285_policy",
    "load_zoo_policy",
    "resolve_experts_dir",
]
