"""Train a group of K >= 1 members described by their configs: the one path for every run.

A single run is a group of one; ``trainer.num_seeds=K`` is a group of K seeds; the batched
launcher makes a group of the sweep jobs that differ only in batchable keys. Whatever K, every
member gets what a single run writes into its own run dir: ``dataset_info.json``,
``metrics.jsonl``, checkpoints, its logger run and ``DONE.json`` / ``FAILED.json``
(and ``.hydra/`` when nobody else wrote it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from imitation_lab import build
from imitation_lab.data.loader import LoadedDataset
from imitation_lab.errors import ConfigError
from imitation_lab.fit import GroupFit, training_tensors
from imitation_lab.learners import make_learner
from imitation_lab.member import Member
from imitation_lab.run_dir import write_dataset_info, write_done, write_failed, write_hydra_dir
from imitation_lab.seeding import seed_everything

log = logging.getLogger(__name__)


@dataclass
class MemberSpec:
    """One member to train: its full config, where it writes, how its logger run is named."""

    cfg: DictConfig
    run_dir: Path
    resolved: dict[str, Any]
    names: build.RunNames
    #: write ``.hydra/`` with these overrides (members Hydra did not set up, e.g. num_seeds)
    hydra_overrides: list[str] | None = None

    @property
    def seed(self) -> int:
        return int(self.cfg.seed)


@dataclass
class Outcome:
    """How one member ended: its summary, or the error that stopped it."""

    spec: MemberSpec
    summary: dict[str, float] | None
    error: BaseException | None


def check_same_group(specs: Sequence[MemberSpec]) -> None:
    """Members trained together may differ only in ``build.BATCHABLE`` keys."""
    first = build.group_key(specs[0].resolved)
    for spec in specs[1:]:
        if build.group_key(spec.resolved) != first:
            raise ConfigError(
                f"{spec.run_dir} cannot be trained with {specs[0].run_dir}: their configs "
                f"differ in keys other than {', '.join(build.BATCHABLE)}."
            )


def train_group(specs: Sequence[MemberSpec], loaded: LoadedDataset | None = None) -> list[Outcome]:
    """Train every member of ``specs`` together; returns one ``Outcome`` per member, in order.

    A member that diverges stops alone (``FAILED.json``); the others finish. Errors that stop
    the whole group (bad data, a refused resume, Ctrl-C) are raised.
    """
    if not specs:
        return []
    check_same_group(specs)
    first = specs[0].cfg
    if loaded is None:
        keys = first.dataset.get("obs_keys")
        loaded = build.load_dataset(
            first.dataset.id,
            download=first.dataset.download,
            obs_keys=None if keys is None else list(keys),
        )
    log.info(
        "Dataset %s: %d episodes, %d transitions.",
        first.dataset.id,
        loaded.dataset.total_episodes,
        len(loaded.data),
    )
    for spec in specs:
        if spec.hydra_overrides is not None:
            write_hydra_dir(spec.run_dir, spec.resolved, spec.hydra_overrides)
        write_dataset_info(spec.run_dir, loaded.info)
    settings = build.trainer_settings(first)
    normalizer = build.make_normalizer(first, loaded)
    score_fn = build.score_fn_of(loaded)
    eval_env = build.make_eval_env(first, loaded, num_members=len(specs))
    members: list[Member] = []
    finished = False
    try:
        for spec in specs:
            seed_everything(spec.seed, spec.cfg.deterministic)  # the init of a run with it
            policy = build.build_policy(
                spec.cfg,
                loaded.observation_space,
                loaded.dataset.action_space,
                settings.steps,
            )
            members.append(
                Member(
                    policy,
                    spec.run_dir,
                    settings,
                    seed=spec.seed,
                    normalizer=normalizer,
                    logger=build.make_logger(
                        spec.cfg, spec.run_dir, spec.resolved, loaded.info, spec.names
                    ),
                    score_fn=score_fn,
                    metadata=build.member_metadata(spec.cfg, loaded, spec.resolved),
                    name=spec.names.name if len(specs) > 1 else None,
                )
            )
        policies = [member.policy for member in members]
        if len(specs) > 1:
            log.info("Training %d members in one process (stacked).", len(specs))
        GroupFit(
            make_learner(policies),
            members,
            training_tensors(loaded.data, normalizer, policies),
            settings,
            normalizer=normalizer,
            eval_env=eval_env,
            obs_spec=loaded.obs_spec,
        ).run()
        finished = True
    except Exception as err:  # the whole group stopped: every member records why
        for spec in specs:
            write_failed(spec.run_dir, err)
        raise
    finally:
        eval_env.close()
        for member in members:  # a summary line only for members that ran to the end
            member.logger.finish(member.summary() if finished and member.alive else None)
    outcomes = []
    for spec, member in zip(specs, members, strict=True):
        if member.alive:
            summary = member.summary()
            write_done(spec.run_dir, spec.resolved, summary)
            prefix = f"{spec.names.name}: " if len(specs) > 1 else ""
            log.info("%sFinal: %s", prefix, ", ".join(f"{k}={v:.3f}" for k, v in summary.items()))
            outcomes.append(Outcome(spec, summary, None))
        else:
            assert member.failure is not None
            write_failed(spec.run_dir, member.failure)
            outcomes.append(Outcome(spec, None, member.failure))
    return outcomes
