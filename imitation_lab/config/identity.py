"""Which config keys matter, and for what: the one place to classify a key.

Four questions are asked of a job's resolved config, each answered by one table here:

* ``NOT_COMPARED``: keys that do not change a run's result (a resumed or requeued job sets
  ``trainer.resume``; the logger, tags and progress bar only change what is shown). They are
  left out of the job's identity (``comparable``: the ``DONE.json`` comparison of a re-run
  sweep and the ``<job number>-<config hash>`` folder name) and of its W&B name.
* ``BATCHABLE``: keys that may differ between members trained as one stacked model
  (``group_key`` strips them); everything else changes shapes or code paths.
* ``RESUME_MUST_MATCH``: what a resumed run must share with its checkpoint (its optimizer,
  scheduler and sampler states come from it, so a changed learning rate, seed or batch size
  would be silently ignored or break exact resume): refused by ``check_same_setup``.
* ``AS_BEFORE``: keys added after runs were recorded (``head``), whose default value leaves a
  job what it was, so its hash and ``DONE.json`` still match.
* ``_target_`` names: a target is identified by the name it was first published under
  (``instantiate.MOVED_TARGETS``), so hashes, ``DONE.json`` comparisons and resume checks of
  run dirs written before a module moved still match.

A new config key: decide here whether it is batchable, compared and kept on resume.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from imitation_lab.config.instantiate import MOVED_TARGETS
from imitation_lab.errors import CheckpointError

#: (group, key) pairs that do not change a run's result; key None = the whole group
NOT_COMPARED = (("trainer", "resume"), ("trainer", "progress"), ("logger", None), ("tags", None))

#: keys (dotted) added after runs were recorded, with the value that means "as before": a job
#: with that value is the same job as one recorded without the key (its hash, DONE.json)
AS_BEFORE: dict[str, Any] = {
    "head": {"_target_": None, "act": "mode"},
    "dataset.top_fraction": None,
    "dataset.min_return": None,
    "dataset.val_fraction": None,
    "dataset.augment": None,
    "dataset.shift_pad": 4,
    "trainer.select": "best_eval",
    "trainer.ema_decay": None,
    "trainer.compile": False,
    "actor.loss_steps": "last",
    "trainer.compile_mode": "default",
    "head.chunk": 1,
    "head.nll_beta": 0.0,
    "head.sigma": 0.0,
    "policy": {"execute": "chunk", "ensemble_decay": 0.01},
}

#: config keys (dotted prefixes) that may differ between members trained as one stacked model
BATCHABLE = (
    "seed",
    "optim.lr",
    "optim.weight_decay",
    "optim.betas",
    "optim.eps",
    "optim.momentum",
    "optim.fused",  # an implementation choice: stacked members use one elementwise optimizer
    "optim.foreach",
    "scheduler",  # its parameters; scheduler._target_ must agree (checked in group_key)
    "bounding",
    "logger",
    "tags",
)

#: parts of a run's metadata (dotted prefixes) a resumed run must share with its checkpoint
RESUME_MUST_MATCH = (
    "dataset_id",
    "dataset_info.dataset_version",  # a rebuilt/other dataset under the same id
    "dataset_info.total_episodes",
    "dataset_info.total_steps",
    "dataset_info.data_digest",  # the data itself: a rebuild under the same id (another seed)
    "config.seed",  # the sampler and RNG states come from the checkpoint
    "config.actor",
    "config.optim",
    "config.scheduler",
    "config.bounding",
    "config.head",
    "config.dataset.normalize_obs",
    "config.dataset.top_fraction",  # which episodes it trains on
    "config.dataset.min_return",
    "config.dataset.val_fraction",
    "config.dataset.augment",  # what each minibatch looks like
    "config.dataset.shift_pad",
    "config.trainer.select",  # which weights best.pt holds
    "config.trainer.ema_decay",  # the average is part of the state
    "config.head.chunk",  # the actor's output size
    "config.trainer.batch_size",
)

#: today's ``_target_`` -> the name it was first published under (the identity of a target)
FIRST_NAMES = {new: old for old, new in MOVED_TARGETS.items()}

RESOLVER = "imitation_lab.job_dir"


# ---------------------------------------------------------------- the job's config as data
def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The job's config as plain data (interpolations resolved, enums as strings, no hydra)."""
    job_keys = [key for key in cfg if key != "hydra"]
    resolved = OmegaConf.to_container(
        OmegaConf.masked_copy(cfg, job_keys), resolve=True, enum_to_str=True
    )
    assert isinstance(resolved, dict)
    return resolved  # type: ignore[return-value]


def canonical(tree: Any) -> Any:
    """``tree`` with every ``_target_`` by its first published name (see the module doc)."""
    if isinstance(tree, dict):
        return {
            k: FIRST_NAMES.get(v, v) if k == "_target_" and isinstance(v, str) else canonical(v)
            for k, v in tree.items()
        }
    if isinstance(tree, list):
        return [canonical(v) for v in tree]
    return tree


