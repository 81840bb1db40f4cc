#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/vtab/run_vtab.sh [--dry-run] METHOD [SEED ...] [-- key=value ...]
#
# Final VTAB-1k runs (train800val200 → test) of one method on every task and seed (default 42), with the
# lr / weight decay of configs/vision/vtab/METHOD.yaml (METHOD one of gift lora lora_qkv bitfit vpt full
# linear). For the paper's protocol (grid on train800 → val200, winner per task, finals) use sweep_vtab.sh.
# Overrides after -- go to every run (e.g. -- task.source=folder).
#
#   env: TASKS (default: every VTAB_TASKS row); ACCELERATE_CONFIG, PYTHON, --dry-run: scripts/_lib.sh
#   Runs from any directory (relative paths start at the repository root).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
((${#ARGS[@]} >= 1)) || gift_fail "give METHOD"
gift_config "configs/vision/vtab/${ARGS[0]}.yaml"
gift_seeds 42 "${ARGS[@]:1}"
tasks=${TASKS:-$("$PYTHON" -c 'from gift_experiment_utils.domains.vision.vtab import VTAB_TASKS; print(*VTAB_TASKS)')}

for task in $tasks; do
  gift_seed_runs "task.name=$task" task.protocol=final
done
