"""A test hook: a run waits at chosen steps so that a test interrupts it exactly there.

Tests of Ctrl-C, kill -9, Slurm requeues and Optuna kills need a run that is still training
when the signal arrives, whatever the machine's speed. With ``IMITATION_LAB_PAUSE_AT`` set to
``<folder>:<step>[,<step>...]``, the training loop, after the evaluation and checkpoint of a
listed step, creates ``<folder>/step-<step>-<pid>`` and waits while that file exists (signals
are handled while it waits), for at most ``MAX_WAIT_S``: the test signals the process, or
deletes the file to let it go on. A run resumed from a listed step does not wait there again
(it starts after it). Unset, it costs one environment lookup per evaluation/checkpoint step.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_ENV = "IMITATION_LAB_PAUSE_AT"
MAX_WAIT_S = 600.0
POLL_S = 0.02


def pause_point(step: int) -> None:
    """Wait here when ``IMITATION_LAB_PAUSE_AT`` lists ``step`` (see the module doc)."""
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    folder, _, steps = spec.rpartition(":")
    if step not in {int(s) for s in steps.split(",") if s.strip()}:
        return
    marker = Path(folder) / f"step-{step}-{os.getpid()}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    deadline = time.monotonic() + MAX_WAIT_S
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(POLL_S)
