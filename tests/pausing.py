"""Interrupt a run at an exact step: the run waits there (``imitation_lab.utils.pause``) until the
test has signalled or released it, so no test depends on how fast the machine trains."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from imitation_lab.utils.pause import PAUSE_ENV

POLL_S = 0.02


def pause_env(folder: Path, *steps: int) -> dict[str, str]:
    """The environment entry that makes a run wait after ``steps`` (for a subprocess)."""
    return {PAUSE_ENV: f"{folder}:{','.join(str(s) for s in steps)}"}


def wait_until_paused(
    folder: Path, step: int, alive: Callable[[], bool] | None = None, timeout: float = 240.0
) -> Path:
    """Block until a run waits at ``step``; return its marker (``release`` it to go on)."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(Path(folder).glob(f"step-{step}-*"))
        if found:
            return found[0]
        if alive is not None and not alive():
            raise AssertionError(f"the run ended before it reached step {step}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no run reached step {step} within {timeout:.0f} s")
        time.sleep(POLL_S)


def release(marker: Path) -> None:
    """Let the run waiting at ``marker`` go on."""
    marker.unlink()


def as_from_a_terminal() -> None:
    """``preexec_fn`` of a process a test interrupts with SIGINT: the default disposition,
    unblocked, as a shell gives it (a child inherits an ignored or blocked SIGINT from the
    suite's process, and would never see the test's Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
