"""The single place where config ``_target_``s are instantiated, and the rule for configs
read back from files (checkpoints, run dirs): they are data, and may only name the project's
own options.

A checkpoint records the config of its run, and ``load_policy`` rebuilds the actor, optimizer
and scheduler from it. Instantiating whatever ``_target_`` a file names would let a shared
checkpoint run any callable (``pathlib.Path.unlink``, ``os.system``). ``check_targets`` walks a
config tree read from a file and refuses, in one line, any ``_target_`` that is not one of the
options the project ships (``config.shipped_targets``) or that the user trusts explicitly
(``IMITATION_LAB_TRUSTED_TARGETS``, comma-separated: their own actor class, say).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from typing import Any

from hydra.utils import instantiate as hydra_instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from imitation_lab.errors import ConfigError

TRUSTED_TARGETS_ENV = "IMITATION_LAB_TRUSTED_TARGETS"

#: ``_target_``s that earlier versions recorded in checkpoints and run dirs -> where they live
#: now. A module that moves adds its shipped targets here, so what users already have keeps
#: loading and resuming (``tests/reliability/test_legacy_run_dirs.py``).
MOVED_TARGETS = {
    "imitation_lab.schedulers.no_scheduler": "imitation_lab.training.schedulers.no_scheduler",
    "imitation_lab.schedulers.step": "imitation_lab.training.schedulers.step",
    "imitation_lab.schedulers.warmup_cosine": "imitation_lab.training.schedulers.warmup_cosine",
    "imitation_lab.loggers.NullLogger": "imitation_lab.training.loggers.NullLogger",
    "imitation_lab.loggers.WandbLogger": "imitation_lab.training.loggers.WandbLogger",
    "imitation_lab.collection.sources.checkpoint_source": (
        "imitation_lab.inference.checkpoint_source"
    ),
}


def current_targets(tree: Any) -> Any:
    """``tree`` (plain data) with every moved ``_target_`` by its current path."""
    if isinstance(tree, dict):
        return {
            k: MOVED_TARGETS.get(v, v)
            if k == "_target_" and isinstance(v, str)
            else current_targets(v)
            for k, v in tree.items()
        }
    if isinstance(tree, list):
        return [current_targets(v) for v in tree]
    return tree


def instantiate(node: DictConfig, /, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with moved ``_target_``s read at their current path and
    config errors turned into one clear ``ConfigError``."""
    key = node._get_full_key(None) or "<root>"
    if any(target in MOVED_TARGETS for _, target in targets_in(node)):
        node = OmegaConf.create(current_targets(OmegaConf.to_container(node, resolve=True)))
    try:
        return hydra_instantiate(node, **kwargs)
    except Exception as err:
        target = node.get("_target_")
        cause = err.__cause__ or err
        raise ConfigError(
            f"Could not build `{key}` (_target_={target}): {type(cause).__name__}: {cause}"
        ) from err


def trusted_targets() -> frozenset[str]:
    """The ``_target_``s the user trusts beyond the shipped ones (the env variable)."""
    value = os.environ.get(TRUSTED_TARGETS_ENV, "")
    return frozenset(t.strip() for t in value.split(",") if t.strip())


def targets_in(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(key, value)`` of every ``_target_`` in a config tree (dicts, lists, OmegaConf nodes)."""
    if isinstance(tree, DictConfig | ListConfig):
        tree = OmegaConf.to_container(tree, resolve=False)
    if isinstance(tree, dict):
        for key, value in tree.items():
            path = f"{prefix}{key}"
            if key == "_target_":
                yield path, value
            else:
                yield from targets_in(value, f"{path}.")
    elif isinstance(tree, list | tuple):
        for index, value in enumerate(tree):
            yield from targets_in(value, f"{prefix}{index}.")


def check_targets(tree: Any, source: str, allowed: Collection[str]) -> None:
    """Refuse a config read from ``source`` (a file) that names a ``_target_`` outside
    ``allowed`` and the user's trusted ones: one ``ConfigError`` naming the key."""
    trusted = trusted_targets()
    for key, target in targets_in(tree):
        if target is None or MOVED_TARGETS.get(target, target) in allowed or target in trusted:
            continue
        raise ConfigError(
            f"{source} names `{key}: {target}`, which is not one of imitation_lab's options: "
            "refused (a config read from a file is data and never runs code). If you wrote "
            f"that callable and trust this file, add it to {TRUSTED_TARGETS_ENV}."
        )
