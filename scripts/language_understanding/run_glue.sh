#!/usr/bin/env bash
# Usage: bash scripts/language_understanding/run_glue.sh [--dry-run] <base|large> [gift|baselines|full] [TASK ...] [-- key=value ...]
# GLUE, the paper's protocol for one backbone: per task, the grid on seed 42 (sweep run), the best point by the
# task's validation metric and the final seeds 42-46 (sweep select --run), then the GLUE table of the finals in
# results/glue/roberta-<backbone>-<group>.{md,csv,png} (with overrides: ...-<group>-overridden.*).
# Every hyperparameter lives in configs/glue/roberta-<backbone>/sweeps/<backbone>-<group>-<task>.yaml.
#   gift       GIFT q+v r=32, protocols paper and clean (default)
#   baselines  LoRA r=8 and BitFit, same grid and protocols
#   full       full fine-tuning (RoBERTa's recipe), all tasks in one sweep
#   TASK       any of: mnli sst2 mrpc cola qnli qqp rte stsb (default: all eight)
#   -- key=value   overrides for every run (and the table), e.g. -- train.epochs=1 data.max_train_samples=64
#   e.g. ACCELERATE_CONFIG=configs/accelerate/8gpu.yaml bash scripts/language_understanding/run_glue.sh large gift cola
#   Runs from any directory; --dry-run, ACCELERATE_CONFIG, PYTHON and paths: scripts/_lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_parse "$@"
((${#ARGS[@]} >= 1)) || gift_fail "give the backbone, base or large"
backbone=${ARGS[0]} group=${ARGS[1]:-gift}
tasks=("${ARGS[@]:2}")
((${#tasks[@]})) || tasks=(mnli sst2 mrpc cola qnli qqp rte stsb)
[[ $backbone == base || $backbone == large ]] || gift_fail "backbone '$backbone' is not base or large"
folder="configs/glue/roberta-${backbone}/sweeps"
case "$group" in
  gift | baselines) sweeps=(); for task in "${tasks[@]}"; do sweeps+=("$folder/$backbone-$group-$task.yaml"); done ;;
  full)
    ((${#ARGS[@]} <= 2)) || gift_fail "full fine-tuning runs every task in one sweep; give no TASK"
    sweeps=("$folder/$backbone-full.yaml") ;;
  *) gift_fail "group '$group' is not gift, baselines or full" ;;
esac
for i in "${!sweeps[@]}"; do
  [[ -f ${sweeps[i]} ]] || gift_fail "no sweep file ${sweeps[i]} (backbone '$backbone', tasks '${tasks[*]}')"
  sweeps[i]="$REPO/${sweeps[i]}"
done

for sweep in "${sweeps[@]}"; do
  gift_sweep "$sweep"
done
gift_table gift_experiment_utils.domains.glue.results "results/glue/roberta-$backbone-$group" "${sweeps[@]}"
