#!/usr/bin/env bash
# Reproduces experiments/clip_vs_tanh/: 4 bounding arms x 10 seeds, then the report.
#   experiments/clip_vs_tanh/run.sh          # pendulum (built-in data) -> experiments/clip_vs_tanh/
#   experiments/clip_vs_tanh/run.sh hopper   # hopper expert + medium (build them first:
#                                            #   imitation-lab collect preset=hopper_expert / hopper_medium)
#                                            # -> experiments/clip_vs_tanh/hopper/
#   experiments/clip_vs_tanh/run.sh [study] <hydra overrides>   # e.g. seed=0,1 for a quick look
# Re-running skips the jobs that already finished (multirun/<study>/<job>/DONE.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
study=pendulum
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then study=$1; shift; fi
case "$study" in
  pendulum) experiment=clip_vs_tanh out=experiments/clip_vs_tanh ;;
  hopper) experiment=clip_vs_tanh_mujoco out=experiments/clip_vs_tanh/hopper ;;
  *) echo "usage: $0 [pendulum|hopper] [hydra overrides ...]" >&2; exit 2 ;;
esac
OMP_NUM_THREADS=1 python -m imitation_lab.train -m "experiment=$experiment" "$@"
python -m imitation_lab.report "multirun/$experiment" --out "$out"
