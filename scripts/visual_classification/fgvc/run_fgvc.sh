#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/fgvc/run_fgvc.sh [--dry-run] METHOD [SEED ...] [-- key=value ...]
#
# FGVC runs of one method on every dataset and seed (default 42), with the lr / weight decay of its config
# (configs/vision/fgvc/METHOD.yaml, METHOD one of gift lora lora_qkv bitfit vpt full linear). For the paper's
# protocol (grid, winner per dataset, finals) use sweep_fgvc.sh. Overrides after -- go to every run
# (e.g. -- task.weights_file=...).
#
#   env: DATASETS (default: every FGVC_DATASETS row); ACCELERATE_CONFIG, PYTHON, --dry-run: scripts/_lib.sh
#   Runs from any directory (relative paths start at the repository root).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
((${#ARGS[@]} >= 1)) || gift_fail "give METHOD"
gift_config "configs/vision/fgvc/${ARGS[0]}.yaml"
gift_seeds 42 "${ARGS[@]:1}"
datasets=${DATASETS:-$("$PYTHON" -c 'from gift_experiment_utils.domains.vision.fgvc import FGVC_DATASETS; print(*FGVC_DATASETS)')}

for dataset in $datasets; do
  gift_seed_runs "task.dataset=$dataset"
done
