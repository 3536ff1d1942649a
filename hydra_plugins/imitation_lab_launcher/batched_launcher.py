"""The Hydra side of ``hydra/launcher=batched``: set each job up as Hydra would, then hand the
jobs to ``imitation_lab.runs.batched.train_jobs`` and report one ``JobReturn`` per job."""

from __future__ import annotations

import copy
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import (
    JobReturn,
    JobStatus,
    configure_log,
    filter_overrides,
    setup_globals,
)
from hydra.errors import CompactHydraException
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from hydra_plugins.imitation_lab_launcher import config as _config  # noqa: F401 (registers)

if TYPE_CHECKING:
    from imitation_lab.runs.layout import Layout
    from imitation_lab.runs.workers import Workers

log = logging.getLogger(__name__)


class LauncherConfigError(CompactHydraException):
    """Bad ``hydra.launcher.*`` input: Hydra prints the message alone (no traceback)."""


def check_settings(max_members: int | None, n_jobs: Any, threads: Any = "auto") -> None:
    """Refuse settings that could only fail later, before any job dir exists."""
    if max_members is not None and (not _is_count(max_members)):
        raise LauncherConfigError(
            f"error: hydra.launcher.max_members={max_members}: use a number >= 1 (jobs per "
            "group) or null (no cap)."
        )
    for key, value, what in (("n_jobs", n_jobs, "processes at once"),
                             ("threads", threads, "torch threads per process")):  # fmt: skip
        if value != "auto" and not _is_count(value):
            raise LauncherConfigError(
                f"error: hydra.launcher.{key}={value}: use auto or a number >= 1 ({what})."
            )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class BatchedLauncher(Launcher):
    """Groups the jobs of a multirun and trains each group in one process."""

    def __init__(
        self, max_members: int | None = None, n_jobs: Any = "auto", threads: Any = "auto"
    ) -> None:
        self.max_members = max_members
        self.n_jobs = n_jobs
        self.threads = threads
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self.workers: Workers | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        try:
            check_settings(self.max_members, self.n_jobs, self.threads)
        except LauncherConfigError:
            return  # said by launch(), before anything else happens
        # the workers start now: they import torch while the sweeper checks the jobs
        self.workers = self._start_workers(self._layout(None))

    def _start_workers(self, layout: Layout) -> Workers:
        from imitation_lab.runs.workers import Workers

        return Workers(layout, logging.getLogger().getEffectiveLevel())

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from imitation_lab.runs.jobs import note_sweep_dir

        check_settings(self.max_members, self.n_jobs, self.threads)
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        note_sweep_dir(sweep_dir)  # for the Ctrl-C line: N of M started jobs finished
        layout = self._layout(len(job_overrides))
        log.info(
            "Batched launcher (max_members=%s, %s): %d jobs, sweep output dir: %s",
            self.max_members,
            layout.describe(),
            len(job_overrides),
            sweep_dir,
        )
        workers = self.workers or self._start_workers(layout)  # a later batch: new ones
        self.workers = None
        try:
            return self._launch(job_overrides, initial_job_idx, layout, workers)
        finally:
            workers.shutdown()

    def _layout(self, num_jobs: int | None) -> Layout:
        """Processes and threads for this sweep (``runs.layout``); never more processes
        than jobs (``num_jobs``, when known)."""
        from imitation_lab.runs.layout import choose_layout

        assert self.config is not None
        device = str(self.config.get("trainer", {}).get("device", "cpu"))
        gpus = 0
        if device.startswith("cuda"):
            import torch

            gpus = torch.cuda.device_count()
        layout = choose_layout(self.n_jobs, self.threads, device=device, gpus=gpus)
        if num_jobs is not None and num_jobs < layout.n_jobs:
            layout = replace(layout, n_jobs=max(1, num_jobs), gpus=min(layout.gpus, num_jobs))
        return layout

    def _launch(
        self,
        job_overrides: Sequence[Sequence[str]],
        initial_job_idx: int,
        layout: Layout,
        workers: Workers,
    ) -> Sequence[JobReturn]:
        from imitation_lab.runs.batched import job_spec, train_jobs
        from imitation_lab.runs.jobs import job_failure, run_names

        assert self.config is not None and self.hydra_context is not None
        returns, specs, job_cfgs = [], [], []
        original = HydraConfig.instance().cfg
        items = []
        for offset, overrides in enumerate(job_overrides):
            idx = initial_job_idx + offset
            log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
            items.append((idx, list(overrides)))
        # composed where the workers are (in parallel), or here one after another
        compose = functools.partial(
            prepare_job, self.hydra_context, self.config, Singleton.get_state(), os.getpid()
        )
        for job_cfg, task_cfg, files in workers.map(compose, items, [1.0] * len(items)):
            HydraConfig.instance().set_config(job_cfg)
            job_cfgs.append(job_cfg)
            returns.append(_job_return(job_cfg, task_cfg))
            run_dir = Path(job_cfg.hydra.runtime.output_dir)
            specs.append(job_spec(task_cfg, run_dir, run_names(task_cfg), files))
        if job_cfgs:  # console lines as a job logs them (train.log: opened per member)
            HydraConfig.instance().set_config(job_cfgs[0])
            configure_log(job_cfgs[0].hydra.job_logging, job_cfgs[0].hydra.verbose)
        HydraConfig.instance().cfg = original  # type: ignore[assignment]
        results = train_jobs(specs, max_members=self.max_members, layout=layout, workers=workers)
        for ret, result in zip(returns, results, strict=True):
            if result.error is None:
                ret.status, ret.return_value = JobStatus.COMPLETED, result.objective
            else:  # a user error ends the sweep with its one line, a bug with its traceback
                ret.status, ret.return_value = JobStatus.FAILED, job_failure(result.error)
        return returns


