"""``imitation-lab eval`` and ``load_policy``: a saved policy scored from its checkpoint alone
gives exactly the run's own evaluation (same seeds, episodes and envs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from imitation_lab.errors import ConfigError
from imitation_lab.eval_app import RESULT_FILE, run_eval
from imitation_lab.inference import load_policy
from imitation_lab.train import train
from tests.conftest import REPO_ROOT
from tests.datasets.test_dict_obs import minigrid_id, pointmaze_id  # noqa: F401 (fixtures)
from tests.helpers import compose_config, read_wandb_history, read_wandb_run
from tests.reliability.conftest import CliResult, assert_one_line_error, cli_env

RUN = [
    "logger=none",
    "trainer.steps=300",
    "trainer.eval_every=300",
    "trainer.eval_episodes=3",
    "trainer.eval_envs=2",
    "trainer.progress=false",
    "actor.hidden_sizes=[16]",
    "seed=5",
]


def _eval_cli(minari_store: Path, *overrides: str, cwd: Path = REPO_ROOT) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "imitation_lab.cli", "eval", *overrides],
        cwd=cwd,
        env=cli_env(minari_store),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _last_eval(run_dir: Path) -> dict[str, float]:
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [x for x in lines if "eval/return_mean" in x][-1]


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("eval") / "run"
    train(compose_config(RUN, run_dir))
    return run_dir


@pytest.mark.slow
def test_eval_command_repeats_the_runs_evaluation(pendulum_run: Path, minari_store, tmp_path):
    out = tmp_path / "out"
    result = _eval_cli(
        minari_store, f"checkpoint={pendulum_run / 'checkpoints' / 'last.pt'}",
        f"hydra.run.dir={out}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    written = json.loads((out / RESULT_FILE).read_text())
    logged = _last_eval(pendulum_run)
    assert written["return_mean"] == logged["eval/return_mean"]  # exactly: same weights, seeds
    assert written["normalized_score"] == pytest.approx(logged["eval/normalized_score"])
    assert (written["seed"], written["num_episodes"], written["num_envs"]) == (5, 3, 2)
    assert written["checkpoint_step"] == 300 and len(written["episodes"]["returns"]) == 3
    assert "Pendulum-v1, 3 episodes (seed 5): return " in result.stdout
    assert "normalized score" in result.stdout and str(out / RESULT_FILE) in result.stdout

    more = _eval_cli(
        minari_store, f"checkpoint={pendulum_run}", "episodes=4", "seed=100", "num_envs=1",
        f"hydra.run.dir={tmp_path / 'more'}",
    )  # fmt: skip
    assert more.returncode == 0, more.stderr[-3000:]
    again = json.loads((tmp_path / "more" / RESULT_FILE).read_text())
    assert again["checkpoint"].endswith("best.pt")  # a run dir: its best checkpoint
    assert (again["seed"], again["num_episodes"], again["num_envs"]) == (100, 4, 1)


def test_load_policy_acts_like_the_run(pendulum_run: Path) -> None:
    policy = load_policy(pendulum_run)
    assert policy.env_id == "Pendulum-v1" and policy.step == 300
    obs = np.zeros((5, 3), dtype=np.float32)
    actions = policy(obs)
    assert actions.shape == (5, 1) and np.all(np.abs(actions) <= 2.0)
    np.testing.assert_array_equal(policy(obs), actions)  # deterministic
    env = policy.make_env()
    assert env.spec is not None and env.spec.id == "Pendulum-v1"
    env.close()


@pytest.mark.parametrize("fixture", ["pointmaze_id", "minigrid_id"])
def test_dict_and_image_policies_evaluate_as_in_training(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dataset_id = request.getfixturevalue(fixture)
    overrides = [f"dataset.id={dataset_id}", "trainer.steps=20", "trainer.eval_episodes=2"]
    overrides += ["trainer.eval_envs=1", "logger=none", "trainer.progress=false"]
    if fixture == "minigrid_id":
        overrides += ["bounding=none", "actor=multi_input", "actor.hidden_sizes=[16]"]
    summary = train(compose_config(overrides, tmp_path / "run"))
    cfg = OmegaConf.create(
        {"checkpoint": str(tmp_path / "run" / "checkpoints" / "last.pt"), "episodes": None,
         "num_envs": None, "seed": None, "env_id": None, "device": "cpu", "video_episodes": 0}
    )  # fmt: skip
    result = run_eval(cfg, tmp_path / "eval")
    assert result["return_mean"] == summary["final/return_mean"]
    assert result["success_rate"] == summary["final/success_rate"]
    assert json.loads((tmp_path / "eval" / RESULT_FILE).read_text()) == result
    before = (tmp_path / "eval" / RESULT_FILE).read_bytes()
    with pytest.raises(ConfigError, match="already exists; it was kept"):
        run_eval(cfg, tmp_path / "eval")
    assert (tmp_path / "eval" / RESULT_FILE).read_bytes() == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["checkpoint=/nonexistent/best.pt"], ["/nonexistent/best.pt does not exist"]),
        (["checkpoint={empty}"], ["holds no checkpoints/best.pt or last.pt"]),
        (["checkpoint={bad}"], ["is corrupted or truncated"]),
        (["checkpoint={run}", "episodes=0"], ["episodes=0 is out of range"]),
        (["checkpoint={run}", "env_id=CartPole-v1"], ["does not match env CartPole-v1"]),
        (["checkpoint={run}", "wandb=yes"], ["wandb=yes is not a W&B mode"]),
    ],
    ids=["missing", "empty-dir", "not-a-checkpoint", "episodes", "other-env", "wandb-mode"],
)
def test_bad_input_is_one_line(pendulum_run, minari_store, tmp_path, overrides, fragments):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    paths = {"empty": tmp_path / "empty", "bad": tmp_path / "bad.pt", "run": pendulum_run}
    args = [o.format(**paths) for o in overrides]
    result = _eval_cli(minari_store, *args, f"hydra.run.dir={tmp_path / 'out'}")
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out" / RESULT_FILE).exists()


def test_eval_logs_a_wandb_run_beside_the_training_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(compose_config([*RUN, "logger=wandb", "logger.group=study-a"], run_dir))
    trained = json.loads((run_dir / "wandb_run_names.json").read_text())
    cfg = OmegaConf.create({**_video_cfg(run_dir), "video_episodes": 0, "wandb": "offline"})
    result = run_eval(cfg, tmp_path / "eval")
    assert json.loads((tmp_path / "eval" / RESULT_FILE).read_text()) == result  # written first
    (run_file,) = (tmp_path / "eval" / "wandb").glob("offline-run-*/run-*.wandb")
    run = read_wandb_run(run_file)
    assert (run["group"], run["job_type"]) == ("study-a", "eval")
    assert run["name"] == f"{trained['name']}/eval" and "eval" in run["tags"]
    (row,) = [r for r in read_wandb_history(run_file) if "eval/return_mean" in r]
    assert row["eval/return_mean"] == result["return_mean"]
    assert row["eval/normalized_score"] == result["normalized_score"]
    assert row["_step"] == result["checkpoint_step"] == 300


def _video_cfg(pendulum_run: Path) -> dict:
    return {"checkpoint": str(pendulum_run), "episodes": 1, "num_envs": 1, "seed": None,
            "env_id": None, "device": "cpu", "video_episodes": 1}  # fmt: skip


def test_video_episodes(pendulum_run: Path, tmp_path: Path) -> None:
    """mp4 files with moviepy installed (optional); else one error naming it, before any work."""
    cfg = OmegaConf.create(_video_cfg(pendulum_run))
    try:
        import moviepy  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pip install moviepy"):
            run_eval(cfg, tmp_path / "eval")
        assert not (tmp_path / "eval").exists()  # nothing written
        return
    result = run_eval(cfg, tmp_path / "eval")
    assert len(result["videos"]) == 1 and Path(result["videos"][0]).stat().st_size > 0


def test_another_env_gets_no_normalized_score_from_the_datasets_references(
    pendulum_run: Path, tmp_path: Path
) -> None:
    """``env_id=`` another env with the same spaces scores returns, not a normalized score
    with the training dataset's references (measured in another env), and says why."""
    import gymnasium as gym

    env_id = "imitation_lab_test/PendulumLowGravity-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point="gymnasium.envs.classic_control:PendulumEnv",
                     kwargs={"g": 2.0}, max_episode_steps=200)  # fmt: skip
    cfg = OmegaConf.create({**_video_cfg(pendulum_run), "video_episodes": 0, "env_id": env_id})
    result = run_eval(cfg, tmp_path / "eval")
    assert result["env_id"] == env_id and "return_mean" in result
    assert "normalized_score" not in result
    assert "Pendulum-v1" in result["normalized_score_note"]
    own = run_eval(OmegaConf.create({**_video_cfg(pendulum_run), "video_episodes": 0}),
                   tmp_path / "own")  # fmt: skip
    assert "normalized_score" in own and "normalized_score_note" not in own
