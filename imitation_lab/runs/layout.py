"""How many worker processes a batched sweep uses, and how many threads each.

``hydra.launcher.n_jobs=auto`` (the default) takes one process per usable core on the CPU,
each with one intra-op thread, and one process per visible GPU on CUDA. Usable cores are the
fewest of: the CPUs this process may run on (affinity), the cgroup CPU quota (containers,
Slurm's cgroups) and ``SLURM_CPUS_PER_TASK``. Explicit ``n_jobs`` / ``threads`` win.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

AUTO = "auto"


@dataclass(frozen=True)
class Cores:
    """The usable cores and what limited them."""

    count: int
    limits: dict[str, int]  # source -> cores it allows

    def describe(self) -> str:
        return ", ".join(f"{source} {n}" for source, n in self.limits.items())


def usable_cores(environ: dict[str, str] | None = None, cgroup: Path | None = None) -> Cores:
    """The cores this process may keep busy (see the module docstring)."""
    environ = dict(os.environ) if environ is None else environ
    limits: dict[str, int] = {}
    try:
        limits["affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        limits["cpu_count"] = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup or Path("/sys/fs/cgroup/cpu.max"))
    if quota is not None:
        limits["cgroup"] = quota
    slurm = environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        limits["SLURM_CPUS_PER_TASK"] = int(slurm)
    return Cores(max(1, min(limits.values())), limits)


def cgroup_cpu_quota(cpu_max: Path) -> int | None:
    """Whole cores a cgroup v2 ``cpu.max`` (``"<quota> <period>"`` or ``"max ..."``) allows."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.floor(int(quota) / int(period)))


@dataclass(frozen=True)
class Layout:
    """Worker processes, intra-op threads per process and what chose them."""

    n_jobs: int
    threads: int
    reason: str
    gpus: int = 0  # CUDA: worker i trains on GPU i (0: the CPU, or the default GPU)

    def describe(self) -> str:
        processes = f"{self.n_jobs} process{'es' * (self.n_jobs > 1)}"
        return f"{processes} x {self.threads} thread{'s' * (self.threads > 1)} ({self.reason})"


def choose_layout(
    n_jobs: int | str,
    threads: int | str,
    *,
    device: str = "cpu",
    gpus: int = 0,
    cores: Cores | None = None,
) -> Layout:
    """The launcher's layout from its settings (``auto`` or numbers) and the machine."""
    cores = cores or usable_cores()
    on_cuda = device.startswith("cuda") and gpus > 0
    if n_jobs == AUTO:
        jobs = gpus if on_cuda else cores.count
        why = f"{gpus} GPU(s)" if on_cuda else f"{cores.count} usable core(s): {cores.describe()}"
        reason = f"n_jobs=auto: {why}"
    else:
        jobs, reason = int(n_jobs), f"n_jobs={n_jobs}"
    if threads == AUTO:  # the cores shared out: 1 each when there is a process per core
        count = max(1, cores.count // jobs)
    else:
        count = int(threads)
        reason += f", threads={threads}"
    return Layout(jobs, count, reason, gpus if on_cuda and jobs > 1 else 0)
