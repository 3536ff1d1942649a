"""Recipes for the datasets imitation_lab builds itself, offline, from its scripted experts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imitation_lab.data.experts import CartPoleExpert, ExpertFn, PendulumSwingUpExpert


@dataclass(frozen=True)
class BuiltinRecipe:
    """How to build one dataset: env, expert, episode count and seed."""

    env_id: str
    make_expert: Callable[[], ExpertFn]
    episodes: int
    seed: int
    algorithm_name: str
    description: str
    ref_episodes: int = 50


BUILTIN_RECIPES: dict[str, BuiltinRecipe] = {
    "imitation-lab/pendulum/expert-v0": BuiltinRecipe(
        env_id="Pendulum-v1",
        make_expert=PendulumSwingUpExpert,
        episodes=50,
        seed=0,
        algorithm_name="scripted-energy-swingup-pd",
        description=(
            "Pendulum-v1 swing-up expert (energy pumping + PD balance, imitation_lab built-in), "
            "50 episodes x 200 steps. ref_min_score: uniform random policy; ref_max_score: "
            "the expert, both averaged over 50 seeded episodes."
        ),
    ),
    "imitation-lab/cartpole/expert-v0": BuiltinRecipe(
        env_id="CartPole-v1",
        make_expert=CartPoleExpert,
        episodes=20,
        seed=0,
        algorithm_name="scripted-linear-feedback",
        description=(
            "CartPole-v1 linear state-feedback expert (imitation_lab built-in), 20 episodes of "
            "500 steps. ref_min_score: uniform random policy; ref_max_score: the expert."
        ),
    ),
}
