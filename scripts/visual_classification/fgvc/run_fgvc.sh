#!/usr/bin/env bash
# usage: scripts/visual_classification/fgvc/run_fgvc.sh METHOD [SEED ...] [-- key=value ...]
#
# FGVC runs of one method on every dataset and seed, with the lr / weight decay of its config
# (configs/vision/fgvc/METHOD.yaml). For the paper's protocol (grid, winner per dataset, finals) use
# sweep_fgvc.sh. Extra dotted overrides after `--` go to every run (e.g. task.weights_file=...).
#
#   env: ACCELERATE_CONFIG (default configs/accelerate/1gpu.yaml), DATASETS (default: every FGVC_DATASETS row)
set -euo pipefail
usage="usage: $0 METHOD [SEED ...] [-- key=value ...]   (METHOD: a file of configs/vision/fgvc/, e.g. gift)"
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || { echo "$usage" >&2; exit 2; }
cd "$(dirname "$0")/../../.."
config=configs/vision/fgvc/$1.yaml
[[ -f $config ]] || { echo "$config does not exist. $usage" >&2; exit 2; }
shift
seeds=()
while [[ $# -gt 0 && $1 != -- ]]; do seeds+=("$1"); shift; done
[[ $# -gt 0 ]] && shift  # drop the "--"
(( ${#seeds[@]} )) || seeds=(42)
datasets=${DATASETS:-$(python -c 'from gift_experiment_utils.vision.fgvc import FGVC_DATASETS; print(*FGVC_DATASETS)')}
for dataset in $datasets; do
  for seed in "${seeds[@]}"; do
    accelerate launch --config_file "${ACCELERATE_CONFIG:-configs/accelerate/1gpu.yaml}" \
      -m gift_experiment_utils.run --config "$config" "task.dataset=$dataset" "experiment.seed=$seed" "$@"
  done
done
