"""The worker processes of a batched sweep: started first, used for every group.

``start_workers`` spawns the layout's processes (loky, as joblib does) the moment the launcher
starts, so they import torch and the training code while the launcher still composes the
jobs' configs. Each worker runs whole groups with the layout's intra-op threads; on CUDA
worker slot ``i`` trains on GPU ``i``. A worker holds its jobs' locks while it trains and
exits when the launcher is gone (kill -9): an orphan must not go on training into dirs a
re-run will claim.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from imitation_lab.runs.group import LOG_FORMAT
from imitation_lab.runs.layout import Layout

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class Workers:
    """``layout.n_jobs`` processes (none when it is 1: groups then run in this process)."""

    def __init__(self, layout: Layout, level: int) -> None:
        self.layout = layout
        self.level = level
        self._executor: Any = None
        if layout.n_jobs > 1:
            from joblib.externals.loky import get_reusable_executor

            self._executor = get_reusable_executor(
                max_workers=layout.n_jobs,
                env=thread_env(layout.threads),
                reuse=False,
                initializer=_start_worker,
                initargs=(os.getpid(), level, layout.threads, layout.gpus),
            )

    def map(self, fn: Callable[[T], R], items: Sequence[T], cost: Sequence[float]) -> list[R]:
        """``fn`` of each item, in order; the costliest items start first. In this process
        (with the layout's threads) when there are no worker processes."""
        if self._executor is None or len(items) <= 1:
            with torch_threads(self.layout.threads):
                return [fn(item) for item in items]
        order = sorted(range(len(items)), key=lambda i: -cost[i])
        futures: dict[int, Future] = {i: self._executor.submit(fn, items[i]) for i in order}
        try:
            return [futures[i].result() for i in range(len(items))]
        except BaseException:  # Ctrl-C or a lost worker: no group may train on unattended
            self.shutdown(kill=True)
            raise

    def shutdown(self, kill: bool = False) -> None:
        """Wait for the workers to exit (``kill``: end them now, mid-group)."""
        if self._executor is not None:
            self._executor.shutdown(wait=not kill, kill_workers=kill)
            self._executor = None


def thread_env(threads: int) -> dict[str, str]:
    """The thread-pool variables a worker starts with (torch, MKL, OpenBLAS read them)."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS")}  # fmt: skip


def torch_thread_count() -> int:
    """torch's intra-op threads in this process now."""
    import torch

    return torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` inside, restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _start_worker(launcher_pid: int, level: int, threads: int, gpus: int) -> None:
    """A new worker: the launcher's log level and format, its threads, its own GPU and a
    watchdog on the launcher. Unpickling this function imported this module, and with it the
    training code (``runs.group``: torch, gymnasium), while the launcher composes configs."""
    _log_like_the_launcher(level)
    threading.Thread(target=_exit_with, args=(launcher_pid,), daemon=True).start()
    import torch

    torch.set_num_threads(threads)
    if gpus > 0:
        torch.cuda.set_device(_claim_gpu(launcher_pid, gpus))


_GPU_LOCK: Any = None  # held for the worker's life


def _claim_gpu(launcher_pid: int, gpus: int) -> int:
    """The first GPU no other worker of this launcher holds (a lock file per GPU)."""
    import fcntl
    import tempfile

    global _GPU_LOCK
    for index in range(gpus):
        path = os.path.join(tempfile.gettempdir(), f"imitation_lab-{launcher_pid}-gpu{index}")
        handle = open(path, "w")  # noqa: SIM115 (kept open: the lock lives with the worker)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _GPU_LOCK = handle
        return index
    return os.getpid() % gpus  # more workers than GPUs (explicit n_jobs): share them


def _exit_with(launcher_pid: int, poll_s: float = 0.5) -> None:
    """Exit this process as soon as its launcher process is gone (a watchdog thread)."""
    while True:
        try:
            os.kill(launcher_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        if os.getppid() == 1:  # re-parented: the launcher died (its pid may be reused)
            os._exit(1)
        time.sleep(poll_s)


def _log_like_the_launcher(level: int) -> None:
    """A fresh worker logs nothing below WARNING: give it the launcher's level and a console
    handler in its format (the group adds each job's ``train.log``)."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
