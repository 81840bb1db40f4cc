#!/usr/bin/env bash
# GLUE on RoBERTa-large (max length 128, batch 128): search on seed 42, select, seeds 42-46, table.
# Usage: scripts/language_understanding/run_glue_large.sh [gift|baselines|full] [task ...]
#   e.g. ACCELERATE_CONFIG=configs/accelerate/1gpu.yaml scripts/language_understanding/run_glue_large.sh gift cola
set -euo pipefail
exec "$(dirname "$0")/run_glue.sh" large "$@"
