#!/usr/bin/env bash
# GLUE, the paper's protocol for one backbone: per task, the grid on seed 42 (sweep run), the best point by the
# task's validation metric and the final seeds 42-46 (sweep select --run), then the GLUE table of the finals.
# Every hyperparameter lives in configs/glue/roberta-<backbone>/sweeps/<backbone>-<group>-<task>.yaml.
#   ACCELERATE_CONFIG   accelerate launch config (default configs/accelerate/1gpu.yaml; 8gpu.yaml etc. for DDP)
#   PYTHON              interpreter with the repository installed (default: python)
set -euo pipefail
usage="usage: $0 <base|large> [gift|baselines|full] [task ...]
  gift       GIFT q+v r=32, protocols paper and clean (default)
  baselines  LoRA r=8 and BitFit, same grid and protocols
  full       full fine-tuning (RoBERTa's recipe), all tasks in one sweep
  tasks      any of: mnli sst2 mrpc cola qnli qqp rte stsb (default: all eight)"
for arg in "$@"; do [[ "$arg" == "-h" || "$arg" == "--help" ]] && { echo "$usage"; exit 0; }; done
[[ $# -ge 1 ]] || { echo "$usage" >&2; exit 2; }
backbone="$1"; group="${2:-gift}"; shift $(( $# < 2 ? $# : 2 ))
tasks=("$@"); [[ ${#tasks[@]} -gt 0 ]] || tasks=(mnli sst2 mrpc cola qnli qqp rte stsb)
cd "$(dirname "$0")/../.."
folder="configs/glue/roberta-${backbone}/sweeps"
launcher="accelerate launch --config_file ${ACCELERATE_CONFIG:-configs/accelerate/1gpu.yaml} -m gift_experiment_utils.run"
python="${PYTHON:-python}"

case "$group" in
  gift|baselines) sweeps=(); for task in "${tasks[@]}"; do sweeps+=("${folder}/${backbone}-${group}-${task}.yaml"); done ;;
  full) sweeps=("${folder}/${backbone}-full.yaml") ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
for sweep in "${sweeps[@]}"; do
  [[ -f "$sweep" ]] || { echo "error: no sweep file $sweep (backbone '$backbone', task list '${tasks[*]}')" >&2; exit 2; }
done

for sweep in "${sweeps[@]}"; do
  "$python" -m gift_experiment_utils.sweep run "$sweep" --launcher "$launcher"
  "$python" -m gift_experiment_utils.sweep select "$sweep" --run --launcher "$launcher"
done
"$python" -m gift_experiment_utils.glue.table "${sweeps[@]}" --out "results/glue/roberta-${backbone}-${group}"
