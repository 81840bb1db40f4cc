#!/usr/bin/env bash
# Usage: bash scripts/language_modeling/run_alpaca.sh [--dry-run] BACKBONE ROW [SEED ...] [-- key=value ...]
# alpaca: one row, configs/language_modeling/<BACKBONE>/alpaca_<ROW>.yaml, over seeds through accelerate.
#   BACKBONE: llama1_7b
#   ROW:      gift_qv_r16 | gift_qv_r128   (rank x lr search: sweeps/alpaca_gift_qv.yaml)
#   SEED:     default 42; seeds already finished are skipped
#   e.g. bash scripts/language_modeling/run_alpaca.sh llama1_7b gift_qv_r16
#        bash scripts/language_modeling/run_alpaca.sh llama1_7b gift_qv_r16 42 --dry-run -- train.max_steps=10
#   ACCELERATE_CONFIG=configs/accelerate/4gpu.yaml picks the hardware (default 1gpu.yaml); the effective batch
#   stays the config's. Every hyperparameter lives in the YAML; overrides after -- go to every run.
#   Runs from any directory; --dry-run, env and paths: scripts/_lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_parse "$@"
gift_lm_runs alpaca "42"
