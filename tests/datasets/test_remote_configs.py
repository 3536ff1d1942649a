"""Minari's remote dataset configs and the `experiments/baselines/run.sh remote` preset.

The remote datasets cannot be downloaded here, so the preset is run on a stand-in written by
plain ``minari.DataCollector`` under a remote id (``D4RL/pen/human-v2``): the loader finds it in
the local store and never downloads, and everything after that is the path a user with network
takes (the config, the batched launcher, the recovered gymnasium-robotics eval env, the table).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from tests.conftest import CONFIG_DIR, REPO_ROOT
from tests.datasets.helpers import collect_random
from tests.helpers import compose_config

RUN_SH = REPO_ROOT / "experiments" / "baselines" / "run.sh"
SUMMARIZE = REPO_ROOT / "experiments" / "baselines" / "summarize.py"
CORL = REPO_ROOT / "experiments" / "baselines" / "corl_bc.csv"
REMOTE = sorted(path.stem for path in (CONFIG_DIR / "dataset").glob("minari_*.yaml"))
TINY = ["trainer.steps=20", "trainer.eval_every=0", "trainer.eval_episodes=1"]
TINY += ["trainer.eval_envs=1", "trainer.checkpoint_every=0", "trainer.progress=false"]


def _families() -> dict[str, list[str]]:
    """run.sh's ``remote_family``: family -> the glob patterns it sweeps."""
    cases = re.findall(r'^\s+(\w+)\) echo "([^"]+)" ;;$', RUN_SH.read_text(), re.MULTILINE)
    return {family: patterns.split(",") for family, patterns in cases}


@pytest.mark.parametrize("name", REMOTE)
def test_every_remote_config_names_its_minari_id_and_downloads(name: str) -> None:
    cfg = compose_config([f"dataset={name}"])
    namespace, env, dataset = cfg.dataset.id.split("/")
    stem, version = dataset.rsplit("-v", 1)
    assert namespace in {"D4RL", "mujoco", "atari"} and version.isdigit()
    words = name.removeprefix("minari_").split("_")
    if words[0] == "atari":  # minari_atari_<game>: atari/<game>/expert-v0
        words = [words[1], "expert"]
    assert env == words[0], f"{name}: id {cfg.dataset.id} is not for env {words[0]}"
    assert stem == "-".join(words[1:]), f"{name}: id {cfg.dataset.id}"
    assert cfg.dataset.download is True


def test_remote_families_cover_every_remote_config_once() -> None:
    families = _families()
    assert set(families) == {"mujoco", "pointmaze", "antmaze", "adroit", "kitchen"} | {
        "minigrid",
        "atari",
    }
    matched: dict[str, str] = {}
    for family, patterns in families.items():
        names = {
            p.stem for pattern in patterns for p in (CONFIG_DIR / "dataset").glob(f"{pattern}.yaml")
        }
        assert names, f"family {family} matches no dataset config"
        for name in names:
            assert name not in matched, f"{name} is in both {matched.get(name)} and {family}"
            matched[name] = family
    assert sorted(matched) == REMOTE


def test_corl_rows_name_configured_datasets() -> None:
    configured = {compose_config([f"dataset={name}"]).dataset.id for name in REMOTE}
    with open(CORL, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 24
    for row in rows:
        assert row["minari_id"] in configured, row["minari_id"]
        assert re.fullmatch(r"-?\d+\.\d\d ± \d+\.\d\d", row["last"]), row
        assert re.fullmatch(r"-?\d+\.\d\d ± \d+\.\d\d", row["best"]), row


def test_an_unknown_family_is_one_error_before_anything_runs() -> None:
    done = subprocess.run(["bash", str(RUN_SH), "remote", "adroid"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown remote family 'adroid'; choose from mujoco pointmaze antmaze adroit "
        "kitchen minigrid atari"
    ]


def _pen_stand_in() -> None:
    """Random-action AdroitHandPen-v1 episodes stored under Minari's remote id."""
    from imitation_lab.collection.maze_expert import register_robotics_envs

    register_robotics_envs()
    env = gym.make("AdroitHandPen-v1", max_episode_steps=20)
    env.action_space.seed(0)
    collect_random("D4RL/pen/human-v2", env, 3, ref_min_score=-10.0, ref_max_score=100.0)


def test_remote_preset_trains_batched_and_tables_corl_beside_it(tmp_path: Path) -> None:
    _pen_stand_in()
    sweep = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "imitation_lab.train", "-m", "experiment=baseline_remote"]
    command += [
        "dataset=glob([minari_pen_human])",
        "seed=0,1",
        "logger=none",
        *TINY,
        "hydra.launcher.n_jobs=1",
    ]  # one process (auto: one per core, a group each)
    command += [f"hydra.sweep.dir={sweep}"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 group(s)" in done.stdout + done.stderr  # both seeds in one batched process
    markers = sorted(sweep.glob("*/DONE.json"))
    assert len(markers) == 2
    summary = json.loads(markers[0].read_text())["summary"]
    assert "final/normalized_score" in summary
    table = subprocess.run(
        [sys.executable, str(SUMMARIZE), str(sweep), "--csv", str(tmp_path / "remote.csv")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert table.returncode == 0, table.stderr[-3000:]
    assert "CORL BC (D4RL task: last / best)" in table.stdout
    assert "| `D4RL/pen/human-v2` | 2 |" in table.stdout
    assert "pen-human-v1: 71.03 ± 6.26 / 99.69 ± 7.45 |" in table.stdout
    assert len((tmp_path / "remote.csv").read_text().splitlines()) == 3
