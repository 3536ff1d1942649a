"""Which installed package registers an env id that ``gym.make`` does not know yet.

Gymnasium knows the envs of a package only once it is imported: ``PointMaze_Open-v3`` needs
``gymnasium_robotics`` (``gym.make("gymnasium_robotics:PointMaze_Open-v3")`` imports it
first). ``package_hint`` finds that prefix among the env packages this project uses, so an
error can say what to type instead of "install its package" when it is installed.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings

import gymnasium as gym

#: env packages that register their envs on import (gymnasium's ``module:Env-v0`` syntax)
ENV_PACKAGES = ("gymnasium_robotics", "minigrid", "ale_py", "shimmy")


def package_hint(env_id: str) -> str | None:
    """``<package>:<env_id>`` when an installed package in ``ENV_PACKAGES`` registers
    ``env_id`` on import; None when none does (or ``env_id`` names its module already)."""
    if ":" in env_id:
        return None
    quiet = io.StringIO()  # packages print notices on import: not part of our one line
    for name in ENV_PACKAGES:
        with (
            contextlib.suppress(Exception),  # not installed, or broken: not the answer
            contextlib.redirect_stdout(quiet),
            contextlib.redirect_stderr(quiet),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            module = importlib.import_module(name)
            gym.register_envs(module)
            if env_id in gym.registry:
                return f"{name}:{env_id}"
    return None
