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
gift_vision_table vtab "${ARGS[@]}"
