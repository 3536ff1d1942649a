#!/usr/bin/env bash
# Reproduces the "History: a memory task" table of experiments/baselines/README.md on
# dataset=minigrid_memory: actor=mlp (dataset.frame_stack=1 and 2, 5 stacked seeds each)
# against actor=transformer and actor=rnn (5 seeds, one job each: sequence trunks do not stack).
#   experiments/baselines/memory.sh [mlp|transformer|rnn]   # one arm family, or all
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
out=multirun/memory
what=${1:-all}
if [[ $what == all || $what == mlp ]]; then
  for stack in 1 2; do
    python -m imitation_lab.train experiment=memory actor=mlp dataset.frame_stack=$stack \
      trainer.num_seeds=5 logger=none hydra.run.dir=$out/mlp_stack$stack
  done
fi
# actor.context=24: the expert's episodes are 15-23 steps, so a window holds a whole episode;
# actor.image_scale=10: MiniGrid's view holds object ids (key 5, ball 6): /255 hides the cue,
# raw ids made training unstable (measured)
if [[ $what == all || $what == transformer ]]; then
  python -m imitation_lab.train -m experiment=memory actor=transformer actor.context=24 \
    actor.image_scale=10 seed=0,1,2,3,4 logger=none hydra.sweep.dir=$out/transformer
fi
if [[ $what == all || $what == rnn ]]; then  # a GRU needs more steps to find the cue
  python -m imitation_lab.train -m experiment=memory actor=rnn actor.context=24 \
    actor.image_scale=10 trainer.steps=12000 trainer.eval_every=3000 seed=0,1,2,3,4 \
    logger=none hydra.sweep.dir=$out/rnn
fi
python experiments/baselines/summarize_memory.py $out
