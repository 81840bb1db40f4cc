#!/usr/bin/env bash
# Usage: bash scripts/language_modeling/run_ultrafeedback.sh [--dry-run] BACKBONE ROW [SEED ...] [-- key=value ...]
# ultrafeedback: one row, configs/language_modeling/<BACKBONE>/ultrafeedback_<ROW>.yaml, over seeds through accelerate.
#   BACKBONE: llama2_7b
#   ROW:      gift_qv_r16 | gift_qv_r128 | lora_qv
#   SEED:     default 42 43; seeds already finished are skipped
#   e.g. bash scripts/language_modeling/run_ultrafeedback.sh llama2_7b gift_qv_r16
#        bash scripts/language_modeling/run_ultrafeedback.sh llama2_7b gift_qv_r16 42 --dry-run -- train.max_steps=10
#   ACCELERATE_CONFIG=configs/accelerate/4gpu.yaml picks the hardware (default 1gpu.yaml); the effective batch
#   stays the config's. Every hyperparameter lives in the YAML; overrides after -- go to every run.
#   Runs from any directory; --dry-run, env and paths: scripts/_lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_parse "$@"
gift_lm_runs ultrafeedback "42 43"
