#!/usr/bin/env bash
# Usage: bash scripts/language_modeling/prepare_data.sh [--dry-run] [DIR] [--check-only] [--force]
# Build data/language_data (or DIR) from the public sources the paper used, then check fields and counts.
#   DIR           target folder (default: $GIFT_LANGUAGE_DATA, else data/language_data); a relative DIR starts
#                 at the repository root, where the script runs from any directory (as the runs do)
#   --check-only  only check an existing folder (what the tests run on fixtures)
#   --force       download again even where a file is already present and well-formed
#   --dry-run     print the downloads and copies still to do, and the check (PYTHON: scripts/_lib.sh)
# Sources: the LLM-Adapters fork LoReFT and GIFT used (github.com/aryamanarora/LLM-Adapters: Commonsense170k,
# Math10K, Alpaca-cleaned and the 15 test sets), github.com/frankaging/ultrafeedback-dataset (train.json, git-lfs),
# HF openai/gsm8k (main) and tatsu-lab/alpaca_eval. Needs git, git-lfs and network; re-runnable.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
gift_parse "$@"
gift_no_overrides

ROOT="${GIFT_LANGUAGE_DATA:-data/language_data}"
CHECK_ONLY=0
FORCE=0
for arg in "${ARGS[@]}"; do
  case "$arg" in
    --check-only) CHECK_ONLY=1 ;;
    --force) FORCE=1 ;;
    -*) gift_fail "unknown option $arg" ;;
    *) ROOT="$arg" ;;
  esac
done
CHECK=("$PYTHON" -m gift_experiment_utils.domains.language_modeling.prepare check "$ROOT")

if [[ "$CHECK_ONLY" == 1 ]]; then
  gift_run "${CHECK[@]}"
  exit 0
fi

have() {  # a file counts as present once it parses and has its fields (counts are checked at the end)
  [[ "$FORCE" == 0 ]] && "$PYTHON" - "$ROOT" "$1" <<'PYEOF' >/dev/null 2>&1
import sys
from pathlib import Path
from gift_experiment_utils.domains.language_modeling.prepare import check_file
problem = check_file(Path(sys.argv[1]), sys.argv[2])
sys.exit(0 if problem is None or "examples" in problem else 1)
PYEOF
}

gift_run mkdir -p "$ROOT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

declare -A CLONED=()
clone() {  # clone once per run, record the commit for provenance
  local url="$1" dest="$WORK/$2"
  [[ -z ${CLONED[$2]:-} ]] || return 0
  CLONED[$2]=1
  gift_run git clone --quiet --depth=1 "$url" "$dest"
  ((DRY_RUN)) || echo "$url $(git -C "$dest" rev-parse HEAD)" >> "$ROOT/SOURCES.txt"
}

from_adapters() {  # from_adapters FILE TARGET: FILE of the LLM-Adapters clone to ROOT/TARGET, unless present
  have "$2" && return 0
  clone https://github.com/aryamanarora/LLM-Adapters.git LLM-Adapters
  gift_run mkdir -p "$ROOT/${2%/*}"
  gift_run cp "$WORK/LLM-Adapters/$1" "$ROOT/$2"
}
for name in boolq piqa social_i_qa hellaswag winogrande ARC-Easy ARC-Challenge openbookqa \
            MultiArith gsm8k SVAMP mawps AddSub AQuA SingleEq; do
  from_adapters "dataset/$name/test.json" "$name/test.json"
done
for name in commonsense_170k math_10k alpaca_data_cleaned; do
  from_adapters "ft-training_set/$name.json" "$name/train.json"
done
if ! have ultrafeedback/train.json; then
  clone https://github.com/frankaging/ultrafeedback-dataset.git ultrafeedback-dataset
  gift_run git -C "$WORK/ultrafeedback-dataset" lfs pull
  gift_run mkdir -p "$ROOT/ultrafeedback"
  gift_run cp "$WORK/ultrafeedback-dataset/train.json" "$ROOT/ultrafeedback/train.json"
fi
if ! have gsm8k_main/train.json || ! have gsm8k_main/test.json; then
  gift_run "$PYTHON" -m gift_experiment_utils.domains.language_modeling.prepare gsm8k "$ROOT"
fi
if ! have alpaca_eval/eval.json; then
  gift_run "$PYTHON" -m gift_experiment_utils.domains.language_modeling.prepare alpaca-eval "$ROOT"
fi

gift_run "${CHECK[@]}"
