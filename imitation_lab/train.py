"""``python -m imitation_lab.train [overrides]``: a thin Hydra main around ``train(cfg)``."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from imitation_lab.build import RunNames, resolved_config
from imitation_lab.cli import CURRENT_SWEEP
from imitation_lab.cluster import is_requeued
from imitation_lab.config import check_choices, register_configs, shipped_targets, validate
from imitation_lab.errors import ImitationLabError, TrainingDivergedError, storage_error_line
from imitation_lab.fit import mean_summary
from imitation_lab.group import MemberSpec, train_group
from imitation_lab.hpo import TrialPruned
from imitation_lab.paths import config_dir
from imitation_lab.run_dir import (
    DONE,
    decide_resume,
    finished_summary,
    inspect_run,
    owned,
    write_done,
    write_failed,
    write_hydra_files,
)
from imitation_lab.utils import check_targets

log = logging.getLogger(__name__)
CONFIG_DIR = str(config_dir())
APP = "train"


def run_dir_of(cfg: DictConfig) -> Path:
    """The Hydra output dir of this job (falls back to the cwd outside Hydra)."""
    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(os.getcwd())


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


#: overrides that do not change what a run is: not in its W&B name (one name across resumes)
UNNAMED_KEYS = ("trainer.resume", "trainer.progress", "logger", "tags")


def run_names(cfg: DictConfig) -> RunNames:
    """W&B group, name, tags and the logged choices/overrides of this Hydra job.

    The group is the experiment (or app) and, in a multirun, its sweep folder; the name is what
    the job overrides (keys that only change what is shown, such as ``trainer.resume``, left
    out), else the experiment or the dataset; tags are the dataset id and the group choices.
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
    named = sorted(o for o in overrides if not _unnamed(o))
    name = ",".join(named) or experiment or choices.get("dataset") or "run"
    tags = [str(cfg.dataset.id), *(f"{k}={v}" for k, v in choices.items() if k != "dataset")]
    return RunNames(group=group, name=name, tags=tags, choices=choices, overrides=overrides)


def user_choices(choices: dict[str, object]) -> dict[str, str]:
    """The config-group choices a user makes (``bounding: tanh``...), not Hydra's own."""
    return {k: str(v) for k, v in choices.items() if v is not None and not k.startswith("hydra/")}


def _unnamed(override: str) -> bool:
    key = override.lstrip("+~").partition("=")[0]
    return any(key == k or key.startswith(f"{k}.") for k in UNNAMED_KEYS)


def job_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def resume_command(overrides: list[str], run_dir: Path | str) -> str:
    """The exact shell command that resumes ``run_dir`` with the run's own overrides (quoted)."""
    kept = [
        o
        for o in overrides
        if o.lstrip("+~").partition("=")[0] not in {"trainer.resume", "hydra.run.dir"}
    ]
    args = [*kept, "trainer.resume=true", f"hydra.run.dir={run_dir}"]
    return shlex.join(["python", "-m", "imitation_lab.train", *args])


def hydra_files(cfg: DictConfig) -> dict[str, str]:
    """``.hydra/{config,hydra,overrides}.yaml`` of this job, as Hydra itself writes them."""
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


def train(cfg: DictConfig) -> dict[str, float]:
    """Build everything from ``cfg``, train, evaluate; returns the summary metrics.

    The run dir is this run's for its whole life (``owned``). Nothing is written into it
    before every check has passed; a job that fails before it starts leaves its record
    (``FAILED.json``, ``.hydra/``) only in a dir that held no run.
    """
    run_dir = run_dir_of(cfg)
    if in_sweep():
        CURRENT_SWEEP["dir"] = str(HydraConfig.get().sweep.dir)
    with owned(run_dir):
        state = inspect_run(run_dir)
        started = False

        def start() -> None:
            nonlocal started
            started = True
            if int(cfg.trainer.num_seeds) > 1:
                write_hydra_files(run_dir, hydra_files(cfg))

        try:
            validate(cfg)
            if is_requeued():  # Slurm reran this job (preempted/timed out): continue its dir
                cfg.trainer.resume = True
            resolved = resolved_config(cfg)
            if in_sweep() and state.kind == "finished":
                done = finished_summary(run_dir, resolved)
                if done is not None:  # a re-run sweep: this job finished with this config
                    log.info("%s has %s for this exact config: skipped.", run_dir, DONE)
                    return done
            resume = decide_resume(
                state,
                resolved,
                bool(cfg.trainer.resume),
                run_dir,
                sweep=in_sweep(),
                command=f"python -m imitation_lab.train {' '.join(job_overrides())}",
            )
            if resume:  # what the run dir recorded is data: only the project's own options
                check_targets(resolved, f"Run dir {run_dir}", shipped_targets())
            if resume != bool(cfg.trainer.resume):
                cfg.trainer.resume = resume
            outcomes = train_group(member_specs(cfg, run_dir), on_start=start)
        except TrialPruned:
            raise
        except Exception as err:
            if not started and state.empty:  # a new job that failed at start: on record
                write_hydra_files(run_dir, hydra_files(cfg))
                write_failed(run_dir, err)
            elif started and int(cfg.trainer.num_seeds) > 1:
                write_failed(run_dir, err)
            raise
        return _job_summary(run_dir, resolved, outcomes)


def _job_summary(run_dir: Path, resolved: dict, outcomes: list) -> dict[str, float]:
    failed = [o for o in outcomes if o.error is not None]
    if len(outcomes) == 1:
        if failed:
            raise failed[0].error
        return outcomes[0].summary
    if failed:
        names = ", ".join(o.spec.run_dir.name for o in failed)
        error = TrainingDivergedError(
            f"{len(failed)} of {len(outcomes)} seeds stopped ({names}); the others finished. "
            f"First error: {failed[0].error}"
        )
        write_failed(run_dir, error)
        raise error
    summary = mean_summary([o.summary for o in outcomes])
    write_done(run_dir, resolved, summary)
    return summary


register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=APP)
def main(cfg: DictConfig) -> float:
    """Hydra entry point; returns the final normalized score (x100) for sweepers."""
    try:
        if HydraConfig.initialized():
            check_choices(HydraConfig.get().runtime.choices)
        summary = train(cfg)
    except KeyboardInterrupt:
        if in_sweep() or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(
            "error: interrupted. Continue from the last checkpoint with: "
            f"{resume_command(job_overrides(), run_dir_of(cfg))}",
            file=sys.stderr,
        )
        sys.exit(130)
    except TrialPruned as pruned:  # the Optuna pruner stopped this trial: not a failure
        return pruned.value
    except Exception as err:
        if in_sweep():  # Hydra marks the job failed and goes on with the others
            log.error("Job failed (%s: %s); the other jobs continue.", type(err).__name__, err)
            raise
        line = str(err) if isinstance(err, ImitationLabError) else storage_error_line(err)
        if line is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        # one line on stderr, no traceback (FAILED.json in the run dir has the full record)
        print(f"error: {line}", file=sys.stderr)
        sys.exit(1)
    return float(summary.get("final/normalized_score", summary.get("final/return_mean", 0.0)))


if __name__ == "__main__":
    from imitation_lab.cli import run_module

    run_module("train", main)
