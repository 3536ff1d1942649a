"""The report's figures (matplotlib, Agg): learning curves, final scores and, with a reference
arm, the paired differences to it. Titles name the data, axes say what the score means
(0 = random, 100 = expert, drawn as lines), arms differ in colour *and* line style/marker, and
legends sit outside the data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imitation_lab.report.across_tasks import AcrossTasks
from imitation_lab.report.aggregate import GroupResult, curve_key_of
from imitation_lab.report.paired import PairedDifference

LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DPI = 120


def axis_label(metric: str) -> str:
    """``final/normalized_score`` -> what a reader needs to read the axis."""
    stage, _, name = metric.rpartition("/")
    words = name.replace("_", " ")
    if "normalized_score" in name:
        words += " (0 = random, 100 = expert)"
    return f"{words} [{stage}]" if stage else words


def _reference_lines(ax, metric: str, vertical: bool = False) -> None:
    if "normalized_score" not in metric:
        return
    for value, name in ((0.0, "random"), (100.0, "expert")):
        draw = ax.axvline if vertical else ax.axhline
        draw(value, color="0.4", lw=0.8, ls=(0, (4, 3)), zorder=1)
        if vertical:
            ax.annotate(name, (value, 0.02), xycoords=("data", "axes fraction"), fontsize=7,
                        color="0.35", ha="right", va="bottom", rotation=90)  # fmt: skip
        else:
            ax.annotate(name, (1.0, value), xycoords=("axes fraction", "data"), fontsize=7,
                        color="0.35", ha="left", va="center")  # fmt: skip


def _style(i: int, colors) -> dict:
    return {
        "color": colors(i % 10),
        "ls": LINE_STYLES[i % len(LINE_STYLES)],
        "marker": MARKERS[i % len(MARKERS)],
    }


def plot(
    results: Sequence[GroupResult],
    metric: str,
    out_dir: Path,
    context: str = "",
    paired: Sequence[PairedDifference] = (),
    reference: str | None = None,
    arm_key: str | None = None,
) -> list[Path]:
    """``learning_curves.png``, ``final_scores.png`` and (with ``paired``)
    ``paired_differences.png``; ``context`` (dataset / env) goes into every title. Groups with
    an ``arm_key`` value are drawn in their arm's style (one colour per arm across tasks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r.stats["n"] > 0]
    colors = plt.get_cmap("tab10")
    where = f"\n{context}" if context else ""
    styles = _style_indices(shown, arm_key)
    paths = [
        _curves(plt, shown, metric, out_dir, where, colors, styles),
        _finals(plt, shown, metric, out_dir, where, colors, styles),
    ]
    if paired:
        paths.append(_paired(plt, paired, metric, out_dir, where, reference))
    return paths


def _style_indices(shown: Sequence[GroupResult], arm_key: str | None) -> list[int]:
    """Each group's style: its arm's (first-seen order) when every group has ``arm_key``."""
    arms = [dict(r.key).get(arm_key) for r in shown] if arm_key else []
    if not arms or None in arms or len(set(arms)) == len(arms):
        return list(range(len(shown)))
    order = list(dict.fromkeys(arms))
    return [order.index(a) for a in arms]


