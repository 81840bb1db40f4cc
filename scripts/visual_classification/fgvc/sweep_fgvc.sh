#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/fgvc/sweep_fgvc.sh [--dry-run] METHOD [-- key=value ...]
#
# The paper's protocol for one method on FGVC: every grid point of configs/vision/fgvc/sweeps/fgvc_METHOD.yaml
# on seed 42 (finished runs are skipped, interrupted ones resume), the winner per dataset by validation
# top-1, then the final seeds of each winner. Each run is one `accelerate launch`.
# METHOD: gift lora lora_qkv bitfit vpt full linear. Overrides after -- go to every run (give the same ones
# to table_fgvc.sh).
#
#   env: ACCELERATE_CONFIG, PYTHON; --dry-run: scripts/_lib.sh. Runs from any directory.
# On a cluster, print the launch lines instead and submit them:
#   python -m gift_experiment_utils.sweep run configs/vision/fgvc/sweeps/fgvc_gift.yaml --print --launcher "..."
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
((${#ARGS[@]} == 1)) || gift_fail "give one METHOD"
gift_config "configs/vision/fgvc/sweeps/fgvc_${ARGS[0]}.yaml"
gift_sweep "$CONFIG"
