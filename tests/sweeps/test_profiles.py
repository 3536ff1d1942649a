"""rliable's cross-task statistics (report/profiles.py) against rliable's own numbers.

tests/data/rliable_reference.json was written by tools/rliable_reference.py with rliable
installed in a throwaway venv. Point estimates match exactly; CIs are bootstrap percentiles
from different random draws, so they agree to bootstrap noise (tolerance below).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from imitation_lab.report import profiles

REF_PATH = Path(__file__).resolve().parents[1] / "data" / "rliable_reference.json"


def _strata(matrix) -> list[np.ndarray]:
    return list(np.asarray(matrix, dtype=np.float64).T)  # runs x tasks -> one array per task


@pytest.fixture(scope="module")
def ref() -> dict:
    if not REF_PATH.exists():
        pytest.skip("tests/data/rliable_reference.json not recorded")
    return json.loads(REF_PATH.read_text())


def test_point_estimates_equal_rliable(ref: dict):
    for arm, matrix in ref["scores"].items():
        s = _strata(matrix)
        assert profiles.aggregate_iqm(s) == pytest.approx(ref["aggregate"][arm]["iqm"], abs=1e-12)
        assert profiles.aggregate_mean(s) == pytest.approx(ref["aggregate"][arm]["mean"], abs=1e-12)
        prof = profiles.performance_profile(s, np.asarray(ref["taus"]), reps=10)
        np.testing.assert_allclose(prof["fraction"], ref["profiles"][arm]["fraction"], atol=1e-12)
    for pair, want in ref["poi"].items():
        a, b = pair.split(",")
        got = profiles.probability_of_improvement(
            _strata(ref["scores"][a]), _strata(ref["scores"][b])
        )
        assert got == pytest.approx(want["point"], abs=1e-12)


def test_cis_agree_with_rliable_to_bootstrap_noise(ref: dict):
    # percentile endpoints of a 5,000-resample bootstrap move by well under 0.05 score SDs
    for pair, want in ref["poi"].items():
        a, b = pair.split(",")
        low, high = profiles.probability_of_improvement_ci(
            _strata(ref["scores"][a]), _strata(ref["scores"][b]), reps=5_000
        )
        np.testing.assert_allclose([low, high], want["ci"], atol=0.02)
    for arm, matrix in ref["scores"].items():
        stats = profiles.aggregate_stats(_strata(matrix), reps=5_000)
        np.testing.assert_allclose(
            [stats["iqm_ci_low"], stats["iqm_ci_high"]], ref["aggregate"][arm]["iqm_ci"], atol=1.0
        )


def test_poi_counts_ties_as_half():
    assert profiles.probability_of_improvement([np.ones(3)], [np.ones(3)]) == 0.5
    assert profiles.probability_of_improvement([np.array([2.0])], [np.array([1.0])]) == 1.0
