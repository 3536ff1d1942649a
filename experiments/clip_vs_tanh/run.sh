#!/usr/bin/env bash
# Reproduces experiments/clip_vs_tanh/: 4 bounding arms x 10 seeds, then the report.
#   experiments/clip_vs_tanh/run.sh          # pendulum (built-in data) -> experiments/clip_vs_tanh/
#   experiments/clip_vs_tanh/run.sh mujoco   # 8 MuJoCo datasets + PointMaze, 20k steps, batched
#                                            # (build the MuJoCo data first: imitation-lab collect
#                                            #  preset=<env>_<expert|medium>) -> experiments/clip_vs_tanh/mujoco/
#   experiments/clip_vs_tanh/run.sh hopper   # the earlier 2k-step hopper study -> experiments/clip_vs_tanh/hopper/
#   experiments/clip_vs_tanh/run.sh [study] <hydra overrides>   # e.g. seed=0,1 for a quick look
# Re-running skips the jobs that already finished (multirun/<study>/<job>/DONE.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
study=pendulum
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then study=$1; shift; fi
preset=()
case "$study" in
  pendulum) experiment=clip_vs_tanh sweep=multirun/clip_vs_tanh out=experiments/clip_vs_tanh ;;
  mujoco) experiment=clip_vs_tanh_mujoco sweep=multirun/clip_vs_tanh_mujoco out=experiments/clip_vs_tanh/mujoco ;;
  hopper) experiment=clip_vs_tanh_mujoco sweep=multirun/clip_vs_tanh_hopper out=experiments/clip_vs_tanh/hopper
    preset=(dataset=hopper_expert,hopper_medium trainer.steps=2000 trainer.eval_every=1000
      hydra/launcher=joblib "hydra.sweep.dir=$sweep") ;;
  *) echo "usage: $0 [pendulum|mujoco|hopper] [hydra overrides ...]" >&2; exit 2 ;;
esac
OMP_NUM_THREADS=1 python -m imitation_lab.train -m "experiment=$experiment" "${preset[@]}" "$@"
python -m imitation_lab.report "$sweep" --out "$out"
