#!/usr/bin/env bash
# Reproduces experiments/recipes/README.md: the measured numbers of the training recipes
# (validation split, EMA of the weights, random-shift augmentation, filtered BC, action
# chunks), then the summary.
#   experiments/recipes/run.sh            # all five (about 2 h on one core)
#   experiments/recipes/run.sh val|ema|augment|filtered|chunks
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
if [[ $what == all || $what == filtered ]]; then
  for f in null 0.1; do
    train dataset=pendulum_mixed dataset.top_fraction=$f trainer.num_seeds=5 trainer.steps=10000 \
      trainer.eval_every=2500 trainer.eval_episodes=10 hydra.run.dir=$out/filtered/top_$f
  done
fi
if [[ $what == all || $what == chunks ]]; then  # needs dataset=ant_expert (collect preset=ant_expert)
  train -m dataset=ant_expert head.chunk=1,4 policy.execute=chunk,temporal_ensemble seed=0,1,2 \
    trainer.steps=10000 trainer.eval_every=5000 trainer.eval_episodes=10 \
    hydra.sweep.dir=$out/chunks
fi
python experiments/recipes/summarize.py $out --json experiments/recipes/results.json
