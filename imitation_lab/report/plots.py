"""The report's figures: learning curves and final scores per group (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imitation_lab.report.aggregate import GroupResult, curve_key_of


def plot(results: Sequence[GroupResult], metric: str, out_dir: Path) -> list[Path]:
    """``learning_curves.png`` (mean and CI band per group) and ``final_scores.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r.stats["n"] > 0]
    colors = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, res in enumerate(shown):
        c = res.curve
        if len(c["step"]) == 0:
            continue
        ax.plot(
            c["step"],
            c["mean"],
            "o-",
            ms=3,
            color=colors(i % 10),
            label=f"{res.label} (n={res.stats['n']})",
        )
        ax.fill_between(c["step"], c["low"], c["high"], color=colors(i % 10), alpha=0.2)
    ax.set_xlabel("gradient step")
    ax.set_ylabel(curve_key_of(metric))
    ax.set_title("Learning curves: mean over seeds, 95% bootstrap CI")
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=8)
    fig.tight_layout()
    curves_path = out_dir / "learning_curves.png"
    fig.savefig(curves_path, dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 0.6 * max(len(shown), 2) + 1.5), sharey=True)
    for ax, (name, stat) in zip(axes, (("IQM", "iqm"), ("Mean", "mean")), strict=True):
        for i, res in enumerate(shown):
            s = res.stats
            low, high = s[f"{stat}_ci_low"], s[f"{stat}_ci_high"]
            ax.barh(i, high - low, left=low, height=0.6, color=colors(i % 10), alpha=0.35)
            ax.plot([s[stat]], [i], "|", color=colors(i % 10), markersize=18, mew=2)
            ax.scatter(res.scores, np.full(len(res.scores), i), s=8, color="k", alpha=0.5, zorder=3)
        ax.set_title(f"{name} (95% CI), dots = seeds")
        ax.set_xlabel(metric)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(shown)), [r.label for r in shown])
    fig.tight_layout()
    final_path = out_dir / "final_scores.png"
    fig.savefig(final_path, dpi=120)
    plt.close(fig)
    return [curves_path, final_path]
