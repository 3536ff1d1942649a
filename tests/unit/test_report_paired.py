"""Paired-by-seed differences to the reference arm, figure labels and titles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imitation_lab.report.app import data_context
from imitation_lab.report.paired import paired_differences, paired_table
from imitation_lab.report.plots import axis_label
from imitation_lab.report.runs import Job

METRIC = "final/normalized_score"


def _job(arm: str, seed: int, score: float | None, lr: str = "1e-3") -> Job:
    overrides = {"bounding": arm, "seed": str(seed), "optim.lr": lr}
    status = "done" if score is not None else "failed"
    summary = {METRIC: score} if score is not None else {}
    return Job(f"{arm}-{seed}", Path("."), overrides, status, summary)


def test_differences_pair_the_same_seed_and_other_settings() -> None:
    jobs = [_job("clip", s, 90.0 + s) for s in range(3)]
    jobs += [_job("tanh", 0, 80.0), _job("tanh", 1, 95.0), _job("tanh", 2, None)]  # one failed
    jobs += [_job("tanh", 0, 50.0, lr="1e-4")]  # no clip job with lr=1e-4: unpaired
    diffs = paired_differences(jobs, ["bounding"], "bounding", "clip", METRIC)
    assert len(diffs) == 1
    d = diffs[0]
    assert (d.label, d.n, d.better, d.worse) == ("bounding=tanh", 2, 1, 1)
    assert d.mean == pytest.approx(((80 - 90) + (95 - 91)) / 2)
    assert d.low <= d.mean <= d.high
    table = paired_table(diffs, "clip", "bounding")
    assert "| bounding=tanh | 2 | -3.0 [" in table


def test_one_pair_has_no_ci() -> None:
    jobs = [_job("clip", 0, 90.0), _job("tanh", 0, 91.0)]
    (d,) = paired_differences(jobs, ["bounding"], "bounding", "clip", METRIC)
    assert np.isnan(d.low) and "+1.0 [–]" in paired_table([d], "clip", "bounding")


def test_axis_labels_say_what_the_score_means() -> None:
    assert axis_label(METRIC) == "normalized score (0 = random, 100 = expert) [final]"
    assert axis_label("final/return_mean") == "return mean [final]"


def test_titles_name_the_dataset_and_env(tmp_path: Path) -> None:
    jobs = []
    for k, (dataset, env) in enumerate([("a/b/expert-v0", "B-v1"), ("a/b/expert-v0", "B-v1")]):
        (tmp_path / str(k)).mkdir()
        info = {"dataset_id": dataset, "eval_env_id": env}
        (tmp_path / str(k) / "dataset_info.json").write_text(json.dumps(info))
        jobs.append(Job(str(k), tmp_path / str(k), {}, "done"))
    assert data_context(jobs) == "a/b/expert-v0 (B-v1)"
    assert data_context([Job("x", tmp_path / "missing", {}, "failed")]) == ""


def test_groups_of_a_sweep_run_in_chunks_stay_together() -> None:
    """Chunks of one sweep dir (one dataset each) number their jobs from 0 again, so job order
    interleaves the datasets; the groups of each dataset stay together, in first-seen order."""
    from imitation_lab.report.aggregate import aggregate

    jobs = []
    for number in range(4):  # job n of each chunk: arm n // 2, seed n % 2
        for dataset in ("maze", "ant"):
            arm, seed = ("clip", "tanh")[number // 2], str(number % 2)
            overrides = {"dataset": dataset, "bounding": arm, "seed": seed}
            jobs.append(Job(f"{number}-{dataset}", Path("."), overrides, "done", {METRIC: 1.0}))
    results = aggregate(jobs, ["dataset", "bounding", "seed"], METRIC)
    assert [r.label for r in results] == [
        "dataset=maze bounding=clip",
        "dataset=maze bounding=tanh",
        "dataset=ant bounding=clip",
        "dataset=ant bounding=tanh",
    ]


def test_an_arm_keeps_its_style_across_tasks() -> None:
    from imitation_lab.report.aggregate import GroupResult
    from imitation_lab.report.plots import _style_indices

    def group(dataset: str, arm: str) -> GroupResult:
        key = (("dataset", dataset), ("bounding", arm))
        return GroupResult(key=key, scores=np.zeros(0), strata=[], n_failed=0, n_unfinished=0,
                           n_pruned=0, stats={"n": 1}, curve={}, strata_ids=[])  # fmt: skip

    shown = [group(d, a) for d in ("maze", "ant") for a in ("clip", "tanh", "none")]
    assert _style_indices(shown, "bounding") == [0, 1, 2, 0, 1, 2]
    assert _style_indices(shown, None) == [0, 1, 2, 3, 4, 5]
    assert _style_indices(shown[:3], "bounding") == [0, 1, 2]  # one task: one style per group


@pytest.mark.parametrize("n_groups", [3, 55])
def test_final_scores_title_clears_the_panels(tmp_path: Path, n_groups: int) -> None:
    """The two-line title (``Final scores`` + the datasets) stays above both panel titles, and
    the first group sits at the top, in a short and in a tall (55-group) figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from imitation_lab.report.aggregate import GroupResult
    from imitation_lab.report.plots import _finals

    stats = {"n": 5, "iqm": 50.0, "iqm_ci_low": 40.0, "iqm_ci_high": 60.0, "mean": 50.0,
             "mean_ci_low": 40.0, "mean_ci_high": 60.0}  # fmt: skip
    shown = [GroupResult(key=(("dataset", f"d{i}"),), scores=np.full(5, 50.0), strata=[],
                         n_failed=0, n_unfinished=0, stats=stats, curve={})
             for i in range(n_groups)]  # fmt: skip
    captured = {}
    savefig = plt.Figure.savefig

    def keep(fig, *args, **kwargs):
        captured["fig"] = fig
        return savefig(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:  # keep the figure open to measure it
        patch.setattr(plt.Figure, "savefig", keep)
        patch.setattr(plt, "close", lambda *_: None)
        _finals(plt, shown, METRIC, tmp_path, "\n11 datasets", plt.get_cmap("tab10"),
                list(range(n_groups)))  # fmt: skip
    fig = captured["fig"]
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes:
        panel_title = ax.title.get_window_extent(renderer)
        assert title.y0 >= panel_title.y1 - 1, "the figure title overlaps a panel title"
        top, bottom = ax.get_ylim()[1], ax.get_ylim()[0]
        assert (top, bottom) == (-0.5, n_groups - 0.5)  # group 0 on top, no empty margin
    plt.close(fig)
