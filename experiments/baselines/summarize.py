#!/usr/bin/env python
"""Table of the BC baselines from local run dirs: one row per dataset, mean ± std over seeds.

Reads every ``<runs root>/**/DONE.json`` (written by ``imitation_lab.train`` when a run
finishes: the resolved config and the summary metrics) and the run's ``train.log`` timestamps
(wall time), and the datasets' Minari metadata (size, reference scores); ``corl_bc.csv`` gives
CORL's published BC scores beside the Minari ids that have a D4RL counterpart. Writes
``results.csv`` (one line per run; ``--csv`` another file) next to this file, keeping the rows
of (dataset, seed) pairs not found under the root, and prints the markdown tables.

    python experiments/baselines/summarize.py /tmp/baselines/runs
    python experiments/baselines/summarize.py multirun/baselines_remote \\
        --csv experiments/baselines/results_remote.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["halfcheetah", "hopper", "walker2d", "ant", "pointmaze", "antmaze"]
ORDER += ["pen", "door", "hammer", "relocate", "kitchen", "minigrid"]


def corl_scores(path: Path = HERE / "corl_bc.csv") -> dict[str, dict[str, str]]:
    """Minari id -> CORL's published BC row (D4RL task, last and best normalized score, and
    its 10%-BC last and best: BC on the top 10 % of episodes by return)."""
    with open(path, newline="") as handle:
        return {row["minari_id"]: row for row in csv.DictReader(handle)}


def wall_seconds(run_dir: Path) -> float:
    """From the first to the last timestamp of the run's ``train.log``."""
    stamps = []
    log = run_dir / "train.log"
    if not log.exists():  # a seed_<s>/ of a num_seeds job: the job's log is one level up
        log = run_dir.parent / "train.log"
    if not log.exists():
        return float("nan")
    for line in log.read_text().splitlines():
        if line.startswith("[20"):
            stamps.append(datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f"))
    return (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 1 else float("nan")


def load_runs(root: Path) -> list[dict]:
    runs = []
    for marker in sorted(root.rglob("DONE.json")):
        done = json.loads(marker.read_text())
        cfg, summary = done["config"], done["summary"]
        if "num_seeds" in summary:  # a num_seeds job's mean over its seed_<s>/ runs
            continue
        runs.append(
            {
                "dataset_id": cfg["dataset"]["id"],
                "seed": cfg["seed"],
                "train_steps": int(summary["step"]),
                "final_normalized_score": summary["final/normalized_score"],
                "best_normalized_score": summary["best/normalized_score"],
                "final_return_mean": summary["final/return_mean"],
                "final_return_std": summary["final/return_std"],
                "final_success_rate": summary.get("final/success_rate", ""),
                "wall_s": wall_seconds(marker.parent),
                "run_dir": str(marker.parent),
            }
        )
    return runs


def _order(dataset_id: str) -> tuple[int, str]:
    env = dataset_id.split("/")[1]
    return (ORDER.index(env) if env in ORDER else len(ORDER), dataset_id)


def _mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else float("nan")
    mean = statistics.mean(values)
    digits = 3 if abs(mean) < 10 else 1  # MiniGrid returns are in [0, 1]
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _success(group: list[dict]) -> str:
    values = [float(r["final_success_rate"]) for r in group if r["final_success_rate"] != ""]
    if not values:
        return "–"
    std = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.2f} ± {std:.2f}"


def results_table(runs: list[dict]) -> str:
    """One row per dataset; a CORL column when any dataset has a D4RL counterpart."""
    dataset_ids = sorted({r["dataset_id"] for r in runs}, key=_order)
    corl = corl_scores()
    with_corl = any(d in corl for d in dataset_ids)
    header = "| dataset | seeds | final normalized score (×100) | best normalized score | "
    header += "final eval return | final success rate | train steps | wall time / run (s) |"
    rule = "|---|---|---|---|---|---|---|---|"
    if with_corl:
        header += " CORL BC (D4RL task: last / best) | CORL 10%-BC (last / best) |"
        rule += "---|---|"
    lines = [header, rule]
    for dataset_id in dataset_ids:
        group = [r for r in runs if r["dataset_id"] == dataset_id]
        line = (
            f"| `{dataset_id}` | {len(group)} "
            f"| {_mean_std([r['final_normalized_score'] for r in group])} "
            f"| {_mean_std([r['best_normalized_score'] for r in group])} "
            f"| {_mean_std([r['final_return_mean'] for r in group])} "
            f"| {_success(group)} "
            f"| {group[0]['train_steps']} | {statistics.mean(r['wall_s'] for r in group):.0f} |"
        )
        if with_corl:
            row = corl.get(dataset_id)
            line += (
                f" {row['d4rl_task']}: {row['last']} / {row['best']} "
                f"| {row['bc10_last']} / {row['bc10_best']} |"
                if row
                else " – | – |"
            )
        lines.append(line)
    return "\n".join(lines)


def datasets_table(dataset_ids: list[str]) -> str:
    import minari
    import numpy as np

    from imitation_lab.data.reference import reference_scores

    lines = [
        "| dataset | source agent | episodes | steps | data return (mean ± std) "
        "| ref_min_score | ref_max_score | data normalized |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dataset_id in sorted(dataset_ids, key=_order):
        dataset = minari.load_dataset(dataset_id)
        meta = dataset.storage.metadata
        returns = np.array([float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()])
        refs = reference_scores(dataset)  # Minari's mujoco/* carry none: D4RL's constants
        low, high = (f"{refs[0]:.1f}", f"{refs[1]:.1f}") if refs else ("–", "–")
        data = f"{100 * (returns.mean() - refs[0]) / (refs[1] - refs[0]):.1f}" if refs else "–"
        lines.append(
            f"| `{dataset_id}` | {meta.get('algorithm_name') or '–'} | {dataset.total_episodes} "
            f"| {dataset.total_steps} | {returns.mean():.0f} ± {returns.std():.0f} "
            f"| {low} | {high} | {data} |"
        )
    return "\n".join(lines)


NUMERIC = ("final_normalized_score", "best_normalized_score", "final_return_mean", "wall_s")


def merge_with_recorded(runs: list[dict], path: Path) -> list[dict]:
    """``runs`` plus the rows of ``path`` for (dataset, seed) pairs they do not have: a CSV
    is extended or updated, never emptied of other datasets' runs."""
    if not path.exists():
        return runs
    have = {(r["dataset_id"], int(r["seed"])) for r in runs}
    with open(path, newline="") as handle:
        kept = [row for row in csv.DictReader(handle)]
    kept = [row for row in kept if (row["dataset_id"], int(row["seed"])) not in have]
    for row in kept:  # a CSV written before a column existed has no value for it
        row.setdefault("final_success_rate", "")
        row.update({k: float(row[k]) for k in NUMERIC}, seed=int(row["seed"]))
        row["train_steps"] = int(row["train_steps"])
    if kept:
        print(f"(kept {len(kept)} recorded runs of {path.name} not under this folder)")
    return runs + kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--csv", type=Path, default=HERE / "results.csv")
    args = parser.parse_args()
    found = load_runs(args.root)
    if not found:
        raise SystemExit(f"error: no finished runs (DONE.json) under {args.root}.")
    runs = merge_with_recorded(found, args.csv)
    fields = [k for k in found[0] if k != "run_dir"]
    tmp = args.csv.with_name(args.csv.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for run in sorted(runs, key=lambda r: (_order(r["dataset_id"]), int(r["seed"]))):
            writer.writerow(run)
    tmp.replace(args.csv)
    print(results_table(runs))
    print()
    print(datasets_table(sorted({r["dataset_id"] for r in found})))


if __name__ == "__main__":
    main()
