"""The Optuna sweep loop: ask trials, launch them as Hydra jobs, tell their results.

Every trial lives in the study's storage, so several sweeps (on several machines) can share
one study and a killed sweep can be started again:

* ``n_trials`` counts the study's trials over all sweeps. A sweep asks only while fewer are
  taken; a trial asked after the limit was reached by another sweep (a race) is marked
  failed with ``imitation_lab:surplus`` before anything runs, so exactly ``n_trials`` run.
* While its jobs run, a sweep renews each trial's ``imitation_lab:deadline`` every
  ``heartbeat_interval`` seconds. A RUNNING trial past its deadline belongs to a dead sweep:
  the next sweep marks it failed (``imitation_lab:interrupted``) and queues a copy with the
  same parameters (Optuna's ``failed_trial`` retry attribute), which the next ``ask`` runs.
* A sweep ends when ``n_trials`` trials are finished, waiting for trials that other live
  sweeps still run, then writes ``optimization_results.yaml``.
* Trial ``n`` runs in ``<sweep dir>/<n>/`` with ``+hpo=trial hpo.storage=... hpo.trial=n``,
  so the job can report its evaluations and be pruned (``imitation_lab.runs.hpo``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, Transformer
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from imitation_lab.errors import ImitationLabError
from imitation_lab.runs.hpo import (
    DEADLINE_ATTR,
    INTERRUPTED_ATTR,
    JOURNAL,
    PRUNER_ATTR,
    RETRY_OF_ATTR,
    SURPLUS_ATTR,
    absolute_storage,
    open_storage,
)
from imitation_lab.runs.objective import DIRECTION

log = logging.getLogger(__name__)
STUDY_FILE = "optuna_study.yaml"  # where the report finds the study
RESULTS_FILE = "optimization_results.yaml"
HPO_KEYS = ("hpo", "hpo.storage", "hpo.study_name", "hpo.trial")


class SweeperConfigError(CompactHydraException):
    """Bad ``hydra.sweeper.*`` input: Hydra prints the message alone (no traceback)."""


def _error(message: str) -> SweeperConfigError:
    return SweeperConfigError(f"error: {message}")


# ---------------------------------------------------------------- search space
def distribution_of(override: Override) -> BaseDistribution | str:
    """The Optuna distribution of a sweep override, or the fixed value of a plain one.

    ``choice(a, b)`` -> categorical; ``interval(a, b)`` -> float, ``tag(int, interval(a, b))``
    -> int, ``tag(log, ...)`` -> log scale; ``range(a, b[, step])`` -> int/float with that
    step, ``b`` included (as in hydra-optuna-sweeper); ``shuffle(...)`` -> categorical.
    """
    key = override.get_key_element()
    if not override.is_sweep_override():
        return override.get_value_element_as_str()
    value: Any = override.value()
    if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
        choices = list(override.sweep_iterator(transformer=Transformer.encode))
        return CategoricalDistribution(choices)
    if override.is_range_sweep():
        start, stop, step = value.start, value.stop, value.step
        if any(isinstance(v, float) for v in (start, stop, step)):
            return FloatDistribution(float(start), float(stop), step=float(step))
        high = int(start) + (int(stop) - int(start)) // int(step) * int(step)
        return IntDistribution(int(start), high, step=int(step))
    if override.is_interval_sweep():
        log_scale = "log" in value.tags
        if "int" in value.tags:  # Hydra parses interval bounds as floats
            return IntDistribution(int(value.start), int(value.end), log=log_scale)
        return FloatDistribution(float(value.start), float(value.end), log=log_scale)
    raise _error(
        f"hydra.sweeper.params.{key}={override.input_line.partition('=')[2]} is not a search "
        "space Optuna can sample: use choice(...), interval(a, b), tag(log, interval(a, b)) "
        "or range(a, b, step)."
    )


def search_space(lines: Sequence[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """Distributions and fixed values; a later line for the same key wins (command line)."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(lines))
    except Exception as err:
        raise _error(f"cannot parse the sweep parameters ({err}).") from err
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in parsed:
        key = override.get_key_element()
        try:
            value = distribution_of(override)
        except ValueError as err:  # e.g. interval(0, 1) with log scale
            raise _error(f"hydra.sweeper.params.{key}: {err}") from err
        space.pop(key, None)
        fixed.pop(key, None)
        if isinstance(value, BaseDistribution):
            space[key] = value
        else:
            fixed[key] = value
    return space, fixed


