#!/usr/bin/env bash
# Usage: bash scripts/language_modeling/run_commonsense.sh [--dry-run] BACKBONE ROW [SEED ...] [-- key=value ...]
# commonsense: one row, configs/language_modeling/<BACKBONE>/commonsense_<ROW>.yaml, over seeds through accelerate.
#   BACKBONE: llama1_7b | llama2_7b | llama3_8b
#   ROW:      gift_qv | gift_proj | gift_qkvud | lora_qkvud
#   SEED:     default 42 43 44; seeds already finished are skipped
#   e.g. bash scripts/language_modeling/run_commonsense.sh llama1_7b gift_qv
#        bash scripts/language_modeling/run_commonsense.sh llama1_7b gift_qv 42 --dry-run -- train.max_steps=10
#   ACCELERATE_CONFIG=configs/accelerate/4gpu.yaml picks the hardware (default 1gpu.yaml); the effective batch
#   stays the config's. Every hyperparameter lives in the YAML; overrides after -- go to every run.
#   Runs from any directory; --dry-run, env and paths: scripts/_lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_parse "$@"
gift_lm_runs commonsense "42 43 44"
