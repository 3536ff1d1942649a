"""A multirun whose jobs each train K seeds: every seed is one run in the sweep report."""

from __future__ import annotations

from pathlib import Path

import pytest

from imitation_lab.report import load_jobs, report
from tests.sweeps.conftest import run_sweep


@pytest.mark.slow
def test_report_counts_the_seeds_of_k_seed_jobs(tmp_path: Path, built_pendulum: Path) -> None:
    sweep = run_sweep(
        tmp_path / "sweep",
        ["seed=0,10", "trainer.num_seeds=2", "bounding=clip,tanh"],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log
    jobs = load_jobs(sweep.dir)
    assert len(jobs) == 8  # 4 jobs x 2 seeds
    assert {job.name.split("/")[1] for job in jobs} == {"seed_0", "seed_1", "seed_10", "seed_11"}
    assert all(job.status == "done" for job in jobs)
    results = report(sweep.dir)
    assert sorted(len(r.scores) for r in results) == [4, 4]  # clip and tanh: 4 seeds each
    assert {dict(r.key)["bounding"] for r in results} == {"clip", "tanh"}
