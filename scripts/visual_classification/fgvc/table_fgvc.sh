#!/usr/bin/env bash
# usage: scripts/visual_classification/fgvc/table_fgvc.sh [METHOD ...]   (default: vpt bitfit lora gift, the paper's rows)
#
# The FGVC table (test top-1 per dataset, average, Params %, parameters with and without head, peak memory)
# from finished sweeps, with the paper's rows below for comparison.
#
set -euo pipefail
usage="usage: $0 [METHOD ...]"
[[ ${1:-} == -h || ${1:-} == --help ]] && { echo "$usage"; exit 0; }
cd "$(dirname "$0")/../../.."
methods=("$@")
(( ${#methods[@]} )) || methods=(vpt bitfit lora gift)
sweeps=()
for method in "${methods[@]}"; do sweeps+=("configs/vision/fgvc/sweeps/fgvc_$method.yaml"); done
python -m gift_experiment_utils.vision.tables "${sweeps[@]}" --paper