def comparable(config: Any) -> Any:
    """``config`` as a job's identity: canonical targets, without the ``NOT_COMPARED`` keys and
    top-level nulls (a key added with a null default, such as ``hpo``, does not make an older
    ``DONE.json`` stale)."""
    if not isinstance(config, dict):
        return config
    out = dict(canonical(config))
    for dotted, value in AS_BEFORE.items():  # keys added inside a group (before whole groups)
        group, _, key = dotted.partition(".")
        if key and isinstance(out.get(group), dict) and out[group].get(key, value) == value:
            out[group] = {k: v for k, v in out[group].items() if k != key}
    out = {
        k: v for k, v in out.items() if v is not None and not (k in AS_BEFORE and v == AS_BEFORE[k])
    }
    for group, key in NOT_COMPARED:
        if key is None:
            out.pop(group, None)
        elif isinstance(out.get(group), dict):
            out[group] = {k: v for k, v in out[group].items() if k != key}
    return out


def same_job(a: Any, b: Any) -> bool:
    """Whether two resolved configs name the same job (``comparable`` equal)."""
    as_json = lambda c: json.loads(json.dumps(c, default=str))  # noqa: E731
    return comparable(as_json(a)) == comparable(as_json(b))


def is_compared(override: str) -> bool:
    """Whether an override changes what a run is (False for ``NOT_COMPARED`` keys): what a
    run's W&B name is made of."""
    key = override.lstrip("+~").partition("=")[0]
    prefixes = [group if k is None else f"{group}.{k}" for group, k in NOT_COMPARED]
    return not any(key == p or key.startswith(f"{p}.") for p in prefixes)


# ---------------------------------------------------------------- job folders
def config_hash(resolved: dict[str, Any]) -> str:
    """8 hex digits of the job's resolved config, without the keys that do not change it."""
    text = json.dumps(comparable(resolved), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def job_dir_name(*, _root_: DictConfig) -> str:
    """``<job number>-<config hash>`` of the job whose config is ``_root_`` (a resolver).

    ``hydra.sweep.subdir: ${imitation_lab.job_dir:}`` (conf/train.yaml). Hydra's default, the
    job number alone, names a different config when a sweep is changed and re-run; the hash
    makes the folder belong to one config: the same job re-run finds its folder (skipped when
    finished, resumed when not) whatever its number now, a changed job gets a new folder,
    nothing is overwritten.
    """
    number = OmegaConf.select(_root_, "hydra.job.num", default=None)
    keys = [key for key in _root_ if key != "hydra"]
    resolved = OmegaConf.to_container(
        OmegaConf.masked_copy(_root_, keys), resolve=True, enum_to_str=True
    )
    assert isinstance(resolved, dict)
    name = f"{'job' if number is None else number}-{config_hash(resolved)}"  # type: ignore[arg-type]
    sweep_dir = OmegaConf.select(_root_, "hydra.sweep.dir", default=None)
    return name if sweep_dir is None else existing_job_dir(Path(str(sweep_dir)), name)


def existing_job_dir(sweep_dir: Path, name: str) -> str:
    """``name`` (``<number>-<hash>``), or the folder of ``sweep_dir`` that already holds this
    config under another job number: a sweep re-run with its values in another order (or a
    job added in front) finds each job's folder by its config, not by its position."""
    digest = name.rpartition("-")[2]
    if (sweep_dir / name).is_dir() or not sweep_dir.is_dir():
        return name
    found = sorted(
        p.name for p in sweep_dir.glob(f"*-{digest}") if p.is_dir() and p.name[0].isdigit()
    )
    return found[0] if found else name


def register_resolver() -> None:
    """Make ``${imitation_lab.job_dir:}`` available (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, job_dir_name)


# ---------------------------------------------------------------- members trained together
def group_key(resolved: dict[str, Any]) -> str:
    """What members trained together must share: the resolved config minus ``BATCHABLE``."""

    def strip(tree: Any, prefix: str) -> Any:
        if not isinstance(tree, dict):
            return tree
        out = {}
        for key, value in tree.items():
            path = f"{prefix}{key}"
            if path in BATCHABLE and path != "scheduler":
                continue
            if path == "scheduler":
                out[key] = {"_target_": value.get("_target_")}
                continue
            out[key] = strip(value, f"{path}.")
        return out

    return json.dumps(strip(canonical(resolved), ""), sort_keys=True, default=str)


# ---------------------------------------------------------------- resume
def check_same_setup(saved: dict[str, Any], current: dict[str, Any], source: Path) -> None:
    """Raise ``CheckpointError`` naming every setting where a checkpoint's metadata and the
    resumed run disagree (``RESUME_MUST_MATCH``), or that the checkpoint does not record."""
    saved_flat, current_flat = _flatten(canonical(saved)), _flatten(canonical(current))
    checked = [k for k in current_flat if k.startswith(RESUME_MUST_MATCH)]
    unrecorded = [k.removeprefix("config.") for k in checked if k not in saved_flat]
    if unrecorded and not any(k.startswith(RESUME_MUST_MATCH) for k in saved_flat):
        raise CheckpointError(
            f"Checkpoint {source} does not record the setup it was trained with (no "
            f"{', '.join(sorted(unrecorded)[:4])}...): resuming it could silently change the "
            "dataset, model or optimizer. Start a new run in a new dir."
        )
    diffs = [
        f"{key.removeprefix('config.')}: checkpoint {saved_flat[key]!r}, now {current_flat[key]!r}"
        for key in sorted(saved_flat.keys() & current_flat.keys())
        if key.startswith(RESUME_MUST_MATCH) and saved_flat[key] != current_flat[key]
    ]
    if diffs:
        raise CheckpointError(
            f"Checkpoint {source} was written with a different setup ({'; '.join(diffs)}). "
            "Resume with the config and data it was trained with (see .hydra/config.yaml) "
            "or start a new run in a new dir."
        )


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return out
