"""Where a group's wall clock goes: start-up, data, logger, training, evaluation, writing.

``PhaseClock`` charges every second between ``start`` and ``stop`` to exactly one phase:
``with clock.phase("evaluation"):`` inside ``with clock.phase("training"):`` pauses training
while it evaluates (exclusive time), so the phases add up to the group's wall clock. Start-up
is what this process spent before the group began: since the process started for its first
group, since the previous group ended for the next ones (a reused worker composes the next
job's config in that time).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

PHASES = ("start-up", "data", "logger", "training", "evaluation", "writing")

_previous_end: float | None = None  # perf_counter when this process's last group ended


def process_age_s() -> float | None:
    """Seconds since this process started (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))


class PhaseClock:
    """Exclusive seconds per phase of one group (see the module docstring)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self._stack: list[str] = ["start-up"]  # outside any phase: setting the group up
        self._since = time.perf_counter()

    def start(self) -> None:
        """Begin the group: charge this process's time before it to start-up."""
        now = time.perf_counter()
        before = now - _previous_end if _previous_end is not None else process_age_s()
        self.seconds["start-up"] += before or 0.0
        self._since = now

    def stop(self) -> dict[str, float]:
        """End the group; returns the seconds per phase."""
        global _previous_end
        self._charge()
        _previous_end = time.perf_counter()
        return dict(self.seconds)

    def _charge(self) -> None:
        now = time.perf_counter()
        self.seconds[self._stack[-1]] += now - self._since
        self._since = now

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Charge the time inside to ``name`` (and not to the phase around it)."""
        if name not in self.seconds:
            raise ValueError(f"unknown phase {name!r}: one of {', '.join(PHASES)}")
        self._charge()
        self._stack.append(name)
        try:
            yield
        finally:
            self._charge()
            self._stack.pop()


def phase_line(seconds: Mapping[str, float]) -> str:
    """``start-up 2.1 s, data 0.3 s, ... (total 30.4 s)``."""
    parts = [f"{name} {seconds.get(name, 0.0):.1f} s" for name in PHASES]
    return f"{', '.join(parts)} (total {sum(seconds.values()):.1f} s)"


def add_phases(totals: dict[str, float], seconds: Mapping[str, float]) -> dict[str, float]:
    """``totals`` plus ``seconds``, phase by phase (a new dict)."""
    return {name: totals.get(name, 0.0) + seconds.get(name, 0.0) for name in PHASES}
