"""Writes tests/data/rliable_reference.json: rliable's own numbers on a fixed score array.

Run once in a throwaway venv with rliable (not a project dependency):
    python -m venv /tmp/rl && /tmp/rl/bin/pip install rliable
    /tmp/rl/bin/python tools/rliable_reference.py
"""

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
from rliable import library as rly
from rliable import metrics

REPS = 5_000
rng = np.random.default_rng(14)
# 3 arms x (10 runs x 4 tasks); task scales differ; ties included (rounded scores)
scores = {
    "clip": np.round(rng.normal([90, 60, 30, 10], [8, 5, 10, 3], size=(10, 4)), 0),
    "tanh": np.round(rng.normal([40, 55, 30, 12], [8, 5, 10, 3], size=(10, 4)), 0),
    "none": np.round(rng.normal([92, 60, 28, 10], [8, 5, 10, 3], size=(10, 4)), 0),
}
taus = np.linspace(0.0, 100.0, 21)
out = {
    "rliable_version": version("rliable"),
    "reps": REPS,
    "scores": {k: v.tolist() for k, v in scores.items()},
    "taus": taus.tolist(),
}


def aggregate(x):
    return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])


points, cis = rly.get_interval_estimates(
    scores, aggregate, reps=REPS, random_state=np.random.RandomState(0)
)
out["aggregate"] = {
    k: {
        "iqm": points[k][0],
        "mean": points[k][1],
        "iqm_ci": cis[k][:, 0].tolist(),
        "mean_ci": cis[k][:, 1].tolist(),
    }
    for k in scores
}
pairs = {f"{a},clip": (scores[a], scores["clip"]) for a in ("tanh", "none")}
points, cis = rly.get_interval_estimates(
    pairs, metrics.probability_of_improvement, reps=REPS, random_state=np.random.RandomState(0)
)
out["poi"] = {k: {"point": float(points[k]), "ci": cis[k][:, 0].tolist()} for k in pairs}
profiles, profile_cis = rly.create_performance_profile(scores, taus, reps=REPS)
out["profiles"] = {
    k: {
        "fraction": profiles[k].tolist(),
        "low": profile_cis[k][0].tolist(),
        "high": profile_cis[k][1].tolist(),
    }
    for k in scores
}
path = Path(__file__).resolve().parents[1] / "tests/data/rliable_reference.json"
path.write_text(json.dumps(out, indent=1, default=float) + "\n")
print(f"wrote {path}")
