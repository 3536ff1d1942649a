"""Behaviour-cloning training speed: our trainer vs a hand-written raw PyTorch loop.

``python -m benchmarks.bc_speed`` runs the standard workload (200,000 synthetic transitions,
obs 17 -> 6 actions in [-1, 1], MLP 256x256 ReLU, Adam 1e-3, batch 256, 2 threads) and its
discrete variant (obs 4 -> 2 actions), each case in a fresh subprocess (so peak RSS is the
case's own), repeats interleaved, medians reported. Cases:

* ``raw-*``: tensors preloaded, ``torch.randint`` indices, Adam (``--raw-adam``, fused by
  default), nothing else;
* ``ours-*``: ``imitation_lab.training.fit.GroupFit`` of one member with the policy, optimizer and
  settings the default config builds (``build_policy``), logging every 100 steps to
  ``metrics.jsonl``;
* ``k<K>``: ``trainer.num_seeds=K`` (a stacked group of K), reported as seed-steps/s;
* ``head-<name>-continuous`` (``--heads``): ``ours-continuous`` with ``head=<name>``
  (gaussian, gmm, bins, diffusion), its steps/s relative to ``head=mse``;
* ``eval``: env steps/s of one member's evaluation (vector env, batched act) on HalfCheetah-v5;
* ``gemm``: the machine's GEMM rate (GFLOP/s of a 1024x1024 ``torch.mm``, the best a dense
  kernel does here) and ``gemm-k<K>``: the rate of exactly the batched GEMMs of one K-member step
  (forward ``baddbmm`` + both backward ``bmm`` per layer, nothing else). A K-member case's
  ``% of FLOP limit`` is its seed-steps/s x FLOP per seed-step / the ``gemm`` rate.

Ratios (ours/raw, K seeds/sequential) come from the same invocation. ``--json`` writes the
raw records; the table goes to stdout as markdown.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

N_TRANSITIONS = 200_000
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = CLOCKS["wall"]  # --timer cpu: process CPU time (all threads), robust to a busy machine
BATCH = 256
CONTINUOUS = {"obs_dim": 17, "act_dim": 6}
DISCRETE = {"obs_dim": 4, "n_actions": 2}
HEADS = ("gaussian", "gmm", "bins", "diffusion")


# ---------------------------------------------------------------- workloads
def _data(discrete: bool, seed: int = 0) -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    if discrete:
        obs = torch.randn(N_TRANSITIONS, DISCRETE["obs_dim"], generator=gen)
        act = torch.randint(DISCRETE["n_actions"], (N_TRANSITIONS,), generator=gen)
    else:
        obs = torch.randn(N_TRANSITIONS, CONTINUOUS["obs_dim"], generator=gen)
        act = torch.rand(N_TRANSITIONS, CONTINUOUS["act_dim"], generator=gen) * 2 - 1
    return obs, act


def _timed(run: Callable[[int], None], warmup: int, steps: int) -> float:
    run(warmup)
    start = CLOCK()
    run(steps)
    return steps / (CLOCK() - start)


def raw_loop(discrete: bool, warmup: int, steps: int, adam: str) -> float:
    """The reference: the least a PyTorch BC step can do. Returns steps/s."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    obs, act = _data(discrete)
    out_dim = DISCRETE["n_actions"] if discrete else CONTINUOUS["act_dim"]
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(obs.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, out_dim),
    )  # fmt: skip
    kwargs = {"fused": True} if adam == "fused" else {"foreach": adam == "foreach"}
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, **kwargs)
    gen = torch.Generator().manual_seed(0)
    idx = torch.empty(BATCH, dtype=torch.long)

    def run(n: int) -> None:
        for _ in range(n):
            torch.randint(N_TRANSITIONS, (BATCH,), generator=gen, out=idx)
            out = model(obs[idx])
            loss = F.cross_entropy(out, act[idx]) if discrete else F.mse_loss(out, act[idx])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()

    return _timed(run, warmup, steps)


def _config(discrete: bool, overrides: list[str]) -> Any:
    from hydra import compose, initialize_config_dir

    from imitation_lab.config.schemas import register_configs

    register_configs()
    conf_dir = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[
                "logger=none",
                "actor.hidden_sizes=[256,256]",
                f"trainer.batch_size={BATCH}",
                *(["bounding=none"] if discrete else []),
                *overrides,
            ],
        )


