"""A Hydra job's facts, read once for every launcher: its run dir, overrides, names, the
``.hydra/`` files it records and the members it trains.

The train app and the batched launcher both build their jobs from these functions, so a single
run, a ``trainer.num_seeds`` job and a batched sweep job record the same files and names.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import replace
from pathlib import Path

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from imitation_lab.config.build import RunNames
from imitation_lab.config.identity import is_compared, resolved_config
from imitation_lab.errors import ImitationLabError
from imitation_lab.runs.group import MemberSpec
from imitation_lab.runs.resume_args import hydra_quoted


class JobFailed(CompactHydraException):
    """A sweep job's user error (bad value, missing dataset...) as the one line Hydra prints at
    the end of the sweep (``error: ...``), instead of the traceback of the original error."""


def job_failure(error: BaseException) -> BaseException:
    """What a failed sweep job returns to Hydra: ``JobFailed`` for a user error (its message
    is the whole story), the error itself for a bug (its traceback is needed)."""
    if isinstance(error, ImitationLabError):
        failure = JobFailed(f"error: {error}")
        failure.__cause__ = error
        return failure
    return error


#: the sweep dir of the multirun this process runs (set by the train app and the batched
#: launcher as they start), for the Ctrl-C message
_CURRENT_SWEEP: dict[str, Path] = {}


def note_sweep_dir(sweep_dir: Path | str) -> None:
    """Record the sweep dir of the running multirun (what an interrupted sweep reports)."""
    _CURRENT_SWEEP["dir"] = Path(sweep_dir)


def current_sweep_dir() -> Path | None:
    """The running multirun's sweep dir, or None outside one."""
    if "dir" in _CURRENT_SWEEP:
        return _CURRENT_SWEEP["dir"]
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return Path(str(HydraConfig.get().sweep.dir))
    return None


def run_dir_of(cfg: DictConfig) -> Path:
    """The Hydra output dir of this job (falls back to the cwd outside Hydra)."""
    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(os.getcwd())


def in_sweep() -> bool:
    """Whether this job is one of a multirun (``-m``)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def job_overrides() -> list[str]:
    """The overrides that made this job (``hydra.overrides.task``)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def user_choices(choices: dict[str, object]) -> dict[str, str]:
    """The config-group choices a user makes (``bounding: tanh``...), not Hydra's own."""
    return {k: str(v) for k, v in choices.items() if v is not None and not k.startswith("hydra/")}


def run_names(cfg: DictConfig) -> RunNames:
    """W&B group, name, tags and the logged choices/overrides of this Hydra job.

    The group is the experiment (or app) and, in a multirun, its sweep folder; the name is what
    the job overrides (keys that only change what is shown, such as ``trainer.resume``, left
    out: ``identity.NOT_COMPARED``), else the experiment or the dataset; tags are the dataset
    id and the group choices.
    """
    if not HydraConfig.initialized():
        return RunNames(group="default", name="run")
    hydra_cfg = HydraConfig.get()
    choices = user_choices(dict(hydra_cfg.runtime.choices))
    experiment = choices.get("experiment")
    if hydra_cfg.mode == RunMode.MULTIRUN:
        group = f"{experiment or hydra_cfg.job.name}-{Path(hydra_cfg.sweep.dir).name}"
    else:
        group = experiment or hydra_cfg.job.name
    overrides = job_overrides()
    named = sorted(o for o in overrides if is_compared(o))
    name = ",".join(named) or experiment or choices.get("dataset") or "run"
    tags = [str(cfg.dataset.id), *(f"{k}={v}" for k, v in choices.items() if k != "dataset")]
    return RunNames(group=group, name=name, tags=tags, choices=choices, overrides=overrides)


def resume_command(overrides: list[str], run_dir: Path | str) -> str:
    """The exact shell command that resumes ``run_dir`` with the run's own overrides (quoted)."""
    kept = [
        o
        for o in overrides
        if o.lstrip("+~").partition("=")[0] not in {"trainer.resume", "hydra.run.dir"}
    ]
    args = [*kept, "trainer.resume=true", f"hydra.run.dir={hydra_quoted(str(run_dir))}"]
    return shlex.join(["python", "-m", "imitation_lab.train", *args])


def hydra_files(cfg: DictConfig) -> dict[str, str]:
    """``.hydra/{config,hydra,overrides}.yaml`` of the current Hydra job, as Hydra writes them
    (the config unresolved); written into the run dir only once the job starts."""
    job = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    files = {"config.yaml": OmegaConf.to_yaml(job), "overrides.yaml": _yaml(job_overrides())}
    if HydraConfig.initialized():
        files["hydra.yaml"] = OmegaConf.to_yaml(OmegaConf.create({"hydra": HydraConfig.get()}))
    return files


def _yaml(value: object) -> str:
    return yaml.safe_dump(value, sort_keys=False)


def member_specs(cfg: DictConfig, run_dir: Path) -> list[MemberSpec]:
    """This job's members: itself, or its ``trainer.num_seeds`` seeds in ``seed_<s>/``."""
    names = run_names(cfg)
    num_seeds = int(cfg.trainer.num_seeds)
    if num_seeds == 1:
        return [MemberSpec(cfg, run_dir, resolved_config(cfg), names, hydra_files(cfg))]
    kept = [o for o in job_overrides() if o.lstrip("+~").partition("=")[0] != "seed"]
    specs = []
    for seed in range(int(cfg.seed), int(cfg.seed) + num_seeds):
        member_cfg = cfg.copy()
        with open_dict(member_cfg):
            member_cfg.seed = seed
        resolved = resolved_config(member_cfg)
        files = {"config.yaml": _yaml(resolved), "overrides.yaml": _yaml([*kept, f"seed={seed}"])}
        specs.append(
            MemberSpec(
                member_cfg,
                run_dir / f"seed_{seed}",
                resolved,
                # the seeds of one job share a group of their own (one K-seed job)
                replace(
                    names, group=f"{names.group}-{run_dir.name}", name=f"{names.name}-seed_{seed}"
                ),
                files,
            )
        )
    return specs
