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
gift_vision_table fgvc "${ARGS[@]}"