def prepare_job(
    hydra_context: HydraContext,
    config: DictConfig,
    singleton_state: dict[Any, Any],
    launcher_pid: int,
    item: tuple[int, list[str]],
) -> tuple[DictConfig, DictConfig, dict[str, str]]:
    """Job ``item`` = (number, overrides) as ``run_job`` makes it (output dir, interpolations
    resolved with the job's own ``HydraConfig``), in this process or a worker; returns (full
    config, task config, its ``.hydra`` files, written by the group once the job starts).
    Nothing is written here."""
    from imitation_lab.config.schemas import register_configs

    if os.getpid() != launcher_pid:
        Singleton.set_state(singleton_state)  # a worker: Hydra's state as the launcher's
    register_configs()
    idx, overrides = item
    job_cfg = hydra_context.config_loader.load_sweep_config(config, overrides)
    with open_dict(job_cfg):
        job_cfg.hydra.job.id = f"{job_cfg.hydra.job.name}_{idx}"
        job_cfg.hydra.job.num = idx
    HydraConfig.instance().set_config(job_cfg)
    output_dir = os.path.join(str(job_cfg.hydra.sweep.dir), str(job_cfg.hydra.sweep.subdir))
    with read_write(job_cfg.hydra.runtime), open_dict(job_cfg.hydra.runtime):
        job_cfg.hydra.runtime.output_dir = os.path.abspath(output_dir)
    HydraConfig.instance().set_config(job_cfg)
    task_cfg = copy.deepcopy(job_cfg)
    with read_write(task_cfg), open_dict(task_cfg):
        del task_cfg["hydra"]
    files = {
        "config.yaml": OmegaConf.to_yaml(task_cfg),
        "hydra.yaml": OmegaConf.to_yaml(OmegaConf.create({"hydra": HydraConfig.get()})),
        "overrides.yaml": OmegaConf.to_yaml(job_cfg.hydra.overrides.task),
    }
    OmegaConf.resolve(task_cfg)  # ${hydra:...} needs this job's HydraConfig: resolve now
    return job_cfg, task_cfg, files


def _job_return(job_cfg: DictConfig, task_cfg: DictConfig) -> JobReturn:
    ret = JobReturn()
    ret.cfg = task_cfg
    ret.hydra_cfg = copy.deepcopy(HydraConfig.instance().cfg)
    overrides = OmegaConf.to_container(job_cfg.hydra.overrides.task)
    assert isinstance(overrides, list)
    ret.overrides = overrides  # type: ignore[assignment]
    ret.working_dir = os.getcwd()
    ret.task_name = str(job_cfg.hydra.job.name)
    return ret
