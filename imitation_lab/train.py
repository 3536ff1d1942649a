"""``python -m imitation_lab.train [overrides]``: a thin Hydra main around ``train(cfg)``."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from imitation_lab.checks import (
    check_actor_output,
    check_actor_sizes,
    check_bounding,
    expected_sizes,
)
from imitation_lab.cluster import is_requeued
from imitation_lab.config import register_configs, validate
from imitation_lab.data.buffer import ObsNormalizer, OfflineData
from imitation_lab.data.loader import LoadedDataset, load_training_data
from imitation_lab.errors import ImitationLabError
from imitation_lab.evaluate import evaluate, make_vector_env
from imitation_lab.hpo import TrialPruned, trial_hook
from imitation_lab.loggers import JsonlLogger, MultiLogger
from imitation_lab.markers import DONE, finished_summary, write_done, write_failed
from imitation_lab.policy import ImitationPolicy
from imitation_lab.seeding import seed_everything
from imitation_lab.trainer import Trainer, TrainerSettings
from imitation_lab.utils import instantiate

log = logging.getLogger(__name__)
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")


def run_dir_of(cfg: DictConfig) -> Path:
    """The Hydra output dir of this job (falls back to the cwd outside Hydra)."""
    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(os.getcwd())


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The job's config as plain data (interpolations resolved, enums as strings, no hydra)."""
    job_keys = [key for key in cfg if key != "hydra"]
    resolved = OmegaConf.to_container(
        OmegaConf.masked_copy(cfg, job_keys), resolve=True, enum_to_str=True
    )
    assert isinstance(resolved, dict)
    return resolved  # type: ignore[return-value]


def _default_run_names(cfg: DictConfig) -> tuple[str, str]:
    """W&B group and name from the Hydra job: experiment/sweep folder and the overrides."""
    if not HydraConfig.initialized():
        return "default", "run"
    hydra_cfg = HydraConfig.get()
    experiment = hydra_cfg.runtime.choices.get("experiment")
    if hydra_cfg.mode == RunMode.MULTIRUN:
        group = f"{experiment or hydra_cfg.job.name}-{Path(hydra_cfg.sweep.dir).name}"
    else:
        group = experiment or hydra_cfg.job.name
    name = hydra_cfg.job.override_dirname or "default"
    return group, name


def build_policy(
    cfg: DictConfig, observation_space: gym.Space, action_space: gym.Space, total_steps: int
) -> ImitationPolicy:
    """Actor, optimizer, scheduler and bounding from the config, sized by the spaces."""
    bound = cfg.bounding.action_bound_method
    bound = None if bound is None else getattr(bound, "value", bound)
    check_bounding(action_space, bound, cfg.bounding.action_scaling)
    obs_dim, act_dim = expected_sizes(observation_space, action_space)
    configured = {
        k: cfg.actor[k]
        for k in ("obs_dim", "act_dim")
        if k in cfg.actor and not OmegaConf.is_missing(cfg.actor, k)
    }
    check_actor_sizes(configured, obs_dim, act_dim)
    actor = instantiate(cfg.actor, obs_dim=obs_dim, act_dim=act_dim, device=cfg.trainer.device)
    check_actor_output(actor, observation_space, action_space)
    optim = instantiate(cfg.optim)(actor.parameters())
    scheduler = instantiate(cfg.scheduler)(optim, total_steps=total_steps)
    return ImitationPolicy(
        actor=actor,
        optim=optim,
        action_space=action_space,
        observation_space=observation_space,
        action_scaling=cfg.bounding.action_scaling,
        action_bound_method=bound,
        lr_scheduler=scheduler,
        train_through_bound=cfg.bounding.get("train_through_bound", False),
    )


