#!/usr/bin/env bash
# Usage: bash scripts/language_understanding/run_glue_base.sh [--dry-run] [gift|baselines|full] [TASK ...] [-- key=value ...]
# GLUE on RoBERTa-base (max length 512, batch 64): search on seed 42, select, seeds 42-46, table.
# The same as run_glue.sh base ...; its --help explains the groups, tasks and overrides.
#   e.g. ACCELERATE_CONFIG=configs/accelerate/1gpu.yaml bash scripts/language_understanding/run_glue_base.sh gift rte mrpc
#        bash scripts/language_understanding/run_glue_base.sh gift rte --dry-run -- train.epochs=1 data.max_train_samples=64
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_help "$@"
exec bash "$REPO/scripts/language_understanding/run_glue.sh" base "$@"
