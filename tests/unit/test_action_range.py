"""experiments/clip_vs_tanh/action_range.py --data: the share of a dataset's actions that plain
tanh bounding cannot reach, measured in [-1, 1] units of the dataset's Box."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from tests.conftest import REPO_ROOT
from tests.datasets.helpers import make_dataset, pendulum_episode

SCRIPT = REPO_ROOT / "experiments" / "clip_vs_tanh" / "action_range.py"


def test_data_share_counts_entries_beyond_tanh_one_in_box_units() -> None:
    episode = pendulum_episode(length=5)
    # Pendulum's Box is [-2, 2]: in unit terms -1, -0.9, 0, 0.5, 0.8; beyond 0.762: 3 of 5
    episode.actions[:] = np.array([[-2.0], [-1.8], [0.0], [1.0], [1.6]], dtype=np.float32)
    make_dataset("tests/action-range-v0", [episode])
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", "tests/action-range-v0"],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert "| tests/action-range-v0 | 60.0% |" in result.stdout
