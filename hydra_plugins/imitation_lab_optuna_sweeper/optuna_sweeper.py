"""``hydra/sweeper=optuna``: an ask-and-tell Optuna (>= 4) sweeper with shared storage.

The config keys are hydra-optuna-sweeper's (``params``, ``n_trials``, ``n_jobs``,
``direction``, ``storage``, ``study_name``, ``sampler``, ``max_failure_rate``) plus
``pruner`` and ``heartbeat_interval``. This module is imported by Hydra's plugin scan, so it
only declares configs; the Optuna logic is in ``_impl`` (imported when a sweep starts).
No ``from __future__ import annotations`` here: Hydra's scan executes this module before it is
in ``sys.modules``, where dataclasses cannot resolve string annotations.
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import MISSING, DictConfig

PROVIDER = "imitation_lab"


class Direction(Enum):
    minimize = 1
    maximize = 2


@dataclass
class SamplerConf:
    _target_: str = MISSING


@dataclass
class TPESamplerConf(SamplerConf):
    """optuna.samplers.TPESampler (the default)."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None  # reproducible suggestions; give concurrent sweeps different seeds
    n_startup_trials: int = 10  # random trials before TPE takes over
    multivariate: bool = False
    constant_liar: bool = False  # avoid suggesting near running trials (parallel sweeps)


@dataclass
class RandomSamplerConf(SamplerConf):
    """optuna.samplers.RandomSampler."""

    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class PrunerConf:
    """No pruning (optuna.pruners.NopPruner); trials still report their evaluations."""

    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConf(PrunerConf):
    """Prune a trial whose evaluation is worse than the median of earlier trials at that step."""

    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5  # trials that are never pruned
    n_warmup_steps: int = 0  # gradient steps before a trial can be pruned
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class HyperbandPrunerConf(PrunerConf):
    """optuna.pruners.HyperbandPruner; resources are gradient steps."""

    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1
    max_resource: Any = "auto"
    reduction_factor: int = 3


@dataclass
class ThresholdPrunerConf(PrunerConf):
    """Prune a trial whose evaluation leaves [lower, upper]."""

    _target_: str = "optuna.pruners.ThresholdPruner"
    lower: float | None = None
    upper: float | None = None
    n_warmup_steps: int = 0
    interval_steps: int = 1


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.imitation_lab_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "none"}])
    sampler: SamplerConf = MISSING
    pruner: PrunerConf = MISSING
    direction: Direction = Direction.maximize  # the train app returns a score to maximize
    # null: a journal file in the sweep dir; sqlite:///<file>, journal:<file> or a DB URL
    storage: str | None = None
    study_name: str | None = None  # needed to share/resume a study (null: a new name)
    n_trials: int = 20  # trials of the study in total, over every sweep that shares it
    n_jobs: int = 2  # trials launched at once (one launcher batch)
    max_failure_rate: float = 0.0  # stop after a batch whose failed fraction exceeds this
    params: dict[str, str] | None = None  # search space: interval/choice/range/tag(log, ...)
    heartbeat_interval: int = 30  # seconds; a trial whose sweep is silent 3x this is re-run


_STORE = ConfigStore.instance()
_STORE.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider=PROVIDER)
for _name, _node in (("tpe", TPESamplerConf), ("random", RandomSamplerConf)):
    _STORE.store(group="hydra/sweeper/sampler", name=_name, node=_node, provider=PROVIDER)
for _name, _node in (
    ("none", PrunerConf),
    ("median", MedianPrunerConf),
    ("hyperband", HyperbandPrunerConf),
    ("threshold", ThresholdPrunerConf),
):
    _STORE.store(group="hydra/sweeper/pruner", name=_name, node=_node, provider=PROVIDER)


class OptunaSweeper(Sweeper):
    """Hydra's entry point; ``_impl.OptunaSweeperImpl`` does the work."""

    def __init__(self, **kwargs: Any) -> None:
        from ._impl import OptunaSweeperImpl

        self.sweeper = OptunaSweeperImpl(**kwargs)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        return self.sweeper.sweep(arguments)
