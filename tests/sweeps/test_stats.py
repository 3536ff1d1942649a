"""Report statistics against hand computations and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from imitation_lab.report.stats import group_stats, iqm, stratified_bootstrap_ci


def test_iqm_is_the_mean_of_the_middle_half():
    scores = np.array([8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0])
    assert iqm(scores) == pytest.approx((3 + 4 + 5 + 6) / 4)  # drops 1, 2 and 7, 8
    rng = np.random.default_rng(1)
    for n in (3, 5, 10, 13):
        x = rng.normal(size=n)
        assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25))


def test_bootstrap_ci_matches_scipy_percentile_bootstrap():
    x = np.random.default_rng(0).normal(50.0, 10.0, size=10)
    ours = stratified_bootstrap_ci([x], np.mean)
    ref = stats.bootstrap(
        (x,), np.mean, method="percentile", n_resamples=20_000, random_state=1
    ).confidence_interval
    assert ours == pytest.approx((ref.low, ref.high), abs=0.5)  # Monte Carlo error << width
    assert ours[1] - ours[0] > 5.0


def test_bootstrap_resamples_within_strata():
    # two tasks, each constant: every stratified resample has mean 5 exactly, whereas
    # resampling the pooled scores would give anything between 0 and 10.
    low, high = stratified_bootstrap_ci([np.zeros(3), np.full(3, 10.0)], np.mean)
    assert (low, high) == (5.0, 5.0)


def test_group_stats_of_constant_scores_has_a_degenerate_ci():
    out = group_stats([np.full(4, 2.5)])
    assert out["n"] == 4 and out["std"] == 0.0
    assert out["mean_ci_low"] == out["mean_ci_high"] == out["iqm"] == 2.5
