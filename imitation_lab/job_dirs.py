"""Sweep job folders that name one config: ``<job number>-<config hash>``.

``hydra.sweep.subdir: ${imitation_lab.job_dir:}`` (conf/train.yaml). Hydra's default, the job
number alone, names a different config when a sweep is changed and re-run, so job ``3/`` would
be trained again in place over the old results. The hash of the job's resolved config (without
the keys that do not change results: logger, tags, progress, resume) makes the folder belong
to one config: the same job re-run finds its folder (skipped when finished, resumed when not),
a changed job gets a new folder beside the old one, and nothing is overwritten.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig, OmegaConf

from imitation_lab.run_dir import comparable

RESOLVER = "imitation_lab.job_dir"


def config_hash(resolved: dict[str, Any]) -> str:
    """8 hex digits of the job's resolved config, without the keys that do not change it."""
    text = json.dumps(comparable(resolved), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def job_dir_name(*, _root_: DictConfig) -> str:
    """``<job number>-<config hash>`` of the job whose config is ``_root_`` (a resolver)."""
    number = OmegaConf.select(_root_, "hydra.job.num", default=None)
    keys = [key for key in _root_ if key != "hydra"]
    resolved = OmegaConf.to_container(
        OmegaConf.masked_copy(_root_, keys), resolve=True, enum_to_str=True
    )
    assert isinstance(resolved, dict)
    return f"{'job' if number is None else number}-{config_hash(resolved)}"  # type: ignore[arg-type]


def register_resolver() -> None:
    """Make ``${imitation_lab.job_dir:}`` available (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, job_dir_name)
