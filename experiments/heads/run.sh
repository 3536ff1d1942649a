#!/usr/bin/env bash
# Reproduces experiments/heads/: every action head x 5 seeds x the study's datasets, then the
# report (heads compared with head=mse, the Tianshou default: P(head > mse), paired differences).
#   experiments/heads/run.sh                    # the whole preset (conf/experiment/heads.yaml)
#   experiments/heads/run.sh dataset=maze_fork  # one dataset: a chunk that lands on its own
# Re-running skips the jobs that already finished (multirun/heads/<job>/DONE.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
OMP_NUM_THREADS=1 python -m imitation_lab.train -m experiment=heads "$@"
python -m imitation_lab.report multirun/heads --out experiments/heads --reference mse --arm-key head
