#!/usr/bin/env bash
# Reproduces experiments/recipes/README.md: the measured numbers of the training recipes
# (validation split, EMA of the weights, random-shift augmentation), one job per arm and
# dataset, 5 seeds each, then the summary.
#   experiments/recipes/run.sh            # all three (about 50 min on one core)
#   experiments/recipes/run.sh val|ema|augment
set -euo pipefail
cd "$(dirname "$0")/../.."
out=multirun/recipes
export OMP_NUM_THREADS=1
train() { python -m imitation_lab.train logger=none trainer.progress=false "$@"; }
what=${1:-all}
if [[ $what == all || $what == val ]]; then
  for d in pendulum pointmaze_umaze; do
    train dataset=$d dataset.val_fraction=0.1 trainer.num_seeds=5 trainer.steps=5000 \
      trainer.eval_every=250 trainer.eval_episodes=10 hydra.run.dir=$out/val/$d
  done
fi
if [[ $what == all || $what == ema ]]; then
  for d in pendulum pointmaze_umaze; do
    for e in null 0.999; do
      train dataset=$d trainer.ema_decay=$e trainer.num_seeds=5 trainer.steps=5000 \
        trainer.eval_every=500 trainer.eval_episodes=10 hydra.run.dir=$out/ema/${d}_ema_$e
    done
  done
fi
if [[ $what == all || $what == augment ]]; then
  train -m dataset=minigrid_empty_random dataset.obs_keys=[image] actor=multi_input \
    dataset.augment=null,random_shift seed=0,1,2,3,4 trainer.steps=3000 trainer.eval_every=1000 \
    trainer.eval_episodes=20 hydra.sweep.dir=$out/augment
fi
python experiments/recipes/summarize.py $out --json experiments/recipes/results.json
