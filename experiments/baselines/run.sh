#!/usr/bin/env bash
# The BC baseline tables of experiments/baselines/README.md.
#   experiments/baselines/run.sh                    # local: build the datasets from ../shared/experts, BC 5 seeds each
#   experiments/baselines/run.sh remote [family...] # Minari's remote datasets (network): mujoco pointmaze
#                                                   # antmaze adroit kitchen minigrid (default: all of them) or atari
# Local: about 1-10 min per dataset and 3 min per BC run on one contended CPU thread (see README.md).
# Remote: conf/experiment/baseline_remote.yaml, 5 seeds per dataset as one batched process;
# datasets are downloaded on first use. Re-running either skips the jobs that already finished.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1

remote_family() {  # family -> the conf/dataset/ names it sweeps (Hydra glob patterns)
  case "$1" in
    mujoco) echo "minari_halfcheetah_*,minari_hopper_*,minari_walker2d_*,minari_ant_*" ;;
    pointmaze) echo "minari_pointmaze_*" ;;
    antmaze) echo "minari_antmaze_*" ;;
    adroit) echo "minari_pen_*,minari_door_*,minari_hammer_*,minari_relocate_*" ;;
    kitchen) echo "minari_kitchen_*" ;;
    minigrid) echo "minari_minigrid_*" ;;
    atari) echo "minari_atari_*" ;;
    *) echo "error: unknown remote family '$1'; choose from mujoco pointmaze antmaze adroit kitchen minigrid atari" >&2
       return 2 ;;
  esac
}

if [ "${1:-}" = remote ]; then
  shift
  overrides=()
  for arg in "$@"; do [[ "$arg" == *=* ]] && overrides+=("$arg"); done
  families=()
  for arg in "$@"; do [[ "$arg" != *=* ]] && families+=("$arg"); done
  [ ${#families[@]} -eq 0 ] && families=(mujoco pointmaze antmaze adroit kitchen minigrid)
  patterns=""
  for family in "${families[@]}"; do patterns+="${patterns:+,}$(remote_family "$family")"; done
  imitation-lab train -m experiment=baseline_remote "dataset=glob([$patterns])" "${overrides[@]}"
  python experiments/baselines/summarize.py multirun/baselines_remote \
    --csv experiments/baselines/results_remote.csv
  exit 0
fi

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
