"""The single place where config ``_target_``s are instantiated."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate as hydra_instantiate
from omegaconf import DictConfig

from imitation_lab.errors import ConfigError


def instantiate(node: DictConfig, /, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with config errors turned into one clear ``ConfigError``."""
    try:
        return hydra_instantiate(node, **kwargs)
    except Exception as err:
        key = node._get_full_key(None) or "<root>"
        target = node.get("_target_")
        cause = err.__cause__ or err
        raise ConfigError(
            f"Could not build `{key}` (_target_={target}): {type(cause).__name__}: {cause}"
        ) from err
