"""``python -m imitation_lab.train [overrides]``: a thin Hydra main around ``train(cfg)``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from imitation_lab.build import RunNames, resolved_config
from imitation_lab.cluster import is_requeued
from imitation_lab.config import register_configs, validate
from imitation_lab.errors import ImitationLabError, TrainingDivergedError
from imitation_lab.fit import mean_summary
from imitation_lab.group import MemberSpec, train_group
from imitation_lab.hpo import TrialPruned
from imitation_lab.run_dir import DONE, finished_summary, write_done, write_failed

log = logging.getLogger(__name__)
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")
APP = "train"


def run_dir_of(cfg: DictConfig) -> Path:
    """The Hydra output dir of this job (falls back to the cwd outside Hydra)."""
    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(os.getcwd())


def run_names(cfg: DictConfig) -> RunNames:
    """W&B group and name from the Hydra job: experiment/sweep folder and the overrides."""
    if not HydraConfig.initialized():
        return RunNames(group="default", name="run")
    hydra_cfg = HydraConfig.get()
    experiment = hydra_cfg.runtime.choices.get("experiment")
    if hydra_cfg.mode == RunMode.MULTIRUN:
        group = f"{experiment or hydra_cfg.job.name}-{Path(hydra_cfg.sweep.dir).name}"
    else:
        group = experiment or hydra_cfg.job.name
    return RunNames(group=group, name=hydra_cfg.job.override_dirname or "default")


def _job_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def member_specs(cfg: DictConfig, run_dir: Path) -> list[MemberSpec]:
    """This job's members: itself, or its ``trainer.num_seeds`` seeds in ``seed_<s>/``."""
    names = run_names(cfg)
    num_seeds = int(cfg.trainer.num_seeds)
    if num_seeds == 1:
        return [MemberSpec(cfg, run_dir, resolved_config(cfg), names)]
    kept = [o for o in _job_overrides() if o.lstrip("+~").partition("=")[0] != "seed"]
    specs = []
    for seed in range(int(cfg.seed), int(cfg.seed) + num_seeds):
        member_cfg = cfg.copy()
        with open_dict(member_cfg):
            member_cfg.seed = seed
        specs.append(
            MemberSpec(
                member_cfg,
                run_dir / f"seed_{seed}",
                resolved_config(member_cfg),
                RunNames(group=names.group, name=f"{names.name}-seed_{seed}"),
                hydra_overrides=[*kept, f"seed={seed}"],
            )
        )
    return specs


def train(cfg: DictConfig) -> dict[str, float]:
    """Build everything from ``cfg``, train, evaluate; returns the summary metrics."""
    validate(cfg)
    if is_requeued():  # Slurm reran this job (preempted/timed out): continue its run dir
        cfg.trainer.resume = True
    run_dir = run_dir_of(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = resolved_config(cfg)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        done = finished_summary(run_dir, resolved)
        if done is not None:  # a re-run sweep: this job already finished with this config
            log.info("%s has %s for this exact config: skipped.", run_dir, DONE)
            return done
    specs = member_specs(cfg, run_dir)
    outcomes = train_group(specs)
    failed = [o for o in outcomes if o.error is not None]
    if len(specs) == 1:
        if failed:
            raise failed[0].error  # type: ignore[misc]
        assert outcomes[0].summary is not None
        return outcomes[0].summary
    if failed:
        names = ", ".join(o.spec.run_dir.name for o in failed)
        raise TrainingDivergedError(
            f"{len(failed)} of {len(specs)} seeds stopped ({names}); the others finished. "
            f"First error: {failed[0].error}"
        )
    summary = mean_summary([o.summary for o in outcomes if o.summary is not None])
    write_done(run_dir, resolved, summary)
    return summary


register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=APP)
def main(cfg: DictConfig) -> float:
    """Hydra entry point; returns the final normalized score (x100) for sweepers."""
    try:
        summary = train(cfg)
    except KeyboardInterrupt:
        if HydraConfig.get().mode == RunMode.MULTIRUN or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(
            f"error: interrupted. Continue from the last checkpoint with the same overrides and "
            f"`trainer.resume=true hydra.run.dir={run_dir_of(cfg)}`.",
            file=sys.stderr,
        )
        sys.exit(130)
    except TrialPruned as pruned:  # the Optuna pruner stopped this trial: not a failure
        return pruned.value
    except Exception as err:
        write_failed(run_dir_of(cfg), err)  # the report lists it; other sweep jobs go on
        if HydraConfig.get().mode == RunMode.MULTIRUN:  # Hydra marks the job failed, goes on
            log.error("Job failed (%s: %s); the other jobs continue.", type(err).__name__, err)
            raise
        if not isinstance(err, ImitationLabError) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        # one line on stderr, no traceback (FAILED.json in the run dir has the full record)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    return float(summary.get("final/normalized_score", summary.get("final/return_mean", 0.0)))


if __name__ == "__main__":
    from imitation_lab.cli import pop_debug_flag

    sys.argv = pop_debug_flag(sys.argv)
    main()
