"""Train a group of K >= 1 members described by their configs: the one path for every run.

A single run is a group of one; ``trainer.num_seeds=K`` is a group of K seeds; the batched
launcher makes a group of the sweep jobs that differ only in batchable keys. Whatever K, every
member gets what a single run writes into its own run dir: ``.hydra/``, ``dataset_info.json``,
``train.log``, ``metrics.jsonl``, checkpoints, its logger run and ``DONE.json`` /
``FAILED.json``. Nothing is written before every check has passed (data loaded, every resume
accepted): a refused start leaves the run dirs exactly as they were.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from imitation_lab.config import build, identity
from imitation_lab.data.loader import LoadedDataset
from imitation_lab.errors import ConfigError, EarlyStop
from imitation_lab.runs.hpo import trial_hook
from imitation_lab.runs.run_dir import (
    write_dataset_info,
    write_done,
    write_failed,
    write_hydra_files,
    write_timings,
)
from imitation_lab.training.fit import GroupFit, training_tensors
from imitation_lab.training.learners import make_learner
from imitation_lab.training.member import Member
from imitation_lab.utils.memory import keep_freed_memory
from imitation_lab.utils.seeding import seed_everything
from imitation_lab.utils.timing import PhaseClock, phase_line

log = logging.getLogger(__name__)
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


@dataclass
class MemberSpec:
    """One member to train: its full config, where it writes, how its logger run is named."""

    cfg: DictConfig
    run_dir: Path
    resolved: dict[str, Any]
    names: build.RunNames
    #: ``.hydra/<name> -> text`` written into ``run_dir`` once the run starts
    hydra_files: dict[str, str] | None = None

    @property
    def seed(self) -> int:
        return int(self.cfg.seed)


@dataclass
class Outcome:
    """How one member ended: its summary, or the error that stopped it."""

    spec: MemberSpec
    summary: dict[str, float] | None
    error: BaseException | None
    #: the whole group's seconds per phase (``utils.timing``), the same for every member
    phases: dict[str, float] | None = None


def check_same_group(specs: Sequence[MemberSpec]) -> None:
    """Members trained together may differ only in ``identity.BATCHABLE`` keys."""
    first = identity.group_key(specs[0].resolved)
    for spec in specs[1:]:
        if identity.group_key(spec.resolved) != first:
            raise ConfigError(
                f"{spec.run_dir} cannot be trained with {specs[0].run_dir}: their configs "
                f"differ in keys other than {', '.join(identity.BATCHABLE)}."
            )


def train_group(
    specs: Sequence[MemberSpec],
    loaded: LoadedDataset | None = None,
    *,
    on_start: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Train every member of ``specs`` together; returns one ``Outcome`` per member, in order.

    ``on_start`` runs once every check has passed, before anything is written. A member that
    diverges stops alone (``FAILED.json``); the others finish. Errors that stop the whole
    group (bad data, a refused resume, Ctrl-C) are raised; only those raised after the start
    are recorded in the run dirs.
    """
    if not specs:
        return []
    check_same_group(specs)
    if os.environ.get("IMITATION_LAB_MALLOC") != "default":  # benchmarks/ compare both
        keep_freed_memory()
    clock = PhaseClock()
    clock.start()
    first = specs[0].cfg
    if loaded is None:
        with clock.phase("data"):
            keys = first.dataset.get("obs_keys")
            loaded = build.load_dataset(
                first.dataset.id,
                download=first.dataset.download,
                obs_keys=None if keys is None else list(keys),
                frame_stack=int(first.dataset.get("frame_stack", 1)),
                top_fraction=first.dataset.get("top_fraction"),
                min_return=first.dataset.get("min_return"),
                val_fraction=first.dataset.get("val_fraction"),
            )
    log.info(
        "Dataset %s: %d episodes, %d transitions.",
        first.dataset.id,
        loaded.dataset.total_episodes,
        len(loaded.data),
    )
    settings = build.trainer_settings(first)
    build.warn_about_budget(first, len(loaded.data))
    normalizer = build.make_normalizer(first, loaded)
    score_fn = build.score_fn_of(loaded)
    eval_env = build.make_eval_env(first, loaded, num_members=len(specs))
    members: list[Member] = []
    started = finished = False
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
                    score_fn=score_fn,
                    metadata=build.member_metadata(spec.cfg, loaded, spec.resolved),
                    name=spec.names.name if len(specs) > 1 else None,
                    eval_hook=trial_hook(spec.cfg, spec.run_dir),
                    check_setup=identity.check_same_setup,
                )
            )
        policies = [member.policy for member in members]
        with clock.phase("data"):
            tensors = training_tensors(loaded.data, normalizer, policies)
            val = None if loaded.val is None else training_tensors(loaded.val, normalizer, policies)
        learner = make_learner(policies, [member.ema for member in members])
        if settings.compile:  # compiled lazily, at the first step (counted as training)
            learner.compile(settings.compile_mode.value)
        fit = GroupFit(
            learner,
            members,
            tensors,
            settings,
            normalizer=normalizer,
            eval_env=eval_env,
            obs_spec=loaded.obs_spec,
            val=val,
            augment=build.make_augmentation(first, loaded),
            clock=clock,
        )
        fit.prepare()  # resumes are checked here: nothing has been written yet
        started = True
        if on_start is not None:
            on_start()
        with _log_files(specs):
            for spec, member in zip(specs, members, strict=True):
                with clock.phase("writing"):
                    if spec.hydra_files:
                        write_hydra_files(spec.run_dir, spec.hydra_files)
                    write_dataset_info(spec.run_dir, loaded.info)
                with clock.phase("logger"):
                    member.logger = build.make_logger(
                        spec.cfg, spec.run_dir, spec.resolved, loaded, spec.names
                    )
            if len(specs) > 1:
                log.info("Training %d members in one process (stacked).", len(specs))
            fit.run()
            finished = True
            with clock.phase("writing"):
                outcomes = _finish(specs, members)
    except EarlyStop:  # stopped on purpose (a pruned trial): its run dir says so itself
        raise
    except Exception as err:  # the whole group stopped: members that had started record why
        if started:
            for spec in specs:
                write_failed(spec.run_dir, err)
        raise
    finally:
        eval_env.close()
        with clock.phase("logger"):
            for member in members:  # a summary line only for members that ran to the end
                member.logger.finish(member.summary() if finished and member.alive else None)
        phases = clock.stop()
    log.info("Time (%d member%s): %s", len(specs), "s" * (len(specs) > 1), phase_line(phases))
    for outcome in outcomes:
        outcome.phases = phases
        write_timings(outcome.spec.run_dir, phases, len(specs))
    return outcomes


def _finish(specs: Sequence[MemberSpec], members: Sequence[Member]) -> list[Outcome]:
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


@contextlib.contextmanager
def _log_files(specs: Sequence[MemberSpec]) -> Iterator[None]:
    """Every member's ``<run dir>/train.log`` gets the group's log lines while it trains."""
    root = logging.getLogger()
    handlers = []
    for spec in specs:
        Path(spec.run_dir).mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(Path(spec.run_dir) / "train.log")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        handlers.append(handler)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