def _group(discrete: bool, k: int, run_dir: Path, overrides: list[str], eval_env=None):
    """A ``GroupFit`` of ``k`` members (seeds 0..k-1) as the train app builds it."""
    import gymnasium as gym
    import numpy as np
    import torch

    from imitation_lab.config.build import build_policy, trainer_settings
    from imitation_lab.data.buffer import ObsNormalizer, OfflineData
    from imitation_lab.training.fit import GroupFit, training_tensors
    from imitation_lab.training.learners import make_learner
    from imitation_lab.training.loggers import JsonlLogger
    from imitation_lab.training.member import Member
    from imitation_lab.utils.seeding import seed_everything

    cfg = _config(discrete, overrides)
    obs, act = _data(discrete)
    data = OfflineData(
        obs=obs,
        act=act,
        rewards=torch.zeros(len(obs)),
        terminations=torch.zeros(len(obs), dtype=torch.bool),
        truncations=torch.zeros(len(obs), dtype=torch.bool),
        episode_returns=np.zeros(1),
    )
    obs_space = gym.spaces.Box(-np.inf, np.inf, (obs.shape[1],), np.float32)
    if discrete:
        act_space: gym.Space = gym.spaces.Discrete(DISCRETE["n_actions"])
    else:
        act_space = gym.spaces.Box(-1.0, 1.0, (CONTINUOUS["act_dim"],), np.float32)
    settings = trainer_settings(cfg)
    settings.steps, settings.log_every, settings.progress = 0, 100, False
    settings.eval_every, settings.checkpoint_every = 0, 0
    settings.eval_episodes = 0 if eval_env is None else settings.eval_episodes
    normalizer = ObsNormalizer.from_data(obs)
    members = []
    for seed in range(k):
        seed_everything(seed)
        policy = build_policy(cfg, obs_space, act_space, total_steps=10**9)
        member_dir = run_dir / f"seed_{seed}"
        member_dir.mkdir(parents=True, exist_ok=True)
        members.append(
            Member(
                policy,
                member_dir,
                settings,
                seed=seed,
                normalizer=normalizer,
                logger=JsonlLogger(member_dir / "metrics.jsonl"),
            )
        )
    policies = [m.policy for m in members]
    learner = make_learner(policies)
    if settings.compile:  # trainer.compile=true: as the train app does (runs.group)
        learner.compile(settings.compile_mode.value)
    return GroupFit(
        learner,
        members,
        training_tensors(data, normalizer, policies),
        settings,
        normalizer=normalizer,
        eval_env=eval_env,
    )


def _steps(group, warmup: int, steps: int) -> float:
    """Seconds of ``steps`` gradient steps of ``group`` after ``warmup`` untimed ones."""

    def run(n: int) -> None:
        group.settings.steps += n
        group.run()

    return _timed(run, warmup, steps)


def ours(discrete: bool, warmup: int, steps: int, overrides: list[str]) -> float:
    """One member's loop as ``python -m imitation_lab.train`` runs it. Returns steps/s."""
    with tempfile.TemporaryDirectory() as tmp:
        return _steps(_group(discrete, 1, Path(tmp), overrides), warmup, steps)


def k_seeds(k: int, discrete: bool, warmup: int, steps: int, overrides: list[str]) -> float:
    """``trainer.num_seeds=k`` (a stacked group of k). Returns seed-steps/s."""
    with tempfile.TemporaryDirectory() as tmp:
        return k * _steps(_group(discrete, k, Path(tmp), overrides), warmup, steps)


def eval_speed(episodes: int, num_envs: int) -> float:
    """Env steps/s of one member's evaluation (vector env, batched act) on HalfCheetah-v5."""
    import gymnasium as gym

    from imitation_lab.envs.evaluate import make_vector_env

    with tempfile.TemporaryDirectory() as tmp:
        env = make_vector_env(lambda: gym.make("HalfCheetah-v5"), num_envs)
        group = _group(False, 1, Path(tmp), [], eval_env=env)
        group.settings.eval_episodes = num_envs
        group._evaluate()  # warm-up
        group.settings.eval_episodes = episodes
        start = CLOCK()
        group._evaluate()
        elapsed = CLOCK() - start
        lengths = group.members[0].last_eval["eval/length_mean"] * episodes
        env.close()
        return float(lengths) / elapsed


def flop_per_seed_step(discrete: bool = False, hidden: int = 256) -> float:
    """FLOP of one member's gradient step on the standard workload: every GEMM, forward (2 B in
    out per layer) and backward (grad input + grad weight: twice the forward)."""
    dims = [DISCRETE["obs_dim"] if discrete else CONTINUOUS["obs_dim"], hidden, hidden]
    dims.append(DISCRETE["n_actions"] if discrete else CONTINUOUS["act_dim"])
    forward = sum(2 * BATCH * a * b for a, b in itertools.pairwise(dims))
    return 3.0 * forward


