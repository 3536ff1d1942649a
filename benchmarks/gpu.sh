#!/usr/bin/env bash
# Every CUDA check of the project in one command, on a machine with an NVIDIA GPU (issue 32):
#   benchmarks/gpu.sh [OUT_DIR]      # default OUT_DIR: benchmarks/results/gpu
# 1. the gpu-marked tests (tests/gpu: train, resume, eval, stacked members, compiled steps,
#    all on trainer.device=cuda with the data on the device);
# 2. the scaling benchmark: member-steps/s of the standard workload (obs 17 -> 6, MLP 256x256,
#    batch 256, Adam) for K = 1, 16, 64, 256, 1024 members in one process: eager, compiled
#    (trainer.compile=true) and CUDA graphs (trainer.compile_mode=reduce-overhead), each case
#    in a fresh process, 3 interleaved rounds, wall clock (every step reads its losses back).
# Record the tables it prints in benchmarks/README.md with the GPU's name (gpu_name.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results/gpu}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu_name.txt"
python -m pytest -q -m gpu tests/gpu -p no:cacheprovider | tee "$out/gpu_tests.txt"
K="1 16 64 256 1024"
eager=() compiled=()
for k in $K; do eager+=("k$k-continuous"); compiled+=("compiled-k$k-continuous"); done
common=(--timer wall --threads 1 --repeats 3 --k-steps 200 --warmup 80
        --override trainer.device=cuda)
python -m benchmarks.bc_speed "${common[@]}" --cases "${eager[@]}" "${compiled[@]}" \
  --json "$out/scaling_eager_compiled.json" | tee "$out/scaling_eager_compiled.md"
python -m benchmarks.bc_speed "${common[@]}" --cases "${eager[@]}" "${compiled[@]}" \
  --override trainer.compile_mode=reduce-overhead \
  --json "$out/scaling_cuda_graphs.json" | tee "$out/scaling_cuda_graphs.md"
