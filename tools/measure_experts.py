#!/usr/bin/env python
"""Evaluate the expert policies in an experts folder (default ../shared/experts).

Deterministic policies, plain ``gymnasium.make`` envs with their default TimeLimit, one episode
per seed via ``env.reset(seed=s)`` (seeds ``first_seed .. first_seed+episodes-1``), as in the
folder's SOURCES.md, whose "5 ep" column is printed alongside when present.

    python tools/measure_experts.py                       # all experts, seeds 0-4
    python tools/measure_experts.py --only cs285_Walker2d --env-id Walker2d-v4
    python tools/measure_experts.py --workers 2
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    import imitation_lab  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(REPO_ROOT))

from imitation_lab.collection.zoo import (  # noqa: E402
    EXPERTS_DIR_ENV_VAR,
    evaluate_expert,
    find_expert,
    list_experts,
)

_ROW = re.compile(r"^\|\s*(?P<name>[\w-]+)\s*\|[^|]*\|\s*(?P<ep5>[^|]*)\|")
_MEAN_STD = re.compile(r"(-?[\d.]+)\s*±\s*([\d.]+)")


def reference_returns(sources_md: Path) -> dict[str, tuple[float, float]]:
    """{folder: (mean, std)} from the '5 ep' column of SOURCES.md's table, if readable."""
    out: dict[str, tuple[float, float]] = {}
    if not sources_md.is_file():
        return out
    for line in sources_md.read_text().splitlines():
        row = _ROW.match(line)
        if row is None:
            continue
        m = _MEAN_STD.search(row.group("ep5"))
        if m:
            out[row.group("name")] = (float(m.group(1)), float(m.group(2)))
    return out


def measure(name: str, experts_dir: str, seeds: list[int], env_id: str | None) -> dict[str, object]:
    start = time.perf_counter()
    try:
        policy = find_expert(name, experts_dir, env_id=env_id)
        returns, lengths = evaluate_expert(policy, seeds)
    except Exception as exc:  # report and go on with the others
        return {"name": name, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "name": name,
        "env": policy.env_id,
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "len": float(lengths.mean()),
        "returns": returns.tolist(),
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--experts-dir",
        default=os.environ.get(EXPERTS_DIR_ENV_VAR) or str(REPO_ROOT.parent / "shared" / "experts"),
    )
    parser.add_argument("--only", nargs="*", help="expert folder names (default: all)")
    parser.add_argument("--env-id", help="override the env id (use with --only)")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print per-episode returns")
    args = parser.parse_args(argv)

    names = args.only or list_experts(args.experts_dir)
    seeds = list(range(args.first_seed, args.first_seed + args.episodes))
    refs = reference_returns(Path(args.experts_dir) / "SOURCES.md")
    print(f"# {len(names)} experts from {args.experts_dir}, seeds {seeds[0]}-{seeds[-1]}")
    header = (
        f"{'folder':27s} {'env':25s} {'mean±std':>15s} {'len':>6s} "
        f"{'SOURCES 5ep':>13s} {'diff':>7s}"
    )
    print(header)
    print("-" * len(header))

    jobs = [(n, args.experts_dir, seeds, args.env_id) for n in names]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            results = pool.map(measure, *zip(*jobs, strict=True))
            results = list(results)
    else:
        results = (measure(*job) for job in jobs)

    failures = 0
    for res in results:
        name = str(res["name"])
        if "error" in res:
            failures += 1
            print(f"{name:27s} ERROR {res['error']}")
            continue
        ref = refs.get(name)
        ref_txt = f"{ref[0]:.0f}±{ref[1]:.0f}" if ref else "-"
        diff = f"{res['mean'] - ref[0]:+.0f}" if ref else ""  # type: ignore[operator]
        mean_std = f"{res['mean']:.1f}±{res['std']:.1f}"
        print(
            f"{name:27s} {res['env']!s:25s} {mean_std:>15s} {res['len']:6.0f} "
            f"{ref_txt:>13s} {diff:>7s}   ({res['seconds']:.0f}s)",
            flush=True,
        )
        if args.verbose:
            print("    returns:", " ".join(f"{r:.1f}" for r in res["returns"]))  # type: ignore[union-attr]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
