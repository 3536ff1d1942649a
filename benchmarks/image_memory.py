#!/usr/bin/env python
"""Memory and speed of an image dataset: synthetic 84x84 uint8 frames, first/cached load, training.

Synthesizes ``--steps`` steps (default 1,000,000: a 7.06 GB uint8 array) of 84x84 grayscale
frames in episodes of ``--length`` steps in a temporary ``MINARI_DATASETS_PATH`` (raw arrays,
no JPEG; written episode by episode), then runs each phase in a fresh subprocess (its own peak
RSS, ``ru_maxrss``):

* ``first load``: ``load_training_data`` without a cache (Minari read, validation, flatten into
  the ``.npy`` cache, then open it memory-mapped);
* ``cached load``: the same with the cache present;
* ``train``: cached load + ``--train-steps`` gradient steps of ``actor=cnn`` (Nature DQN,
  batch 256, one thread), minibatches gathered from the memory-mapped file;
* ``train_stack``: the same with ``dataset.frame_stack=4`` (4 x 84 x 84 inputs; the stacks
  are gathered per minibatch, the data stays one copy of single frames).

    python -m benchmarks.image_memory [--steps 1000000] [--train-steps 50] [--out results.json]

Everything it writes is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np

DATASET_ID = "bench/frames/synthetic-v0"
SHAPE = (84, 84)
FRAME_STACK = 4  # the train_stack phase: Atari's 4 stacked frames, gathered per minibatch
PHASES = ("first", "cached", "train", "train_stack")


class FramesEnv(gym.Env):
    """An env with the dataset's spaces (the loader checks the data against it)."""

    observation_space = gym.spaces.Box(0, 255, SHAPE, np.uint8)
    action_space = gym.spaces.Discrete(4)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(SHAPE, np.uint8), {}

    def step(self, action):
        return np.zeros(SHAPE, np.uint8), 0.0, False, True, {}


def build(steps: int, length: int) -> None:
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    spec = gym.envs.registration.EnvSpec("BenchFrames-v0", entry_point=f"{__name__}:FramesEnv")
    rng = np.random.default_rng(0)

    def episode(i: int, n: int) -> EpisodeBuffer:
        frames = rng.integers(0, 256, size=(n + 1, *SHAPE), dtype=np.uint8)
        return EpisodeBuffer(
            id=i,
            observations=frames,
            actions=rng.integers(0, 4, size=n),
            rewards=list(np.zeros(n)),
            terminations=[False] * n,
            truncations=[False] * (n - 1) + [True],
            infos={},
        )

    count = steps // length
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers(
            DATASET_ID, [episode(0, length)], env=spec, jpeg_encoding=False
        )
    storage = minari.load_dataset(DATASET_ID).storage
    storage.update_episodes(episode(i, length) for i in range(1, count))


def anon_rss_gib() -> float:
    """This process's private (anonymous) resident memory now: what must fit in RAM. Pages
    of the memory-mapped cache count in ``ru_maxrss`` but are the kernel's to drop."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def phase(name: str, train_steps: int) -> dict:
    """One phase in this process (run by ``main`` in a subprocess)."""
    import torch

    from imitation_lab.data.loader import load_training_data

    torch.set_num_threads(1)
    frames = FRAME_STACK if name == "train_stack" else 1
    start = time.perf_counter()
    loaded = load_training_data(DATASET_ID, frame_stack=frames)
    out = {"phase": name, "load_s": time.perf_counter() - start, "steps": len(loaded.data)}
    anon = anon_rss_gib()
    if name.startswith("train"):
        from imitation_lab.actors import CNNActor
        from imitation_lab.data.normalize import make_normalizer
        from imitation_lab.policy.imitation import ImitationPolicy
        from imitation_lab.training.fit import training_tensors
        from imitation_lab.training.learners import PolicyLearner

        actor = CNNActor(observation_space=loaded.observation_space, act_dim=4)
        policy = ImitationPolicy(
            actor=actor,
            optim=torch.optim.Adam(actor.parameters(), lr=1e-4),
            action_space=loaded.dataset.action_space,
            action_bound_method=None,
        )
        norm = make_normalizer(loaded.data.spec, loaded.data.obs, enabled=True)
        tensors = training_tensors(loaded.data, norm, [policy])
        learner = PolicyLearner(policy)
        gen = torch.Generator().manual_seed(0)
        idx = torch.zeros(1, 256, dtype=torch.long)
        for i in range(train_steps + 5):
            if i == 5:  # warm-up done
                start = time.perf_counter()
            torch.randint(len(tensors), (256,), generator=gen, out=idx[0])
            learner.update(*tensors.batch(idx))
            anon = max(anon, anon_rss_gib())
        out["train_steps_per_s"] = train_steps / (time.perf_counter() - start)
    out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out["peak_anon_rss_gib"] = max(anon, anon_rss_gib())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--train-steps", type=int, default=50)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        os.environ["MINARI_DATASETS_PATH"] = args.root
        print(json.dumps(phase(args.phase, args.train_steps)))
        return
    root = Path(tempfile.mkdtemp(prefix="il_bench_images_"))
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        start = time.perf_counter()
        build(args.steps, args.length)
        build_s = time.perf_counter() - start
        array_gib = args.steps * SHAPE[0] * SHAPE[1] / 2**30
        print(
            f"{args.steps:,} steps of {SHAPE} uint8 = {array_gib:.2f} GiB; built in {build_s:.0f} s"
        )
        columns = ["phase", "load s", "peak RSS GiB", "peak RSS / array", "peak anon RSS GiB"]
        print("| " + " | ".join([*columns, "train steps/s"]) + " |")
        print("|---|---|---|---|---|---|")
        results = []
        for name in PHASES:
            cmd = [sys.executable, "-m", "benchmarks.image_memory", "--phase", name]
            cmd += ["--root", str(root), "--train-steps", str(args.train_steps)]
            result = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[
                    -1
                ]
            )
            sps = f"{result['train_steps_per_s']:.1f}" if "train_steps_per_s" in result else ""
            print(
                f"| {name} | {result['load_s']:.1f} | {result['peak_rss_gib']:.2f} "
                f"| {result['peak_rss_gib'] / array_gib:.2f} | {result['peak_anon_rss_gib']:.2f} "
                f"| {sps} |",
                flush=True,
            )
            results.append(result)
        if args.out:
            record = {"steps": args.steps, "shape": SHAPE, "array_gib": array_gib}
            record.update(build_s=build_s, frame_stack=FRAME_STACK, phases=results)
            args.out.write_text(json.dumps(record, indent=2) + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
