#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/vtab/sweep_vtab.sh [--dry-run] METHOD [-- key=value ...]
#
# The paper's protocol for one method on VTAB-1k: every grid point of configs/vision/vtab/sweeps/vtab_METHOD.yaml
# on seed 42, trained on train800 and validated on val200 (finished runs are skipped, interrupted ones
# resume); the winner per task by the last val200 top-1; then the finals on train800val200 → test.
# METHOD: gift lora lora_qkv bitfit vpt full linear. Overrides after -- go to every run (give the same ones
# to table_vtab.sh).
#
#   env: ACCELERATE_CONFIG, PYTHON; --dry-run: scripts/_lib.sh. Runs from any directory.
# On a cluster, print the launch lines instead and submit them:
#   python -m gift_experiment_utils.sweep run configs/vision/vtab/sweeps/vtab_gift.yaml --print --launcher "..."
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
((${#ARGS[@]} == 1)) || gift_fail "give one METHOD"
gift_config "configs/vision/vtab/sweeps/vtab_${ARGS[0]}.yaml"
gift_sweep "$CONFIG"
