#!/usr/bin/env bash
# Reproduces the "History: a memory task" table of experiments/baselines/README.md: actor=mlp
# (dataset.frame_stack=1 and 2, 5 stacked seeds each) against actor=rnn and actor=transformer
# (5 seeds, one job each: sequence trunks do not stack) on dataset=minigrid_memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
out=multirun/memory
for stack in 1 2; do
  python -m imitation_lab.train experiment=memory actor=mlp \
    dataset.frame_stack=$stack trainer.num_seeds=5 logger=none hydra.run.dir=$out/mlp_stack$stack
done
# actor.context=24: the expert's episodes are 15-23 steps, so a window holds a whole episode
for trunk in rnn transformer; do
  python -m imitation_lab.train -m experiment=memory actor=$trunk actor.context=24 \
    seed=0,1,2,3,4 logger=none hydra.sweep.dir=$out/$trunk
done
python experiments/baselines/summarize_memory.py $out
