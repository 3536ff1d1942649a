"""``imitation-lab eval checkpoint=<run dir or .pt>``: score a saved policy, write ``eval.json``.

Rebuilds the policy from the checkpoint alone (``imitation_lab.inference.load_policy``) and runs
seeded episodes in a vector env exactly as training evaluates (env ``i`` reset with
``seed + i``): with the defaults (the run's seed, episodes and envs) it repeats the run's own
evaluation of those weights.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import MISSING, DictConfig

from imitation_lab.cli import one_line_errors, run_module
from imitation_lab.config import help as app_help
from imitation_lab.config.checks import check_device
from imitation_lab.config.paths import config_dir, register_pid_resolver
from imitation_lab.data.obs import tree_map
from imitation_lab.envs.evaluate import EvalResult, evaluate, make_vector_env
from imitation_lab.errors import ConfigError
from imitation_lab.inference import LoadedPolicy, load_policy
from imitation_lab.runs.objective import objective
from imitation_lab.training.loggers import WandbLogger
from imitation_lab.utils.files import atomic_create

log = logging.getLogger(__name__)
CONFIG_DIR = str(config_dir() / "eval")
RESULT_FILE = "eval.json"


@dataclass
class EvalSchema:
    """Root config of the eval app."""

    checkpoint: str = MISSING
    episodes: int | None = None
    num_envs: int | None = None
    seed: int | None = None
    env_id: str | None = None
    device: str = "cpu"
    video_episodes: int = 0
    wandb: str | None = None


def register_eval_configs() -> None:
    app_help.register_resolver()
    register_pid_resolver()
    ConfigStore.instance().store(name="eval_schema", node=EvalSchema)


def _setting(cfg: DictConfig, key: str, run_value: Any, minimum: int) -> int:
    """``cfg[key]``, or the run's own value when it is null; refused below ``minimum``."""
    value = run_value if cfg[key] is None else cfg[key]
    if int(value) < minimum:
        raise ConfigError(f"Config value {key}={value} is out of range; fix `{key}=...`.")
    return int(value)


def summarize(result: EvalResult, policy: LoadedPolicy) -> dict[str, Any]:
    """Mean/std of return, length, normalized score (x100) and success rate, per episode too."""
    out: dict[str, Any] = dict(result.metrics(policy.score_fn))
    if not policy.own_env:
        out["normalized_score_note"] = (
            f"no normalized score: {policy.env_id} is not {policy.metadata.get('env_id')}, "
            f"where the references of {policy.dataset_id} were measured"
        )
    out["episodes"] = {
        "returns": result.returns.tolist(),
        "lengths": result.lengths.tolist(),
        **({"successes": result.successes.tolist()} if result.successes is not None else {}),
    }
    return out


def check_video_support() -> None:
    """RecordVideo writes mp4 through moviepy, an optional package: say so before any work."""
    try:
        import moviepy  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            "video_episodes needs moviepy to write mp4 files: `pip install moviepy`, or set "
            "video_episodes=0."
        ) from err


def record_videos(policy: LoadedPolicy, folder: Path, episodes: int, seed: int) -> list[str]:
    """``episodes`` episodes (seeds ``seed``, ``seed+1``, ...) as mp4 files in ``folder``."""
    import gymnasium as gym

    env = policy.make_env(render_mode="rgb_array")
    if env.render_mode != "rgb_array":
        env.close()
        raise ConfigError(f"Env {policy.env_id} cannot render rgb_array frames: video_episodes=0.")
    env = gym.wrappers.RecordVideo(env, str(folder), episode_trigger=lambda _: True,
                                   name_prefix="episode", disable_logger=True)  # fmt: skip
    try:
        for k in range(episodes):
            obs, _ = env.reset(seed=seed + k)
            policy.reset()  # a chunk policy starts a new plan with the episode
            done = False
            while not done:
                batched = tree_map(lambda leaf: np.asarray(leaf)[None], obs)
                obs, _, terminated, truncated, _ = env.step(policy(batched)[0])
                done = bool(terminated or truncated)
    finally:
        env.close()
    return sorted(str(p) for p in folder.glob("*.mp4"))


