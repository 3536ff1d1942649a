#!/usr/bin/env python
"""Figure of the BC baselines: one row per dataset, every seed's final normalized score, the
mean and its 95 % bootstrap CI, with the 0 (random) and 100 (expert) reference lines.

Reads the ``results*.csv`` next to this file (written by ``summarize.py``, one line per run) and
writes ``baselines.png`` beside them:

    python experiments/baselines/plot.py
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from imitation_lab.report.stats import stratified_bootstrap_ci

HERE = Path(__file__).resolve().parent
METRIC = "final_normalized_score"
ORDER = ["halfcheetah", "hopper", "walker2d", "ant", "pointmaze", "minigrid"]


def read_scores(paths: list[Path]) -> dict[str, np.ndarray]:
    """``{dataset id: final normalized scores of its seeds}``, in the tables' order."""
    scores: dict[str, list[float]] = {}
    for path in paths:
        with open(path) as handle:
            for row in csv.DictReader(handle):
                scores.setdefault(row["dataset_id"], []).append(float(row[METRIC]))

    def order(dataset_id: str) -> tuple[int, str]:
        env = dataset_id.split("/")[1]
        return (ORDER.index(env) if env in ORDER else len(ORDER), dataset_id)

    return {d: np.asarray(scores[d]) for d in sorted(scores, key=order)}


def summarize(scores: dict[str, np.ndarray]) -> list[tuple[str, float, float, float]]:
    """``(dataset, mean, CI low, CI high)`` per dataset (percentile bootstrap over seeds)."""
    return [(d, float(v.mean()), *stratified_bootstrap_ci([v], np.mean)) for d, v in scores.items()]


def plot(scores: dict[str, np.ndarray], out: Path) -> list[tuple[str, float, float, float]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summarize(scores)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    for i, (dataset, mean, low, high) in enumerate(rows):
        medium = "medium" in dataset
        color = "tab:orange" if medium else "tab:blue"
        ax.plot([low, high], [i, i], color=color, lw=4, alpha=0.45, solid_capstyle="butt")
        ax.plot([mean], [i], "D" if medium else "o", color=color, ms=6)
        seeds = scores[dataset]
        ax.scatter(seeds, np.full(len(seeds), i + 0.18), s=9, color="k", alpha=0.6, zorder=3)
    for value, name in ((0.0, "random"), (100.0, "expert")):
        ax.axvline(value, color="0.4", lw=0.8, ls=(0, (4, 3)))
        ax.annotate(name, (value, 1.0), xycoords=("data", "axes fraction"), fontsize=7,
                    color="0.35", ha="center", va="bottom")  # fmt: skip
    ax.set_yticks(range(len(rows)), [f"{d} (n={len(scores[d])})" for d, *_ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("final normalized score (0 = random, 100 = the dataset's expert)")
    ax.set_title(
        "BC baselines, 10k gradient steps: mean and 95% bootstrap CI over seeds (dots)\n"
        "blue circles: expert data; orange diamonds: medium data",
        fontsize=9,
        pad=14,
    )
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="*", type=Path, default=sorted(HERE.glob("results*.csv")))
    parser.add_argument("--out", type=Path, default=HERE / "baselines.png")
    args = parser.parse_args(argv)
    for dataset, mean, low, high in plot(read_scores(args.csv), args.out):
        print(f"{dataset:<45} {mean:6.1f} [{low:6.1f}, {high:6.1f}]")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
