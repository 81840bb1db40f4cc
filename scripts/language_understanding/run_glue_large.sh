#!/usr/bin/env bash
# Usage: bash scripts/language_understanding/run_glue_large.sh [--dry-run] [gift|baselines|full] [TASK ...] [-- key=value ...]
# GLUE on RoBERTa-large (max length 128, batch 128): search on seed 42, select, seeds 42-46, table.
# The same as run_glue.sh large ...; its --help explains the groups, tasks and overrides.
#   e.g. ACCELERATE_CONFIG=configs/accelerate/1gpu.yaml bash scripts/language_understanding/run_glue_large.sh gift cola
#        bash scripts/language_understanding/run_glue_large.sh gift rte --dry-run -- train.epochs=1 data.max_train_samples=64
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_help "$@"
exec bash "$REPO/scripts/language_understanding/run_glue.sh" large "$@"
