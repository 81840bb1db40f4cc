#!/usr/bin/env bash
# usage: scripts/visual_classification/fgvc/sweep_fgvc.sh METHOD
#
# The paper's protocol for one method on FGVC: every grid point of configs/vision/fgvc/sweeps/fgvc_METHOD.yaml
# on seed 42 (finished runs are skipped, interrupted ones resume), the winner per dataset by validation
# top-1, then the final seeds of each winner. Each run is one `accelerate launch`.
#
#   env: ACCELERATE_CONFIG (default configs/accelerate/1gpu.yaml)
# On a cluster, print the launch lines instead and submit them:
#   python -m gift_experiment_utils.sweep run configs/vision/fgvc/sweeps/fgvc_gift.yaml --print --launcher "..."
set -euo pipefail
usage="usage: $0 METHOD   (METHOD: gift lora lora_qkv bitfit vpt full linear)"
[[ $# -eq 1 && $1 != -h && $1 != --help ]] || { echo "$usage" >&2; exit 2; }
cd "$(dirname "$0")/../../.."
sweep=configs/vision/fgvc/sweeps/fgvc_$1.yaml
[[ -f $sweep ]] || { echo "$sweep does not exist. $usage" >&2; exit 2; }
launcher="accelerate launch --config_file ${ACCELERATE_CONFIG:-configs/accelerate/1gpu.yaml} -m gift_experiment_utils.run"
python -m gift_experiment_utils.sweep run "$sweep" --launcher "$launcher"
python -m gift_experiment_utils.sweep select "$sweep" --run --launcher "$launcher"