def train(cfg: DictConfig) -> dict[str, float]:
    """Build everything from ``cfg``, train, evaluate; returns the summary metrics."""
    validate(cfg)
    if is_requeued():  # Slurm reran this job (preempted/timed out): continue its run dir
        cfg.trainer.resume = True
    seed_everything(cfg.seed, cfg.deterministic)
    run_dir = run_dir_of(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        done = finished_summary(run_dir, resolved_config(cfg))
        if done is not None:  # a re-run sweep: this job already finished with this config
            log.info("%s has %s for this exact config: skipped.", run_dir, DONE)
            return done

    loaded = load_training_data(cfg.dataset.id, download=cfg.dataset.download)
    dataset, data = loaded.dataset, loaded.data
    (run_dir / "dataset_info.json").write_text(json.dumps(loaded.info, indent=2) + "\n")
    log.info(
        "Dataset %s: %d episodes, %d transitions.",
        cfg.dataset.id,
        dataset.total_episodes,
        len(data),
    )
    if cfg.trainer.num_seeds > 1:  # K seeds in one process, one subdir each
        from imitation_lab.multiseed import train_seeds

        summary = train_seeds(cfg, loaded, run_dir)
        write_done(run_dir, resolved_config(cfg), summary)
        return summary
    normalizer = make_normalizer(cfg, data)
    vector_env = make_eval_env(cfg, loaded)
    trainer = build_trainer(
        cfg, loaded, run_dir, seed=cfg.seed, normalizer=normalizer, vector_env=vector_env
    )
    summary: dict[str, float] = {}
    try:
        summary = trainer.fit()
    finally:
        vector_env.close()
        trainer.logger.finish(summary)
    log.info("Final: %s", ", ".join(f"{k}={v:.3f}" for k, v in summary.items()))
    write_done(run_dir, resolved_config(cfg), summary)
    return summary


def make_normalizer(cfg: DictConfig, data: OfflineData) -> ObsNormalizer:
    """Dataset statistics (``dataset.normalize_obs``) or the identity, on the trainer device."""
    return (
        ObsNormalizer.from_data(data.obs)
        if cfg.dataset.normalize_obs
        else ObsNormalizer.identity(data.obs.shape[1])
    ).to(cfg.trainer.device)


def make_eval_env(cfg: DictConfig, loaded: LoadedDataset) -> gym.vector.VectorEnv:
    """The evaluation vector env (``trainer.eval_envs`` copies of the dataset's env)."""
    num_envs = min(cfg.trainer.eval_envs, max(1, cfg.trainer.eval_episodes))
    return make_vector_env(lambda: loaded.dataset.recover_environment(eval_env=True), num_envs)


def build_trainer(
    cfg: DictConfig,
    loaded: LoadedDataset,
    run_dir: Path,
    *,
    seed: int,
    normalizer: ObsNormalizer,
    vector_env: gym.vector.VectorEnv,
    training_tensors: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Trainer:
    """Policy, loggers and ``Trainer`` of one seed, writing into ``run_dir``.

    The actor is initialized from the global torch RNG as it stands: seed it first.
    """
    dataset, data = loaded.dataset, loaded.data
    policy = build_policy(cfg, dataset.observation_space, dataset.action_space, cfg.trainer.steps)
    resolved = {**resolved_config(cfg), "seed": seed}
    logger_kwargs: dict[str, Any] = {
        "run_dir": run_dir,
        "config": {**resolved, "dataset_info": loaded.info},
    }
    if "group" in cfg.logger:  # W&B-like: fill group/name from the Hydra job
        group, name = _default_run_names(cfg)
        name = cfg.logger.name or name
        logger_kwargs |= {
            "group": cfg.logger.group or group,
            "name": f"{name}-seed_{seed}" if cfg.trainer.num_seeds > 1 else name,
            "tags": [*cfg.logger.tags, *cfg.tags],
        }
    settings = TrainerSettings(  # the trainer.* keys the Trainer consumes, plus this seed
        **{f.name: cfg.trainer[f.name] for f in fields(TrainerSettings) if f.name != "seed"},
        seed=seed,
    )
    resume_step = _checkpoint_step(run_dir) if cfg.trainer.resume else None
    logger = MultiLogger(
        JsonlLogger(run_dir / "metrics.jsonl", resume_step=resume_step),
        instantiate(cfg.logger)(**logger_kwargs),
    )
    env_spec = vector_env.envs[0].spec
    return Trainer(
        policy,
        data,
        run_dir,
        settings,
        normalizer=normalizer,
        logger=logger,
        evaluator=lambda act_fn: evaluate(act_fn, vector_env, cfg.trainer.eval_episodes, seed),
        score_fn=_score_fn(loaded),
        metadata={
            "dataset_id": cfg.dataset.id,
            "dataset_info": loaded.info,
            "env_id": env_spec.id if env_spec else None,
            "config": resolved,
        },
        training_tensors=training_tensors,
        eval_hook=trial_hook(cfg, run_dir),  # Optuna trial jobs: report evaluations, prune
    )


def _score_fn(loaded: LoadedDataset):
    if loaded.score_fn is None:
        log.warning("%s has no reference scores: no normalized score.", loaded.info["dataset_id"])
    return loaded.score_fn


def _checkpoint_step(run_dir: Path) -> int | None:
    path = run_dir / "checkpoints" / "last.pt"
    if not path.exists():
        return 0
    from imitation_lab.checkpoint import load_checkpoint

    return int(load_checkpoint(path)["step"])


register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
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
