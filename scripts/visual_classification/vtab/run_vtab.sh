#!/usr/bin/env bash
# usage: scripts/visual_classification/vtab/run_vtab.sh METHOD [SEED ...] [-- key=value ...]
#
# Final VTAB-1k runs (train800val200 → test) of one method on every task and seed, with the lr / weight
# decay of configs/vision/vtab/METHOD.yaml. For the paper's protocol (grid on train800 → val200, winner per
# task, finals) use sweep_vtab.sh. Overrides after `--` go to every run (e.g. task.source=folder).
#   env: ACCELERATE_CONFIG (default configs/accelerate/1gpu.yaml), TASKS (default: every VTAB_TASKS row)
set -euo pipefail
usage="usage: $0 METHOD [SEED ...] [-- key=value ...]   (METHOD: a file of configs/vision/vtab/, e.g. gift)"
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || { echo "$usage" >&2; exit 2; }
cd "$(dirname "$0")/../../.."
config=configs/vision/vtab/$1.yaml
[[ -f $config ]] || { echo "$config does not exist. $usage" >&2; exit 2; }
shift
seeds=()
while [[ $# -gt 0 && $1 != -- ]]; do seeds+=("$1"); shift; done
[[ $# -gt 0 ]] && shift  # drop the "--"
(( ${#seeds[@]} )) || seeds=(42)
tasks=${TASKS:-$(python -c 'from gift_experiment_utils.vision.vtab import VTAB_TASKS; print(*VTAB_TASKS)')}
for task in $tasks; do
  for seed in "${seeds[@]}"; do
    accelerate launch --config_file "${ACCELERATE_CONFIG:-configs/accelerate/1gpu.yaml}" \
      -m gift_experiment_utils.run --config "$config" "task.name=$task" task.protocol=final "experiment.seed=$seed" "$@"
  done
done
