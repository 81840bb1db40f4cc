#!/usr/bin/env bash
# GLUE on RoBERTa-base (max length 512, batch 64): search on seed 42, select, seeds 42-46, table.
# Usage: scripts/language_understanding/run_glue_base.sh [gift|baselines|full] [task ...]
#   e.g. ACCELERATE_CONFIG=configs/accelerate/1gpu.yaml scripts/language_understanding/run_glue_base.sh gift rte mrpc
set -euo pipefail
exec "$(dirname "$0")/run_glue.sh" base "$@"
