"""Summarize the recipes' runs (experiments/recipes/run.sh) into the numbers of its README.

python experiments/recipes/summarize.py multirun/recipes --json experiments/recipes/results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _scores(run_dir: Path) -> dict[int, float]:
    return {x["step"]: x["eval/normalized_score"] for x in _lines(run_dir)
            if "eval/normalized_score" in x}  # fmt: skip


def validation(root: Path) -> dict:
    """Per dataset: Spearman(val/loss, score) over each seed's evaluations; the score of the
    weights best_val / final / best_eval pick."""
    out = {}
    for dataset in sorted(p for p in root.iterdir() if p.is_dir()):
        rho, picked = [], {"best_val": [], "final": [], "best_eval": []}
        for seed in sorted(dataset.glob("seed_*")):
            val = {x["step"]: x["val/loss"] for x in _lines(seed) if "val/loss" in x}
            score = _scores(seed)
            steps = sorted(set(val) & set(score))
            losses, values = [val[s] for s in steps], [score[s] for s in steps]
            rho.append(float(spearmanr(losses, values).statistic))
            picked["best_val"].append(score[steps[int(np.argmin(losses))]])
            picked["final"].append(values[-1])
            picked["best_eval"].append(max(values))
        out[dataset.name] = {"spearman_mean": float(np.mean(rho)),
                             "spearman_range": [min(rho), max(rho)],
                             **{k: float(np.mean(v)) for k, v in picked.items()}}  # fmt: skip
    return out


def _arm(runs: list[Path]) -> dict:
    finals, steadiness = [], []
    for run in runs:
        values = np.array(list(_scores(run).values()))
        finals.append(values[-1])
        steadiness.append(values[len(values) // 2 :].std())
    final = np.array(finals)
    return {"final_mean": float(final.mean()), "final_seed_std": float(final.std(ddof=1)),
            "within_run_std": float(np.mean(steadiness)), "seeds": len(runs)}  # fmt: skip


def ema(root: Path) -> dict:
    """Per dataset and arm: the final score's mean and spread over seeds, and how much each
    run's score moves over the last half of its evaluations."""
    return {arm.name: _arm(sorted(arm.glob("seed_*"))) for arm in sorted(root.iterdir())
            if arm.is_dir()}  # fmt: skip


def _jobs_by(root: Path, key) -> dict[str, list[Path]]:
    """The finished single jobs under ``root`` grouped by ``key(config)``."""
    arms: dict[str, list[Path]] = {}
    for done in sorted(root.rglob("DONE.json")):
        record = json.loads(done.read_text())
        if "num_seeds" in record["summary"]:
            continue  # a stacked group's own record
        arms.setdefault(key(record["config"]), []).append(done.parent)
    return arms


def _with_success(arms: dict[str, list[Path]]) -> dict:
    out = {}
    for name, runs in arms.items():
        out[name] = _arm(runs)
        success = [[x for x in _lines(r) if "eval/success_rate" in x] for r in runs]
        if all(success):
            out[name]["final_success_rate"] = float(np.mean([s[-1]["eval/success_rate"]
                                                             for s in success]))  # fmt: skip
    return out


def augment(root: Path) -> dict:
    """Per arm (dataset.augment): final score, success rate, spread over seeds."""
    return _with_success(_jobs_by(root, lambda c: f"augment={c['dataset'].get('augment')}"))


def filtered(root: Path) -> dict:
    """Per arm (dataset.top_fraction) on the mixed-quality dataset."""
    return _with_success(
        _jobs_by(root, lambda c: f"top_fraction={c['dataset'].get('top_fraction')}")
    )


def chunks(root: Path) -> dict:
    """Per arm (head.chunk, policy.execute)."""
    return _with_success(
        _jobs_by(
            root,
            lambda c: (
                f"chunk={c['head'].get('chunk', 1)} execute={c.get('policy', {}).get('execute')}"
            ),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    summary = {}
    parts = (("val", validation), ("ema", ema), ("augment", augment), ("filtered", filtered),
             ("chunks", chunks))  # fmt: skip
    for name, fn in parts:
        if (args.root / name).is_dir():
            summary[name] = fn(args.root / name)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
