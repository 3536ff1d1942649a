"""Optuna trials that run in other processes (joblib, submitit, Slurm) reach their study here.

The sweeper (``hydra/sweeper=optuna``, ``hydra_plugins/imitation_lab_optuna_sweeper``) starts
each trial as a job with ``+hpo=trial hpo.storage=<url> hpo.study_name=<name>
hpo.trial=<number>``. In the job, ``trial_hook`` gives the trainer an evaluation hook that
reports the objective (``eval/normalized_score``, else ``eval/return_mean``) to the trial at
each evaluation and, when the study's pruner says so, marks the trial pruned in the storage and
in the run dir (``PRUNED.json``) and raises ``TrialPruned``: the train app then ends cleanly.

Storage URLs: anything ``optuna.storages.RDBStorage`` takes (``sqlite:///study.db``,
``postgresql://...``) and ``journal:<file>``, Optuna's journal file storage (file locks only:
for NFS clusters with no database server).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from imitation_lab.config.instantiate import targets_in
from imitation_lab.errors import ConfigError, EarlyStop
from imitation_lab.runs.objective import objective
from imitation_lab.runs.run_dir import write_pruned

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

JOURNAL = "journal:"
SQLITE = "sqlite:///"
SQLITE_TIMEOUT_S = 60  # several sweeps and jobs write one sqlite file: wait, do not fail
CREATE_ATTEMPTS = 5  # sweeps started at once race to create the tables: the losers retry
#: trial system attributes written by the sweeper
PRUNER_ATTR = "imitation_lab:pruner"  # the pruner config ({_target_: ..., ...})
DEADLINE_ATTR = "imitation_lab:deadline"  # epoch seconds; a RUNNING trial past it is stale
INTERRUPTED_ATTR = "imitation_lab:interrupted"  # its sweep died; a copy was queued
SURPLUS_ATTR = "imitation_lab:surplus"  # asked after n_trials was reached; never run
RETRY_OF_ATTR = "failed_trial"  # the trial this one re-runs (Optuna's own key for retries)


class TrialPruned(EarlyStop):
    """The pruner stopped this trial at ``step``; ``value`` is its last reported objective."""

    def __init__(self, trial: int, step: int, value: float) -> None:
        super().__init__(f"trial {trial} pruned at step {step} (objective {value:.3f})")
        self.trial, self.step, self.value = trial, step, value

    def __reduce__(self) -> tuple:  # back from a launcher's worker process, whole
        return (type(self), (self.trial, self.step, self.value))


def absolute_storage(url: str, cwd: Path | None = None) -> str:
    """``url`` with a relative sqlite/journal file made absolute (jobs run elsewhere)."""
    cwd = Path.cwd() if cwd is None else cwd
    if url.startswith(JOURNAL):
        return JOURNAL + str((cwd / journal_path(url)).resolve())
    if url.startswith(SQLITE) and not url.startswith(SQLITE + "/"):
        path = url.removeprefix(SQLITE)
        if path and path != ":memory:":
            return SQLITE + str((cwd / path).resolve())
    return url


def journal_path(url: str) -> str:
    """The file of a ``journal:<file>`` URL (``journal:///abs/file`` is accepted too)."""
    path = url.removeprefix(JOURNAL)
    return path[2:] if path.startswith("///") else path


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; a bad URL is one ``ConfigError`` naming it."""
    import optuna
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

    if url.startswith("sqlite:") and url.removeprefix(SQLITE).strip("/") in ("", ":memory:"):
        raise ConfigError(
            f"Optuna storage {url!r} is an in-memory database: the trials (jobs in other "
            "processes) could not reach it, and the study would be lost at exit. Use "
            "hydra.sweeper.storage=sqlite:///<file>.db or journal:<file>."
        )
    try:
        if url.startswith(JOURNAL):
            path = journal_path(url)
            if not path:
                raise ValueError("no file after journal:")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            backend = optuna.storages.journal.JournalFileBackend(path)
            return optuna.storages.JournalStorage(backend)
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite:"):
            kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
            path = url.removeprefix(SQLITE)
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(CREATE_ATTEMPTS):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
            except (IntegrityError, OperationalError) as err:
                # another sweep created the tables at the same moment ("already exists", or a
                # duplicate version row): the losers retry; any other database error is real
                race = isinstance(err, IntegrityError) or "already exists" in str(err)
                if not race or attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")
    except (ValueError, ImportError, OSError, SQLAlchemyError, StorageInternalError) as err:
        raise ConfigError(
            f"Optuna storage {url!r} cannot be opened ({type(err).__name__}: {err}). Use "
            "hydra.sweeper.storage=sqlite:///<file>.db, journal:<file> or a database URL."
        ) from err


def instantiate_pruner(spec: Mapping[str, Any] | None) -> optuna.pruners.BasePruner:
    """The pruner a sweeper stored with the trial (``NopPruner`` when there is none)."""
    import optuna
    from hydra.utils import instantiate

    if not spec or spec.get("_target_") in (None, "optuna.pruners.NopPruner"):
        return optuna.pruners.NopPruner()
    pruners = {f"optuna.pruners.{name}" for name in optuna.pruners.__all__}
    for key, target in targets_in(dict(spec), "hydra.sweeper.pruner."):  # storage is data
        if target not in pruners:
            raise ConfigError(f"{key}={target} is not an optuna.pruners class.")
    return instantiate(dict(spec))


class TrialReporter:
    """The trainer's evaluation hook in a trial job: ``reporter(step, eval_metrics)``.

    Reports the objective to the trial; before the last step asks the pruner and, when it
    prunes, writes ``PRUNED.json``, marks the trial PRUNED in the study and raises
    ``TrialPruned``. A trial that another sweep already finished (it took the trial over
    as stale) is no longer reported to.
    """

    def __init__(
        self, storage: str, study_name: str, number: int, run_dir: Path, last_step: int
    ) -> None:
        self.storage_url, self.study_name, self.number = storage, study_name, number
        self.run_dir, self.last_step = Path(run_dir), last_step
        self._study: optuna.Study | None = None
        self._trial: optuna.Trial | None = None
        self._active = True

    def _open(self) -> tuple[optuna.Study, optuna.Trial]:
        if self._study is None or self._trial is None:
            import optuna

            storage = open_storage(self.storage_url)
            try:
                study_id = storage.get_study_id_from_name(self.study_name)
                trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.number)
            except KeyError as err:
                raise ConfigError(
                    f"hpo: no trial {self.number} in study {self.study_name!r} of "
                    f"{self.storage_url}: hpo.* is set by the Optuna sweeper, not by hand."
                ) from err
            pruner = instantiate_pruner(storage.get_trial_system_attrs(trial_id).get(PRUNER_ATTR))
            self._study = optuna.load_study(
                study_name=self.study_name,
                storage=storage,
                pruner=pruner,
                sampler=optuna.samplers.RandomSampler(),  # never samples: params are set
            )
            self._trial = optuna.Trial(self._study, trial_id)
        return self._study, self._trial

    def __call__(self, step: int, metrics: Mapping[str, float]) -> None:
        if not self._active:
            return
        value = objective(metrics, "eval/", required=False)
        if value is None:
            return
        import optuna

        study, trial = self._open()
        try:
            trial.report(float(value), step)
        except optuna.exceptions.UpdateFinishedTrialError:
            log.warning(
                "Trial %d is already finished in study %s (another sweep took it over): "
                "its evaluations are no longer reported.",
                self.number,
                self.study_name,
            )
            self._active = False
            return
        if step >= self.last_step or not trial.should_prune():
            return  # the last evaluation is the objective: never pruned
        write_pruned(self.run_dir, step, float(value), self.number)
        # finished by another sweep meanwhile: the run dir still says pruned
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            study.tell(self.number, state=optuna.trial.TrialState.PRUNED)
        log.info("Trial %d pruned at step %d (objective %.3f).", self.number, step, value)
        raise TrialPruned(self.number, step, float(value))


def trial_hook(cfg: DictConfig, run_dir: Path) -> TrialReporter | None:
    """The evaluation hook of an Optuna trial job (``cfg.hpo`` set), else None.

    A ``trainer.num_seeds=K`` job reports nothing (K seeds share one trial; its objective is
    their mean, told by the sweeper at the end).
    """
    hpo = cfg.get("hpo")
    if hpo is None or cfg.trainer.num_seeds > 1:
        return None
    node = OmegaConf.to_container(hpo, resolve=True)
    assert isinstance(node, dict)
    return TrialReporter(
        str(node["storage"]),
        str(node["study_name"]),
        int(node["trial"]),
        run_dir,
        last_step=int(cfg.trainer.steps),
    )
