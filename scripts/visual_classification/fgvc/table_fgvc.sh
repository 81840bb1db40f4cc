#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/fgvc/table_fgvc.sh [--dry-run] [METHOD ...] [-- key=value ...]
#
# The FGVC table (test top-1 per dataset, mean ± std over final seeds, average, Params, Params %, peak memory)
# from finished sweeps (default METHODs: vpt bitfit lora gift, the paper's rows), with the paper's rows below
# for comparison, into results/vision/fgvc.{md,csv,png} (fgvc-overridden.* with overrides). Sweeps run with
# overrides (sweep_fgvc.sh METHOD -- ...) need the same ones here.
#   PYTHON, --dry-run: scripts/_lib.sh. Runs from any directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
methods=("${ARGS[@]}")
((${#methods[@]})) || methods=(vpt bitfit lora gift)
sweeps=()
for method in "${methods[@]}"; do
  gift_config "configs/vision/fgvc/sweeps/fgvc_$method.yaml"
  sweeps+=("$CONFIG")
done
out="results/vision/fgvc"
((${#OVERRIDES[@]} == 0)) || out+="-overridden"  # a smoke run does not overwrite the real table
gift_table_overrides
gift_run "$PYTHON" -m gift_experiment_utils.domains.vision.results "${sweeps[@]}" --paper --out "$out" "${TABLE_OVERRIDES[@]}"