def _curves(plt, shown, metric, out_dir, where, colors, styles) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, res in enumerate(shown):
        c = res.curve
        if len(c["step"]) == 0:
            continue
        style = _style(styles[i], colors)
        ax.plot(c["step"], c["mean"], ms=4, lw=1.6, label=f"{res.label} (n={res.stats['n']})",
                **style)  # fmt: skip
        ax.fill_between(c["step"], c["low"], c["high"], color=style["color"], alpha=0.15, lw=0)
        for edge in ("low", "high"):  # the band's edges in the arm's line style
            ax.plot(c["step"], c[edge], color=style["color"], ls=style["ls"], lw=0.6, alpha=0.6)
    _reference_lines(ax, metric)
    ax.set_xlabel("gradient step")
    ax.set_ylabel(axis_label(curve_key_of(metric)))
    ax.set_title(f"Learning curves: mean over seeds, 95% bootstrap CI{where}", fontsize=10)
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.06, 1.0), frameon=False)
    path = out_dir / "learning_curves.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _finals(plt, shown, metric, out_dir, where, colors, styles) -> Path:
    row = 0.6 if len(shown) <= 12 else 0.4  # inches per group
    height = row * max(len(shown), 2) + 1.8
    # constrained layout leaves room for a two-line suptitle (tight_layout let it overlap)
    fig, axes = plt.subplots(1, 2, figsize=(10, height), sharey=True, layout="constrained")
    for ax, (name, stat) in zip(axes, (("IQM", "iqm"), ("Mean", "mean")), strict=True):
        for i, res in enumerate(shown):
            s, style = res.stats, _style(styles[i], colors)
            low, high = s.get(f"{stat}_ci_low"), s.get(f"{stat}_ci_high")
            if low is not None and high is not None and np.isfinite([low, high]).all():
                hatch = "//" if styles[i] % 2 else None
                ax.barh(i, high - low, left=low, height=0.6, color=style["color"], alpha=0.3,
                        hatch=hatch, edgecolor=style["color"])  # fmt: skip
            ax.plot([s[stat]], [i], "|", color=style["color"], markersize=18, mew=2.5)
            ax.scatter(res.scores, np.full(len(res.scores), i), s=10, color="k", alpha=0.6,
                       marker=style["marker"], zorder=3)  # fmt: skip
        _reference_lines(ax, metric, vertical=True)
        ax.set_title(f"{name} (95% CI; dots = seeds)", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.supxlabel(axis_label(metric), fontsize=10)  # one label: two would overlap
    axes[0].set_yticks(range(len(shown)), [f"{r.label} (n={r.stats['n']})" for r in shown])
    axes[0].set_ylim(max(len(shown), 1) - 0.5, -0.5)  # first group on top, as in the table
    fig.suptitle(f"Final scores{where}", fontsize=10)
    path = out_dir / "final_scores.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _paired(plt, paired, metric, out_dir, where, reference) -> Path:
    fig, ax = plt.subplots(figsize=(8, 0.55 * max(len(paired), 2) + 1.6))
    for i, d in enumerate(paired):
        color = "tab:green" if d.low > 0 else "tab:red" if d.high < 0 else "0.3"
        if np.isfinite([d.low, d.high]).all():
            ax.plot([d.low, d.high], [i, i], color=color, lw=3, alpha=0.6, solid_capstyle="butt")
        ax.plot([d.mean], [i], "o", color=color, ms=7)
        ax.annotate(f"{d.better} better / {d.worse} worse of {d.n}", (1.02, i),
                    xycoords=("axes fraction", "data"), va="center", fontsize=7)  # fmt: skip
    ax.axvline(0.0, color="0.2", lw=1)
    ax.set_yticks(range(len(paired)), [d.label for d in paired])
    ax.invert_yaxis()
    name = metric.rpartition("/")[2].replace("_", " ")
    ax.set_xlabel(f"{name}: arm minus {reference}, paired by seed (mean, 95% CI)")
    ax.set_title(f"Paired difference to {reference}{where}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    path = out_dir / "paired_differences.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_profiles(result: AcrossTasks, metric: str, out_dir: Path) -> Path:
    """``performance_profiles.png``: fraction of runs with score > tau per arm, 95 % CI bands,
    over the tasks every arm has."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, arm in enumerate(result.arms):
        p, style = arm.profile, _style(i, colors)
        every = max(1, len(p["tau"]) // 10)
        ax.plot(p["tau"], p["fraction"], color=style["color"], ls=style["ls"],
                marker=style["marker"], markevery=every, ms=4,
                label=f"{result.arm_key}={arm.arm}")  # fmt: skip
        ax.fill_between(p["tau"], p["low"], p["high"], color=style["color"], alpha=0.15)
    _reference_lines(ax, metric, vertical=True)
    ax.set_xlabel(f"tau: {axis_label(metric)}")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_ylim(-0.02, 1.02)
    over = f"{len(result.tasks)} tasks ({', '.join(result.task_keys)})"
    ax.set_title(f"Performance profiles over {over}, 95% CI", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.06, 1.0), frameon=False)
    path = out_dir / "performance_profiles.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_curves_by_task(
    results: Sequence[GroupResult], across: AcrossTasks, metric: str, out_dir: Path
) -> Path:
    """``learning_curves_by_task.png``: one panel per task (its own y range), the arms in the
    same colour and line style in every panel, mean over seeds and 95 % CI bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab10")
    arms = [arm.arm for arm in across.arms]
    cols = min(3, len(across.tasks))
    rows = -(-len(across.tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, task in zip(axes.flat, across.tasks, strict=False):
        wanted = set(zip(across.task_keys, task, strict=True))
        for res in results:
            key = dict(res.key)
            c = res.curve
            if not wanted <= set(res.key) or key.get(across.arm_key) not in arms:
                continue
            if len(c["step"]) == 0:
                continue
            style = _style(arms.index(key[across.arm_key]), colors)
            ax.plot(c["step"], c["mean"], ms=3, lw=1.4, label=key[across.arm_key], **style)
            ax.fill_between(c["step"], c["low"], c["high"], color=style["color"], alpha=0.15)
        ax.set_title(", ".join(f"{v}" for v in task), fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(across.tasks) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    labels = [f"{across.arm_key}={label}" for label in labels]
    fig.legend(handles, labels, fontsize=8, loc="upper center", ncol=len(labels), frameon=False,
               bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    fig.supxlabel("gradient step", fontsize=9)
    fig.supylabel(axis_label(curve_key_of(metric)), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path = out_dir / "learning_curves_by_task.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path
