#!/usr/bin/env bash
# usage: scripts/visual_classification/vtab/table_vtab.sh [METHOD ...]   (default: vpt bitfit lora gift)
#
# The VTAB-1k tables from finished sweeps: group means Natural (7) / Specialized (4) / Structured (8), the
# mean over all 19 tasks, Params %, parameters with and without head, peak memory, the paper's rows below;
# then one column per task.
set -euo pipefail
usage="usage: $0 [METHOD ...]"
[[ ${1:-} == -h || ${1:-} == --help ]] && { echo "$usage"; exit 0; }
cd "$(dirname "$0")/../../.."
methods=("$@")
(( ${#methods[@]} )) || methods=(vpt bitfit lora gift)
sweeps=()
for method in "${methods[@]}"; do sweeps+=("configs/vision/vtab/sweeps/vtab_$method.yaml"); done
python -m gift_experiment_utils.vision.tables "${sweeps[@]}" --paper
