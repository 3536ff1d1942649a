"""The memory-task table (experiments/baselines/memory.sh): per arm, the final success rate and
normalized score over its seeds (mean ± std), and the expert's episode length beside each arm's.

    python experiments/baselines/summarize_memory.py multirun/memory [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _arm(config: dict) -> str:
    target = config["actor"]["_target_"].rsplit(".", 1)[-1]
    if target == "SequenceActor":
        kind = config["actor"]["kind"]
        return kind if kind == "transformer" else f"rnn ({config['actor']['cell']})"
    return f"mlp, frame_stack={config['dataset'].get('frame_stack', 1)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    arms: dict[str, list[dict]] = {}
    for done in sorted(args.root.rglob("DONE.json")):
        record = json.loads(done.read_text())
        if "num_seeds" in record["summary"]:
            continue  # a stacked group's own record (its members have theirs)
        arms.setdefault(_arm(record["config"]), []).append(record["summary"])
    table = {}
    print("| arm | seeds | final success rate | final normalized score | episode length |")
    print("|---|---|---|---|---|")
    for arm, rows in sorted(arms.items()):
        success = np.array([r["final/success_rate"] for r in rows])
        score = np.array([r["final/normalized_score"] for r in rows])
        length = np.array([r["final/length_mean"] for r in rows])
        table[arm] = {"seeds": len(rows), "success_mean": float(success.mean()),
                      "success_std": float(success.std(ddof=1)) if len(rows) > 1 else 0.0,
                      "score_mean": float(score.mean()), "length_mean": float(length.mean()),
                      "success_per_seed": success.tolist()}  # fmt: skip
        print(f"| {arm} | {len(rows)} | {success.mean():.2f} ± {table[arm]['success_std']:.2f} "
              f"| {score.mean():.1f} | {length.mean():.1f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
