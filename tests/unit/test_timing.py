"""Where a group's time goes: every second between start and stop is charged to exactly one
phase (nested phases pause the one around them), and a run dir records its group's phases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imitation_lab.utils import timing
from imitation_lab.utils.memory import keep_freed_memory
from imitation_lab.utils.timing import PHASES, PhaseClock, add_phases, phase_line


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_second_goes_to_one_phase_and_nested_phases_pause_the_outer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", fake)
    monkeypatch.setattr(timing, "_previous_end", 97.0)  # this process's last group ended 3 s ago
    clock = PhaseClock()
    clock.start()  # the 3 s since then: start-up
    fake.now += 1.0  # setting the group up: start-up
    with clock.phase("data"):
        fake.now += 2.0
    with clock.phase("training"):
        fake.now += 10.0
        with clock.phase("evaluation"):
            fake.now += 4.0
            with clock.phase("writing"):  # best.pt inside an evaluation
                fake.now += 0.5
        fake.now += 5.0
    with clock.phase("logger"):
        fake.now += 1.5
    seconds = clock.stop()
    assert seconds == {"start-up": 4.0, "data": 2.0, "logger": 1.5, "training": 15.0,
                       "evaluation": 4.0, "writing": 0.5}  # fmt: skip
    assert sum(seconds.values()) == fake.now - 97.0  # the group's wall clock, all of it
    assert timing._previous_end == fake.now  # the next group's start-up starts here
    assert phase_line(seconds).endswith("(total 27.0 s)")
    assert add_phases(seconds, seconds)["training"] == 30.0
    with pytest.raises(ValueError, match="unknown phase 'eval'"), clock.phase("eval"):
        pass


def test_a_first_group_counts_the_process_age_as_start_up(monkeypatch) -> None:
    monkeypatch.setattr(timing, "_previous_end", None)
    age = timing.process_age_s()
    assert age is not None and age > 0  # Linux /proc: since this process started
    clock = PhaseClock()
    clock.start()
    assert clock.seconds["start-up"] >= age


def test_a_run_records_where_its_time_went(tmp_path: Path) -> None:
    from imitation_lab.train import train
    from tests.helpers import compose_config

    train(compose_config(["trainer.steps=20", "trainer.eval_episodes=1"], tmp_path / "run"))
    record = json.loads((tmp_path / "run" / "timings.json").read_text())
    assert record["members"] == 1 and set(record["group_seconds"]) == set(PHASES)
    assert record["group_seconds"]["training"] > 0 and record["group_seconds"]["evaluation"] > 0


def test_freed_memory_is_kept_in_training_processes() -> None:
    assert keep_freed_memory() is True  # Linux/glibc (this project's CI); idempotent
    assert keep_freed_memory() is True