# ---------------------------------------------------------------- trial bookkeeping
#: a trial this sweep refused to run (its dir or space belongs to another study): no place
REFUSED_ATTR = "imitation_lab_refused"
#: the fixed overrides of the sweeps a study was made by (study user attribute)
FIXED_ATTR = "imitation_lab_fixed_settings"


def counts(trial: FrozenTrial) -> bool:
    """Whether ``trial`` takes one of the study's ``n_trials`` places."""
    if trial.state == TrialState.FAIL:
        attrs = trial.system_attrs
        return not (
            attrs.get(INTERRUPTED_ATTR) or attrs.get(SURPLUS_ATTR) or attrs.get(REFUSED_ATTR)
        )
    return True


def _quote(value: str) -> str:
    """A Hydra override value that keeps ``value`` verbatim (paths with odd characters)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Heartbeat:
    """Renews the deadline of the running trials every ``interval`` s while jobs run."""

    def __init__(self, storage: optuna.storages.BaseStorage, interval: float) -> None:
        self.storage, self.interval = storage, interval
        self.trial_ids: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self, trial_ids: Iterable[int]) -> None:
        deadline = time.time() + 3 * self.interval
        for trial_id in trial_ids:
            # a trial that finished meanwhile (pruned) has no deadline to renew
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
                self.storage.set_trial_system_attr(trial_id, DEADLINE_ATTR, deadline)

    def __enter__(self) -> _Heartbeat:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="optuna-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat(self.trial_ids)


# ---------------------------------------------------------------- the sweeper
class OptunaSweeperImpl(Sweeper):
    def __init__(
        self,
        sampler: optuna.samplers.BaseSampler,
        pruner: optuna.pruners.BasePruner,
        direction: Any,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        params: DictConfig | None,
        heartbeat_interval: int,
    ) -> None:
        self.sampler = sampler
        self.direction = str(getattr(direction, "name", direction))
        self.storage_url = storage
        self.study_name = study_name
        self.n_trials, self.n_jobs = n_trials, n_jobs
        self.max_failure_rate = max_failure_rate
        self.params = params
        self.heartbeat_interval = heartbeat_interval
        self.pruner_spec: dict[str, Any] = {}
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )
        spec = OmegaConf.to_container(config.hydra.sweeper.pruner, resolve=True)
        assert isinstance(spec, dict)
        self.pruner_spec = {str(k): v for k, v in spec.items()}

    # ------------------------------------------------------------ checks
    def _check(self) -> None:
        if self.direction != DIRECTION:
            raise _error(
                f"hydra.sweeper.direction={self.direction}: imitation_lab's apps return a score "
                f"to {DIRECTION} (the final normalized score, else the mean return), so the "
                f"best trial would be the worst configuration. Use hydra.sweeper.direction="
                f"{DIRECTION} (the default)."
            )
        for key, value, ok in (
            ("n_trials", self.n_trials, self.n_trials > 0),
            ("n_jobs", self.n_jobs, self.n_jobs > 0),
            ("heartbeat_interval", self.heartbeat_interval, self.heartbeat_interval > 0),
            ("max_failure_rate", self.max_failure_rate, 0 <= self.max_failure_rate <= 1),
        ):
            if not ok:
                raise _error(f"hydra.sweeper.{key}={value} is out of range: fix it.")

    def _storage(self, sweep_dir: Path) -> str:
        """The study's storage URL (default: a journal file in the sweep dir)."""
        return absolute_storage(self.storage_url or f"{JOURNAL}{sweep_dir / 'optuna.journal'}")

    def _open_study(self, url: str) -> optuna.Study:
        try:
            storage = open_storage(url)
            study = optuna.create_study(
                study_name=self.study_name,
                storage=storage,
                sampler=self.sampler,
                direction=self.direction,
                load_if_exists=True,
            )
        except ImitationLabError as err:
            raise _error(str(err)) from err
        except ValueError as err:  # an existing study with another direction
            raise _error(
                f"study {self.study_name!r} in {url}: {err}. Use its direction or another "
                "hydra.sweeper.study_name."
            ) from err
        if study.direction.name.lower() != self.direction:
            raise _error(
                f"study {study.study_name!r} in {url} is to "
                f"{study.direction.name.lower()}, not {self.direction}: set "
                f"hydra.sweeper.direction={study.direction.name.lower()} or use another "
                "hydra.sweeper.study_name."
            )
        return study

    def _check_same_study(self, sweep_dir: Path, url: str, study_name: str | None) -> None:
        """A sweep dir holds the trials of one study: refuse another one before writing (a
        sweep without a study_name makes a new study, so it never continues one)."""
        path = sweep_dir / STUDY_FILE
        if not path.is_file():
            return
        recorded = OmegaConf.load(path)
        if (recorded.get("storage"), recorded.get("study_name")) != (url, study_name):
            raise _error(
                f"{sweep_dir} holds study {recorded.get('study_name')!r} in "
                f"{recorded.get('storage')}, not {study_name!r} in {url}; nothing was written. "
                "Use another hydra.sweep.dir, or that study's storage and study_name."
            )

    def _check_fixed_settings(self, study: optuna.Study, fixed: dict[str, str], url: str) -> None:
        """The trials of one study must differ only in the searched parameters: a sweep with
        other fixed settings (another trainer.steps, dataset...) is refused before it asks for
        a trial, or the best trial would come from another setting."""
        settings = sorted(f"{k}={v}" for k, v in fixed.items())
        recorded = study.user_attrs.get(FIXED_ATTR)
        if recorded is None:
            study.set_user_attr(FIXED_ATTR, settings)
            return
        if list(recorded) != settings:
            only_there = sorted(set(recorded) - set(settings))
            only_here = sorted(set(settings) - set(recorded))
            raise _error(
                f"study {study.study_name!r} in {url} was made by sweeps with "
                f"{', '.join(only_there) or '(nothing else)'}; this one has "
                f"{', '.join(only_here) or '(nothing else)'}: their trials are not comparable. "
                "Use the same fixed settings, or another hydra.sweeper.study_name."
            )

    def _reseed(self, study: optuna.Study) -> None:
        """A seeded sampler continuing a study starts from ``seed + number of trials``: the
        same seed would replay the first sweep's suggestions (duplicate trials)."""
        assert self.config is not None
        seed = OmegaConf.select(self.config, "hydra.sweeper.sampler.seed", default=None)
        trials = len(study.get_trials(deepcopy=False))
        if seed is None or trials == 0:
            return
        from hydra.utils import instantiate

        study.sampler = instantiate(self.config.hydra.sweeper.sampler, seed=int(seed) + trials)
        log.info("Sampler seed %d + %d trials already in the study.", int(seed), trials)

    # ------------------------------------------------------------ the loop
    def sweep(self, arguments: list[str]) -> None:
        assert self.config is not None and self.launcher is not None
        self._check()
        lines = [f"{k!s}={v}" for k, v in (self.params or {}).items()] + list(arguments)
        space, fixed = search_space(lines)
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).resolve()
        url = self._storage(sweep_dir)
        self._check_same_study(sweep_dir, url, self.study_name)  # every check before a write
        sweep_dir.mkdir(parents=True, exist_ok=True)
        study = self._open_study(url)
        self._check_fixed_settings(study, fixed, url)
        self._reseed(study)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        OmegaConf.save(
            OmegaConf.create(
                {"storage": url, "study_name": study.study_name, "direction": self.direction}
            ),
            sweep_dir / STUDY_FILE,
        )
        log.info(
            "Study %s in %s: %s, %d trials in all, %d at a time, sampler %s, pruner %s.",
            study.study_name,
            url,
            self.direction,
            self.n_trials,
            self.n_jobs,
            type(self.sampler).__name__,
            self.pruner_spec.get("_target_", "none"),
        )
        heartbeat = _Heartbeat(study._storage, self.heartbeat_interval)
        poll = min(float(self.heartbeat_interval), 5.0)
        while True:
            self._reclaim_stale(study)
            trials = study.get_trials(deepcopy=False)
            finished = sum(counts(t) and t.state.is_finished() for t in trials)
            taken = sum(counts(t) and t.state != TrialState.WAITING for t in trials)
            free = self.n_trials - taken
            if free <= 0:
                alive = [t.number for t in trials if self._alive(t)]
                if finished >= self.n_trials or not alive:
                    break
                log.info("Waiting for trials %s of other sweeps.", alive)
                time.sleep(poll)
                continue
            batch = self._ask(study, min(self.n_jobs, free), space, fixed, sweep_dir, url)
            if batch:
                self._run_batch(study, batch, heartbeat, space, fixed, url)
        self._write_results(study, sweep_dir)

    def _alive(self, trial: FrozenTrial) -> bool:
        deadline = trial.system_attrs.get(DEADLINE_ATTR)
        return trial.state == TrialState.RUNNING and deadline is not None and deadline > time.time()

    def _reclaim_stale(self, study: optuna.Study) -> None:
        """Fail the RUNNING trials of dead sweeps and queue a copy of each (never lost)."""
        storage = study._storage
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            deadline = trial.system_attrs.get(DEADLINE_ATTR)
            if deadline is None or deadline > time.time():
                continue
            try:
                storage.set_trial_system_attr(trial._trial_id, INTERRUPTED_ATTR, True)
                storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
                continue  # another sweep reclaimed it first, or it just finished
            history = [*trial.system_attrs.get("retry_history", []), trial.number]
            study.add_trial(
                optuna.trial.create_trial(
                    state=TrialState.WAITING,
                    params=trial.params,
                    distributions=trial.distributions,
                    user_attrs=trial.user_attrs,
                    system_attrs={RETRY_OF_ATTR: trial.number, "retry_history": history},
                )
            )
            log.warning(
                "Trial %d was running in a sweep that stopped (no heartbeat since %s): "
                "marked failed, its parameters queued to run again.",
                trial.number,
                time.strftime("%H:%M:%S", time.localtime(deadline - 3 * self.heartbeat_interval)),
            )

    def _ask(
        self,
        study: optuna.Study,
        count: int,
        space: dict[str, BaseDistribution],
        fixed: dict[str, str],
        sweep_dir: Path,
        url: str,
    ) -> list[optuna.Trial]:
        """Up to ``count`` trials that fit in ``n_trials``, with their parameters suggested."""
        batch = []
        storage = study._storage
        for _ in range(count):
            trial = study.ask()
            storage.set_trial_system_attr(trial._trial_id, DEADLINE_ATTR, self._deadline())
            ranked = sorted(t.number for t in study.get_trials(deepcopy=False) if counts(t))
            if trial.number not in ranked[: self.n_trials]:
                storage.set_trial_system_attr(trial._trial_id, SURPLUS_ATTR, True)
                study.tell(trial, state=TrialState.FAIL)
                log.info(
                    "Trial %d not run: the study has its %d trials.", trial.number, self.n_trials
                )
                break
            job_dir = sweep_dir / str(trial.number)
            if (job_dir / ".hydra").exists():
                storage.set_trial_system_attr(trial._trial_id, REFUSED_ATTR, True)
                study.tell(trial, state=TrialState.FAIL)
                raise _error(
                    f"{job_dir} already holds a run, but study {study.study_name!r} in {url} "
                    f"gave this sweep trial {trial.number}: the sweep dir belongs to another "
                    "study. Use a new hydra.sweep.dir (or that study's storage and name)."
                )
            storage.set_trial_system_attr(trial._trial_id, PRUNER_ATTR, self.pruner_spec)
            try:
                for name, distribution in space.items():
                    trial._suggest(name, distribution)
            except ValueError as err:  # a queued retry from a sweep with another space
                storage.set_trial_system_attr(trial._trial_id, REFUSED_ATTR, True)
                study.tell(trial, state=TrialState.FAIL)
                raise _error(
                    f"trial {trial.number} of study {study.study_name!r} has {name} from "
                    f"another search space ({err}): use the same hydra.sweeper.params as the "
                    "sweeps that share this study, or another study_name."
                ) from err
            batch.append(trial)
        return batch

    def _deadline(self) -> float:
        return time.time() + 3 * self.heartbeat_interval

    def _overrides(self, trial: optuna.Trial, fixed: dict[str, str], url: str) -> list[str]:
        assert self.config is not None
        excluded = list(self.config.hydra.job.config.override_dirname.exclude_keys)
        excluded += [k for k in HPO_KEYS if k not in excluded]
        return [
            *(f"{name}={value}" for name, value in trial.params.items()),
            *(f"{name}={value}" for name, value in fixed.items()),
            "+hpo=trial",
            f"hpo.storage={_quote(url)}",
            f"hpo.study_name={_quote(trial.study.study_name)}",
            f"hpo.trial={trial.number}",
            f"hydra.sweep.subdir={trial.number}",  # trial n runs in <sweep dir>/<n>
            f"hydra.job.config.override_dirname.exclude_keys=[{','.join(excluded)}]",
        ]

    def _run_batch(
        self,
        study: optuna.Study,
        batch: list[optuna.Trial],
        heartbeat: _Heartbeat,
        space: dict[str, BaseDistribution],
        fixed: dict[str, str],
        url: str,
    ) -> None:
        overrides = [self._overrides(trial, fixed, url) for trial in batch]
        self.validate_batch_is_legal(overrides)
        heartbeat.trial_ids = [t._trial_id for t in batch]
        heartbeat.beat(heartbeat.trial_ids)
        with heartbeat:
            returns = self.launcher.launch(overrides, initial_job_idx=batch[0].number)
        failures = [
            ret
            for trial, ret in zip(batch, returns, strict=True)
            if not self._tell(study, trial, ret)
        ]
        if failures and len(failures) / len(batch) > self.max_failure_rate:
            log.error(
                "%d of %d trials failed (hydra.sweeper.max_failure_rate=%s): stopping.",
                len(failures),
                len(batch),
                self.max_failure_rate,
            )
            for ret in failures:
                _ = ret.return_value  # raises the job's error, as Hydra's basic sweeper does

    def _tell(self, study: optuna.Study, trial: optuna.Trial, ret: JobReturn) -> bool:
        """Record a finished job's result in its trial; False when the job failed."""
        state = study._storage.get_trial(trial._trial_id).state
        if state.is_finished():  # pruned by the job (or taken over by another sweep)
            log.info("Trial %d: %s.", trial.number, state.name.lower())
            return state != TrialState.FAIL
        if ret.status != JobStatus.COMPLETED:
            study.tell(trial, state=TrialState.FAIL)
            log.warning("Trial %d failed: %s", trial.number, ret._return_value)
            return False
        try:
            value = float(ret.return_value)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            study.tell(trial, state=TrialState.FAIL)
            log.warning(
                "Trial %d returned %r, not a finite number.", trial.number, ret.return_value
            )
            return False
        study.tell(trial, value)
        log.info("Trial %d: %s = %.4f", trial.number, self.direction, value)
        return True

    def _write_results(self, study: optuna.Study, sweep_dir: Path) -> None:
        results: dict[str, Any] = {"name": "optuna", "study_name": study.study_name}
        try:
            best = study.best_trial
        except ValueError:  # no completed trial
            log.warning("No trial of study %s completed.", study.study_name)
        else:
            results |= {
                "best_trial": best.number,
                "best_params": best.params,
                "best_value": best.value,
            }
            log.info(
                "Best trial %d: %s = %s, %s", best.number, self.direction, best.value, best.params
            )
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS_FILE)
