"""``python -m imitation_lab.train [overrides]``: a thin Hydra main around ``train(cfg)``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from imitation_lab.cli import one_line_errors, run_module
from imitation_lab.config.identity import resolved_config
from imitation_lab.config.paths import config_dir
from imitation_lab.config.schemas import register_configs
from imitation_lab.errors import TrainingDivergedError
from imitation_lab.runs.claim import claim, record_refused_start
from imitation_lab.runs.group import train_group
from imitation_lab.runs.hpo import TrialPruned
from imitation_lab.runs.jobs import (
    hydra_files,
    in_sweep,
    job_overrides,
    member_specs,
    note_sweep_dir,
    resume_command,
    run_dir_of,
    run_names,
)
from imitation_lab.runs.objective import objective
from imitation_lab.runs.run_dir import (
    inspect_run,
    owned,
    write_done,
    write_failed,
    write_hydra_files,
)
from imitation_lab.training.fit import mean_summary

log = logging.getLogger(__name__)
CONFIG_DIR = str(config_dir())
APP = "train"


def train(cfg: DictConfig) -> dict[str, float]:
    """Build everything from ``cfg``, train, evaluate; returns the summary metrics.

    The run dir is this run's for its whole life (``owned``). Nothing is written into it
    before every check has passed; a job that fails before it starts leaves its record
    (``FAILED.json``, ``.hydra/``) only in a dir that held no run.
    """
    run_dir = run_dir_of(cfg)
    if in_sweep():
        note_sweep_dir(str(HydraConfig.get().sweep.dir))
    with owned(run_dir):
        state = inspect_run(run_dir)
        started = False

        def start() -> None:
            nonlocal started
            started = True
            if int(cfg.trainer.num_seeds) > 1:
                write_hydra_files(run_dir, hydra_files(cfg))

        try:
            resolved = resolved_config(cfg)
            job = claim(
                cfg,
                run_dir,
                resolved,
                sweep=in_sweep(),
                choices=run_names(cfg).choices,
                command=f"python -m imitation_lab.train {' '.join(job_overrides())}",
            )
            if job.skipped is not None:
                return job.skipped
            outcomes = train_group(member_specs(cfg, run_dir), on_start=start)
        except TrialPruned:
            raise
        except Exception as err:
            if not started:  # a new job that failed at start: on record
                record_refused_start(run_dir, state, hydra_files(cfg), err)
            elif int(cfg.trainer.num_seeds) > 1:
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
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the final normalized score (x100) for sweepers."""
    try:
        with one_line_errors(in_sweep=in_sweep()):
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
    return objective(summary, required=False)


if __name__ == "__main__":
    run_module("train", main)
