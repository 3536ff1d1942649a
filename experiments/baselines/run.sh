#!/usr/bin/env bash
# Rebuild the baseline datasets from ../shared/experts and rerun BC, 5 seeds each, then the tables.
# About 1-10 min per dataset and 3 min per BC run on one contended CPU thread (see README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
DATASETS="halfcheetah_expert halfcheetah_medium hopper_expert hopper_medium walker2d_expert walker2d_medium ant_expert ant_medium"
for d in $DATASETS; do
  imitation-lab collect preset="$d"
done
# every dataset x 5 seeds: one sweep (conf/experiment/baseline.yaml); re-running skips finished jobs
imitation-lab train -m experiment=baseline logger=none hydra.sweep.dir=multirun/baselines/all
# The Walker2d diagnosis: the same TQC expert, actions sampled from its policy (D4RL-like).
imitation-lab collect preset=walker2d_expert source.deterministic=false \
  dataset_id=imitation-lab/walker2d/expert-stochastic-v0
imitation-lab train -m experiment=baseline dataset=walker2d_expert \
  dataset.id=imitation-lab/walker2d/expert-stochastic-v0 logger=none \
  hydra.sweep.dir=multirun/baselines/walker2d_expert_stochastic
python experiments/baselines/summarize.py multirun/baselines
