"""``trainer.num_seeds=K``: K seeds of one config trained in one process, one batched step each.

Seeds ``seed, seed+1, ..., seed+K-1`` each get what a single run with that seed gets: the same
actor init, the same minibatch stream, their own metrics, evaluation, checkpoints and W&B run
(one group), written to ``<run dir>/seed_<s>/`` with a ``.hydra/`` of their own (the job's
overrides with ``seed=<s>``), so ``report`` counts them as seeds. The gradient steps of all K
run as one ``EnsembleLearner`` step (stacked parameters, batched matmuls).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from imitation_lab.data.loader import LoadedDataset
from imitation_lab.ensemble import EnsembleLearner, SchedulerFactory
from imitation_lab.errors import CheckpointError
from imitation_lab.markers import write_done, write_failed
from imitation_lab.seeding import seed_everything
from imitation_lab.trainer import Trainer, progress_bar, update_bar
from imitation_lab.utils import instantiate

log = logging.getLogger(__name__)


class MultiSeedTrainer:
    """Runs K single-seed ``Trainer``s in lockstep; their updates are one batched step.

    Each member keeps its own sampler, loss window, logger, evaluator and checkpoints; the
    members' policies receive the ensemble's per-seed weights and optimizer state whenever
    they are evaluated or checkpointed. A seed whose loss diverges stops the whole job.
    """

    def __init__(
        self, members: Sequence[Trainer], scheduler_factory: SchedulerFactory | None = None
    ) -> None:
        if not members:
            raise ValueError("MultiSeedTrainer needs at least one member Trainer.")
        first = members[0]
        for member in members[1:]:
            if member.train_obs is not first.train_obs or member.train_act is not first.train_act:
                raise ValueError("Members must share one copy of the training tensors.")
            if member.settings.steps != first.settings.steps:
                raise ValueError("Members must train for the same number of steps.")
        self.members = list(members)
        self.learner = EnsembleLearner([m.policy for m in members], scheduler_factory)

    def fit(self) -> list[dict[str, float]]:
        """Train every seed to ``settings.steps``; returns each seed's summary, in order."""
        members, first = self.members, self.members[0]
        for member in members:
            member.begin()
        steps = {member.step for member in members}
        if len(steps) > 1:
            raise CheckpointError(
                f"The seeds' checkpoints are at different steps {sorted(steps)}: resume needs "
                "them at the same step. Delete the newer ones' checkpoints/last.pt or rerun."
            )
        self.learner.read_from()
        settings = first.settings
        obs, act = first.train_obs, first.train_act
        num, batch = len(obs), settings.batch_size
        idx = torch.empty(len(members), batch, dtype=torch.long)
        bar = progress_bar(settings, first.step)
        try:
            while first.step < settings.steps:
                for k, member in enumerate(members):
                    torch.randint(num, (batch,), generator=member.sampler, out=idx[k])
                device_idx = idx if idx.device == obs.device else idx.to(obs.device)
                losses, seconds = self.learner.timed_update(obs[device_idx], act[device_idx])
                per_seed_time = seconds / len(members)
                logged = [
                    m.record_update(loss, per_seed_time)
                    for m, loss in zip(members, losses, strict=True)
                ]
                if logged[0] is not None:
                    update_bar(bar, logged[0])
                if first.snapshot_due():
                    self.learner.write_back()
                    for member in members:
                        member.end_of_step()
            self.learner.write_back()
            for member in members:
                member.finish()
        finally:
            bar.close()
        return [member.summary() for member in members]


def seeds_of(cfg: DictConfig) -> list[int]:
    """``seed, seed+1, ..., seed+num_seeds-1``."""
    return [int(cfg.seed) + i for i in range(int(cfg.trainer.num_seeds))]


def train_seeds(cfg: DictConfig, loaded: LoadedDataset, run_dir: Path) -> dict[str, float]:
    """Train ``trainer.num_seeds`` seeds in one process; returns the mean of their summaries.

    Each seed writes ``<run_dir>/seed_<s>/`` (``.hydra/``, ``metrics.jsonl``, checkpoints,
    W&B run, ``DONE.json``) as a single run with ``seed=<s>`` would write its run dir.
    """
    from imitation_lab.train import build_trainer, make_eval_env, make_normalizer, resolved_config

    seeds = seeds_of(cfg)
    normalizer = make_normalizer(cfg, loaded.data)
    vector_env = make_eval_env(cfg, loaded)
    members: list[Trainer] = []
    summaries: list[dict[str, float]] = []
    try:
        tensors = None
        for seed in seeds:
            seed_dir = run_dir / f"seed_{seed}"
            write_seed_hydra_dir(cfg, seed_dir, seed)
            info = json.dumps(loaded.info, indent=2) + "\n"
            (seed_dir / "dataset_info.json").write_text(info)
            seed_everything(seed, cfg.deterministic)  # the actor init of a run with this seed
            member = build_trainer(
                cfg,
                loaded,
                seed_dir,
                seed=seed,
                normalizer=normalizer,
                vector_env=vector_env,
                training_tensors=tensors,
            )
            tensors = (member.train_obs, member.train_act)
            members.append(member)
        log.info("Training seeds %s in one process (batched).", seeds)
        summaries = MultiSeedTrainer(members, _scheduler_factory(cfg)).fit()
    except Exception as err:  # every seed of the job failed with it: the report lists each
        for seed in seeds:
            write_failed(run_dir / f"seed_{seed}", err)
        raise
    finally:
        vector_env.close()
        for i, member in enumerate(members):
            member.logger.finish(summaries[i] if summaries else None)
    resolved = resolved_config(cfg)
    for seed, summary in zip(seeds, summaries, strict=True):
        write_done(run_dir / f"seed_{seed}", {**resolved, "seed": seed}, summary)
        log.info("seed %d: %s", seed, ", ".join(f"{k}={v:.3f}" for k, v in summary.items()))
    return mean_summary(summaries)


def _scheduler_factory(cfg: DictConfig) -> SchedulerFactory:
    factory = instantiate(cfg.scheduler)
    steps = int(cfg.trainer.steps)
    return lambda optim: factory(optim, total_steps=steps)


def mean_summary(summaries: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean over seeds of every key all seeds report (what a sweeper optimizing K seeds sees)."""
    keys = [k for k in summaries[0] if all(k in s for s in summaries)]
    out = {k: float(np.mean([s[k] for s in summaries])) for k in keys}
    out["num_seeds"] = float(len(summaries))
    return out


def write_seed_hydra_dir(cfg: DictConfig, seed_dir: Path, seed: int) -> None:
    """``seed_dir/.hydra/{config,overrides}.yaml`` as a single run with ``seed=<seed>`` has."""
    from imitation_lab.train import resolved_config

    hydra_dir = seed_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    config = OmegaConf.create({**resolved_config(cfg), "seed": seed})
    (hydra_dir / "config.yaml").write_text(OmegaConf.to_yaml(config))
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(_seed_overrides(seed)))


def _seed_overrides(seed: int) -> list[str]:
    task: list[Any] = []
    if HydraConfig.initialized():
        task = list(HydraConfig.get().overrides.task)
    kept = [str(o) for o in task if str(o).lstrip("+~").partition("=")[0] != "seed"]
    return [*kept, f"seed={seed}"]
