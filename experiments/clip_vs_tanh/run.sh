#!/usr/bin/env bash
# Reproduces experiments/clip_vs_tanh/: 4 bounding arms x 10 seeds on the pendulum expert data,
# then the report (results.md, results.csv, runs.csv, curves.csv, PNGs) into this folder.
# Re-running skips the jobs that already finished (multirun/clip_vs_tanh/<job>/DONE.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
OMP_NUM_THREADS=1 python -m imitation_lab.train -m experiment=clip_vs_tanh "$@"
python -m imitation_lab.report multirun/clip_vs_tanh --out experiments/clip_vs_tanh
