#!/usr/bin/env bash
# math: one row, configs/language_modeling/<BACKBONE>/math_<ROW>.yaml, over seeds through accelerate.
# Usage: bash scripts/language_modeling/run_math.sh BACKBONE ROW [SEED ...]   (default seeds: 42 43 44)
#   BACKBONE: llama1_7b | llama2_7b | llama3_8b
#   ROW:      gift_qv | gift_proj | gift_qkvud | lora_qkvud
#   e.g. bash scripts/language_modeling/run_math.sh llama1_7b gift_qv
#   ACCELERATE_CONFIG=configs/accelerate/4gpu.yaml picks the hardware (default 1gpu.yaml); the effective batch
#   stays the config's. Every hyperparameter lives in the YAML; seeds already finished are skipped.
set -euo pipefail

usage() { sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 ]] || usage
BACKBONE="$1"; ROW="$2"; shift 2
SEEDS=("$@"); [[ ${#SEEDS[@]} -gt 0 ]] || SEEDS=(42 43 44)
CONFIG="configs/language_modeling/$BACKBONE/math_$ROW.yaml"
[[ -f "$CONFIG" ]] || { echo "no config $CONFIG" >&2; usage; }

for seed in "${SEEDS[@]}"; do
  accelerate launch --config_file "${ACCELERATE_CONFIG:-configs/accelerate/1gpu.yaml}" \
    -m gift_experiment_utils.run --config "$CONFIG" experiment.seed="$seed"
done