def run_eval(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Load, check, evaluate; write ``out_dir/eval.json`` last; return what it holds."""
    if (out_dir / RESULT_FILE).exists():  # a re-run into the same hydra.run.dir
        raise ConfigError(
            f"{out_dir / RESULT_FILE} already exists; it was kept. Pass a new "
            "hydra.run.dir=<dir> (the default dir is new for every eval)."
        )
    check_device(str(cfg.device), key="device")  # before a load that would blame the file
    policy = load_policy(cfg.checkpoint, env_id=cfg.env_id, device=cfg.device)
    run, trainer = policy.config, policy.config.get("trainer") or {}
    episodes = _setting(cfg, "episodes", trainer.get("eval_episodes", 10), minimum=1)
    num_envs = min(_setting(cfg, "num_envs", trainer.get("eval_envs", 1), minimum=1), episodes)
    seed = _setting(cfg, "seed", run.get("seed", 0), minimum=0)
    videos = _setting(cfg, "video_episodes", 0, minimum=0)
    if videos:
        check_video_support()
    wandb_mode = cfg.get("wandb")
    check_wandb_mode(wandb_mode)
    env = make_vector_env(policy.make_env, num_envs)
    policy.policy.reseed_actions(run.get("seed", 0))  # head.act=sample: the run's own draws
    try:
        result = evaluate(policy, env, episodes, seed)
    finally:
        env.close()
    summary = {
        "checkpoint": str(policy.path.resolve()),
        "checkpoint_step": policy.step,
        "dataset_id": policy.dataset_id,
        "env_id": policy.env_id,
        "seed": seed,
        "num_envs": num_envs,
        "num_episodes": episodes,
        **summarize(result, policy),
    }
    if videos:
        summary["videos"] = record_videos(policy, out_dir / "videos", videos, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:  # never over another eval's result, even one that finished meanwhile
        atomic_create(out_dir / RESULT_FILE, json.dumps(summary, indent=2) + "\n")
    except FileExistsError:
        raise ConfigError(
            f"{out_dir / RESULT_FILE} was written by another eval meanwhile; it was kept and "
            "this result was not written. Pass a new hydra.run.dir=<dir>."
        ) from None
    if wandb_mode is not None:  # after eval.json: W&B never costs the result
        log_to_wandb(summary, policy, out_dir, wandb_mode)
    return summary


WANDB_MODES = ("offline", "online", "disabled")


def check_wandb_mode(mode: str | None) -> None:
    """``wandb=`` is null (no W&B run) or a W&B mode: refused at start otherwise."""
    if mode is not None and mode not in WANDB_MODES:
        raise ConfigError(
            f"Config value wandb={mode} is not a W&B mode; choose wandb=offline, online or "
            "disabled, or leave it null (no W&B run)."
        )


def log_to_wandb(summary: dict[str, Any], policy: LoadedPolicy, out_dir: Path, mode: str) -> None:
    """One W&B run (job type ``eval``) beside the training run: its project, entity and group,
    named ``<training run name>/eval``; the scores as ``eval/*`` at the checkpoint's step."""
    run_logger = policy.config.get("logger") or {}
    run_dir = policy.path.parent.parent if policy.path.parent.name == "checkpoints" else None
    names: dict[str, Any] = {}
    if run_dir is not None and (run_dir / "wandb_run_names.json").exists():
        try:
            names = json.loads((run_dir / "wandb_run_names.json").read_text())
        except (OSError, ValueError):  # unreadable: fall back to the run's config and dir name
            names = {}
    trained = names.get("name") or (run_dir.name if run_dir is not None else policy.path.stem)
    logger = WandbLogger(
        run_dir=out_dir,
        config={k: v for k, v in summary.items() if k != "episodes"},
        project=run_logger.get("project") or "imitation_lab",
        entity=run_logger.get("entity"),
        group=names.get("group") or run_logger.get("group"),
        name=f"{trained}/eval",
        mode=mode,
        tags=[*(policy.config.get("tags") or []), "eval"],
        job_type="eval",
    )
    scores = {f"eval/{k}": v for k, v in summary.items() if isinstance(v, float)}
    logger.log(scores, step=int(policy.step or 0))
    logger.finish(scores)


def _line(summary: dict[str, Any], path: Path) -> str:
    parts = [f"return {summary['return_mean']:.2f} +- {summary['return_std']:.2f}"]
    if "normalized_score" in summary:
        parts.append(
            f"normalized score {summary['normalized_score']:.1f} "
            f"+- {summary['normalized_score_std']:.1f}"
        )
    elif summary.get("normalized_score_note"):
        parts.append(summary["normalized_score_note"])
    if "success_rate" in summary:
        parts.append(f"success rate {summary['success_rate']:.2f}")
    return (
        f"{summary['env_id']}, {summary['num_episodes']} episodes (seed {summary['seed']}): "
        f"{', '.join(parts)}. Written to {path}."
    )


register_eval_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; prints one line; user errors print one line and exit 1."""
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    with one_line_errors():
        summary = run_eval(cfg, out_dir)
    print(_line(summary, out_dir / RESULT_FILE))
    return objective(summary, prefix="")


if __name__ == "__main__":
    run_module("eval", main)
