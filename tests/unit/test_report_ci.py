"""A group of one seed shows no CI in the report's table, never a zero-width one."""

from __future__ import annotations

import numpy as np

from imitation_lab.report.aggregate import GroupResult
from imitation_lab.report.tables import markdown_table


def _group(label: str, n: int) -> GroupResult:
    stats = {"n": n, "mean": 50.0, "std": float("nan") if n == 1 else 2.0, "median": 50.0}
    stats.update(iqm=50.0, iqm_ci_low=48.0, iqm_ci_high=52.0, mean_ci_low=48.0, mean_ci_high=52.0)
    if n == 1:
        stats.update(iqm_ci_low=50.0, iqm_ci_high=50.0, mean_ci_low=50.0, mean_ci_high=50.0)
    return GroupResult(
        key=(("bounding", label),),
        scores=np.full(n, 50.0),
        strata=[np.full(n, 50.0)],
        n_failed=0,
        n_unfinished=0,
        stats=stats,
        curve={},
    )


def test_one_seed_group_has_no_ci_and_several_seeds_do():
    table = markdown_table([_group("one", 1), _group("many", 3)], "final/normalized_score")
    one, many = table.splitlines()[2:]
    assert "[–]" in one and "[50.0, 50.0]" not in one
    assert "[48.0, 52.0]" in many
