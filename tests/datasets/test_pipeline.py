"""collect -> load -> train -> collect from the trained checkpoint, all in process."""

from __future__ import annotations

import json
from pathlib import Path

import minari
import pytest

from imitation_lab.collect import collect
from imitation_lab.errors import DatasetError
from imitation_lab.train import train
from imitation_lab.training.checkpoint import load_checkpoint
from tests.datasets.helpers import compose_collect
from tests.helpers import compose_config


@pytest.mark.slow
def test_collect_train_and_recollect_from_the_checkpoint(tmp_path: Path) -> None:
    collect(
        compose_collect(["dataset_id=tests/pendulum/pipeline-v1", "episodes=10", "ref_episodes=4"])
    )
    run_dir = tmp_path / "run"
    summary = train(
        compose_config(
            [
                "dataset.id=tests/pendulum/pipeline-v1",
                "trainer.steps=600",
                "actor.hidden_sizes=[64,64]",
                "trainer.eval_episodes=2",
            ],
            run_dir,
        )
    )
    assert "final/normalized_score" in summary
    info = json.loads((run_dir / "dataset_info.json").read_text())
    assert info["dataset_id"] == "tests/pendulum/pipeline-v1"
    assert (info["dataset_version"], info["env_id"], info["env_version"]) == (1, "Pendulum-v1", 1)
    assert info["total_steps"] == 2000 and info["ref_scores_from"] == "dataset"
    checkpoint = run_dir / "checkpoints" / "last.pt"
    assert load_checkpoint(checkpoint)["metadata"]["dataset_info"] == info

    result = collect(
        compose_collect(
            [
                "source=checkpoint",
                f"source.path={checkpoint}",
                "dataset_id=tests/pendulum/fromcheckpoint-v0",
                "episodes=2",
                "ref_episodes=2",
            ]
        )
    )
    dataset = minari.load_dataset(result["dataset_id"])
    assert dataset.total_steps == 400
    assert dataset.storage.metadata["algorithm_name"] == "bc"

    with pytest.raises(DatasetError, match="does not match env CartPole-v1"):
        collect(
            compose_collect(
                [
                    "source=checkpoint",
                    f"source.path={checkpoint}",
                    "source.env_id=CartPole-v1",
                    "dataset_id=tests/cartpole/fromcheckpoint-v0",
                    "episodes=1",
                ]
            )
        )