def gemm_rate(seconds: float = 2.0, n: int = 1024) -> float:
    """GFLOP/s of a square ``torch.mm`` of size ``n`` (the dense-kernel rate of this machine)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    count, start = 0, CLOCK()
    while CLOCK() - start < seconds:
        a @ b
        count += 1
    return 2.0 * n**3 * count / (CLOCK() - start) / 1e9


def step_gemm_rate(k: int, steps: int, hidden: int = 256) -> float:
    """GFLOP/s of only the GEMMs of one K-member step (shapes as ``StackedMLP`` runs them)."""
    import torch

    dims = [CONTINUOUS["obs_dim"], hidden, hidden, CONTINUOUS["act_dim"]]
    layers = [(torch.randn(k, o, i), torch.randn(k, o)) for i, o in itertools.pairwise(dims)]
    x0 = torch.randn(k, BATCH, dims[0])
    grads = [torch.randn(k, BATCH, o) for o in dims[1:]]

    def run(n: int) -> None:
        for _ in range(n):
            x = x0
            inputs = []
            for weight, bias in layers:
                inputs.append(x)
                x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
            for (weight, _), inp, grad in zip(layers, inputs, grads, strict=True):
                torch.bmm(grad, weight)  # grad input
                torch.bmm(grad.transpose(1, 2), inp)  # grad weight

    return _timed(run, max(steps // 10, 5), steps) * k * flop_per_seed_step() / 1e9


# ---------------------------------------------------------------- one case per subprocess
def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    global CLOCK
    CLOCK = CLOCKS[args.timer]
    torch.set_num_threads(args.threads)
    overrides = list(args.override)
    if case.startswith("compiled-"):  # the same case with trainer.compile=true
        case, overrides = case.removeprefix("compiled-"), [*overrides, "trainer.compile=true"]
    discrete = case.endswith("discrete")
    if case.startswith("raw-"):
        value = raw_loop(discrete, args.warmup, args.steps, args.raw_adam)
    elif case.startswith("ours-"):
        value = ours(discrete, args.warmup, args.steps, overrides)
    elif case.startswith("head-"):
        head = case.split("-")[1]
        value = ours(False, args.warmup, args.steps, [*overrides, f"head={head}"])
    elif case.startswith("k") and case.endswith("continuous"):
        k = int(case[1:].split("-")[0])
        value = k_seeds(k, discrete, args.warmup // 4, args.k_steps, overrides)
    elif case == "eval":
        value = eval_speed(args.eval_episodes, args.eval_envs)
    elif case == "gemm":
        value = gemm_rate()
    elif case.startswith("gemm-k"):
        value = step_gemm_rate(int(case.removeprefix("gemm-k")), args.k_steps)
    else:
        raise SystemExit(f"unknown case {case}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if "trainer.compile=true" in overrides:
        case = f"compiled-{case}"
    return {"case": case, "value": value, "peak_rss_mib": peak_kib / 1024}


def _subprocess(case: str, argv: list[str], threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bc_speed", "--case", case, *argv],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _versions() -> str:
    import gymnasium
    import numpy
    import torch

    return (
        f"Python {platform.python_version()}, torch {torch.__version__}, numpy "
        f"{numpy.__version__}, gymnasium {gymnasium.__version__}; {platform.processor() or ''}"
        f" {os.cpu_count()} CPUs ({_cpu_name()})"
    )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", help="run one case in this process (internal)")
    parser.add_argument("--cases", nargs="+", default=None, help="default: all")
    parser.add_argument("--k", type=int, nargs="+", default=[8], help="seeds per process")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5000, help="timed steps per case")
    parser.add_argument("--k-steps", type=int, default=1000, help="timed steps, K-seed cases")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timer", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--raw-adam", choices=["fused", "foreach", "single"], default="fused")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-envs", type=int, default=5)
    parser.add_argument("--override", action="append", default=[], help="config override")
    parser.add_argument("--json", type=Path, help="write all records here")
    parser.add_argument(
        "--flops", action="store_true", help="also the GEMM-rate cases (FLOP limit of K members)"
    )
    parser.add_argument(
        "--heads", action="store_true", help="also every action head's steps/s (vs head=mse)"
    )
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args)))
        return
    cases = args.cases or [
        "raw-continuous",
        "ours-continuous",
        "raw-discrete",
        "ours-discrete",
        *(f"k{k}-continuous" for k in args.k),
        "eval",
    ]
    if args.flops and not args.cases:
        cases += ["gemm", *(f"gemm-k{k}" for k in args.k)]
    if args.heads and not args.cases:
        cases += [f"head-{h}-continuous" for h in HEADS]
    passthrough = [
        *("--steps", str(args.steps), "--k-steps", str(args.k_steps)),
        *("--warmup", str(args.warmup), "--threads", str(args.threads), "--timer", args.timer),
        *("--raw-adam", args.raw_adam, "--eval-episodes", str(args.eval_episodes)),
        *("--eval-envs", str(args.eval_envs)),
        *(x for o in args.override for x in ("--override", o)),
    ]
    records: list[dict[str, Any]] = []
    for repeat in range(args.repeats):  # interleaved: every case once per round
        for case in cases:
            record = _subprocess(case, passthrough, args.threads) | {"repeat": repeat}
            print(json.dumps(record), file=sys.stderr, flush=True)
            records.append(record)
    if args.json:
        payload = {"args": {**vars(args), "json": str(args.json)}, "versions": _versions()}
        args.json.write_text(json.dumps({**payload, "records": records}, indent=2) + "\n")
    print(markdown(records, args))


def markdown(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    by_case: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_case.setdefault(record["case"], []).append(record)
    med = {c: statistics.median(r["value"] for r in rs) for c, rs in by_case.items()}
    rss = {c: max(r["peak_rss_mib"] for r in rs) for c, rs in by_case.items()}
    # ratios per round (same machine state), then the median of the ratios
    rounds: dict[int, dict[str, float]] = {}
    for record in records:
        rounds.setdefault(record["repeat"], {})[record["case"]] = record["value"]

    def ratio(num: str, den: str) -> str:
        values = [r[num] / r[den] for r in rounds.values() if num in r and den in r]
        if not values:
            return ""
        return f"{statistics.median(values):.2f}x (rounds: {', '.join(f'{v:.2f}' for v in values)})"

    lines = [
        f"{_versions()}; {args.threads} threads; {args.timer} clock; {args.repeats} "
        "interleaved repeats, medians",
        "",
        "| case | median | unit | peak RSS MiB | ratio (median of per-round ratios) |",
        "|---|---|---|---|---|",
    ]
    for case in by_case:
        unit, note = "steps/s", ""
        if case.startswith("compiled-"):
            eager = case.removeprefix("compiled-")
            unit = "seed-steps/s" if eager.startswith("k") else unit
            note = f"{ratio(case, eager)} of eager" if eager in by_case else ""
        elif case.startswith("ours-"):
            note = f"{ratio(case, 'raw-' + case.split('-', 1)[1])} of raw"
        elif case.startswith("head-"):
            note = f"{ratio(case, 'ours-continuous')} of head=mse"
        elif case.startswith("k"):
            unit = "seed-steps/s"
            notes = []
            if "ours-" + case.split("-", 1)[1] in by_case:
                notes.append(f"{ratio(case, 'ours-' + case.split('-', 1)[1])} of sequential runs")
            if "gemm" in by_case:
                notes.append(f"{_of_limit(case, rounds, 'gemm')} of the FLOP limit (mm rate)")
            if f"gemm-{case.split('-')[0]}" in by_case:
                gemm_k = f"gemm-{case.split('-')[0]}"
                notes.append(f"{_of_limit(case, rounds, gemm_k)} of its GEMMs alone")
            note = "; ".join(notes)
        elif case == "eval":
            unit = "env steps/s"
        elif case.startswith("gemm"):
            unit = "GFLOP/s"
            if case != "gemm":
                k = int(case.removeprefix("gemm-k"))
                note = f"limit {med[case] * 1e9 / flop_per_seed_step():.0f} seed-steps/s (K={k})"
            else:
                note = f"limit {med[case] * 1e9 / flop_per_seed_step():.0f} seed-steps/s"
        lines.append(f"| {case} | {med[case]:.0f} | {unit} | {rss[case]:.0f} | {note} |")
    return "\n".join(lines)


def _of_limit(case: str, rounds: dict[int, dict[str, float]], gemm: str) -> str:
    """Achieved FLOP/s of a K-member case as a share of a GEMM rate, per round (median)."""
    values = [
        r[case] * flop_per_seed_step() / (r[gemm] * 1e9)
        for r in rounds.values()
        if case in r and gemm in r
    ]
    if not values:
        return ""
    return f"{100 * statistics.median(values):.0f}% ({', '.join(f'{100 * v:.0f}' for v in values)})"


if __name__ == "__main__":
    main()
