"""The batched launcher's layout: usable cores (affinity, cgroup quota, Slurm) and the
processes x threads it picks from them, with explicit settings winning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imitation_lab.runs.layout import Cores, cgroup_cpu_quota, choose_layout, usable_cores


def test_usable_cores_are_the_fewest_any_limit_allows(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")
    affinity = len(os.sched_getaffinity(0))
    assert usable_cores({}, cpu_max).count == affinity  # no quota
    cpu_max.write_text("150000 100000\n")  # 1.5 cores: one whole core
    assert cgroup_cpu_quota(cpu_max) == 1
    cores = usable_cores({}, cpu_max)
    assert cores.count == 1 and cores.limits["cgroup"] == 1
    cpu_max.write_text("800000 100000\n")
    cores = usable_cores({"SLURM_CPUS_PER_TASK": "1"}, cpu_max)
    assert cores.count == 1 and cores.limits["SLURM_CPUS_PER_TASK"] == 1
    assert usable_cores({"SLURM_CPUS_PER_TASK": ""}, tmp_path / "absent").count == affinity


def test_auto_is_a_process_per_core_with_one_thread_or_a_process_per_gpu() -> None:
    four = Cores(4, {"affinity": 4})
    layout = choose_layout("auto", "auto", cores=four)
    assert (layout.n_jobs, layout.threads, layout.gpus) == (4, 1, 0)
    assert "n_jobs=auto: 4 usable core(s): affinity 4" in layout.describe()
    cuda = choose_layout("auto", "auto", device="cuda", gpus=2, cores=four)
    assert (cuda.n_jobs, cuda.threads, cuda.gpus) == (2, 2, 2)
    no_gpu = choose_layout("auto", "auto", device="cuda", gpus=0, cores=four)  # as on the CPU
    assert (no_gpu.n_jobs, no_gpu.gpus) == (4, 0)


def test_explicit_settings_win() -> None:
    four = Cores(4, {"affinity": 4})
    assert (choose_layout(1, "auto", cores=four).threads) == 4  # one process: every core
    assert (choose_layout(2, "auto", cores=four).threads) == 2
    layout = choose_layout(3, 1, cores=four)
    assert (layout.n_jobs, layout.threads) == (3, 1) and "threads=1" in layout.reason


@pytest.mark.parametrize(
    ("max_members", "n_jobs", "threads", "fragment"),
    [(0, "auto", "auto", "max_members=0"), (None, 0, "auto", "n_jobs=0"),
     (None, "many", "auto", "n_jobs=many"), (None, "auto", -1, "threads=-1"),
     (None, True, "auto", "n_jobs=True")],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused(
    max_members: object, n_jobs: object, threads: object, fragment: str
) -> None:
    # imported here: Hydra's plugin scan re-executes the module (new class objects) when a
    # test before this one ran Hydra in this process
    from hydra_plugins.imitation_lab_launcher import batched_launcher as launcher

    with pytest.raises(launcher.LauncherConfigError, match=fragment):
        launcher.check_settings(max_members, n_jobs, threads)  # type: ignore[arg-type]
    launcher.check_settings(None, "auto", "auto")
    launcher.check_settings(4, 2, 1)
