#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/vtab/table_vtab.sh [--dry-run] [METHOD ...] [-- key=value ...]
#
# The VTAB-1k table from finished sweeps (default METHODs: vpt bitfit lora gift): one column per task, group
# means Natural (7) / Specialized (4) / Structured (8), the mean over all 19 tasks, Params, Params %, peak
# memory, the paper's rows below, into results/vision/vtab.{md,csv,png} (vtab-overridden.* with overrides).
# Sweeps run with overrides (sweep_vtab.sh METHOD -- ...) need the same ones here.
#   PYTHON, --dry-run: scripts/_lib.sh. Runs from any directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
methods=("${ARGS[@]}")
((${#methods[@]})) || methods=(vpt bitfit lora gift)
sweeps=()
for method in "${methods[@]}"; do
  gift_config "configs/vision/vtab/sweeps/vtab_$method.yaml"
  sweeps+=("$CONFIG")
done
out="results/vision/vtab"
((${#OVERRIDES[@]} == 0)) || out+="-overridden"  # a smoke run does not overwrite the real table
gift_table_overrides
gift_run "$PYTHON" -m gift_experiment_utils.domains.vision.results "${sweeps[@]}" --paper --out "$out" "${TABLE_OVERRIDES[@]}"
