#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/vtab/prepare_vtab.sh [--dry-run] [DATA_DIR] [TASK ...]   (default: data/tfds, all 19)
#
# 1. tfds download_and_prepare of the 16 builders behind the 19 VTAB-1k tasks, at the paper's versions,
#    as array_record (random access: training reads one example at a time) into DATA_DIR, the tfds data_dir
#    (= task.data_dir; the default data/tfds is <data.root>/tfds). TFRecord data prepared earlier works too.
#    Downloads tfds cannot do alone (it says which file it wants where): MANUAL_DIR=<folder> holding
#      diabetic_retinopathy_detection  Kaggle "diabetic-retinopathy-detection": train.zip.*, test.zip.*, trainLabels.csv
#      resisc45                        NWPU-RESISC45.rar (link in the tfds catalogue page of resisc45)
#    Sizes: clevr ~18 GB, diabetic_retinopathy ~90 GB of archives, patch_camelyon ~7 GB, sun397 ~37 GB.
# 2. Versions: tensorflow-datasets 4.9.10 (this repository's pin) builds caltech101 only at 3.0.2,
#    oxford_iiit_pet at 4.0.0 and svhn_cropped at 3.1.0, not at the paper's 3.0.1 / 3.2.0 / 3.0.0. Either
#    prepare those three with an older tensorflow-datasets in a separate environment (prepared data of any
#    version loads here), or prepare and read the newer ones (differs from the paper):
#      TFDS_VERSIONS="caltech101=3.0.2 oxford_iiit_pet=4.0.0 svhn=3.1.0" prepare_vtab.sh
#      and task.tfds_versions: {caltech101: 3.0.2, oxford_iiit_pet: 4.0.0, svhn: 3.1.0} in configs/vision/vtab/_base.yaml
# 3. vtab-check: each task's train800 / val200 / train800val200 / test, and one decoded example.
# Optional: EXPORT=data/vtab-1k also writes the pre-extracted folder layout (images + the four lists) for
#    task.source=folder. Already have that layout (e.g. NOAH's vtab-1k)? Check it alone:
#      python -m gift_experiment_utils.domains.vision.prepare vtab-check --source folder --data-dir data/vtab-1k
# env: MANUAL_DIR, TFDS_VERSIONS, EXPORT (above); PYTHON, --dry-run: scripts/_lib.sh. A relative DATA_DIR (and
# MANUAL_DIR, EXPORT) starts at the repository root: the script runs there from any directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
gift_no_overrides
data_dir=${ARGS[0]:-data/tfds}
tasks=("${ARGS[@]:1}")
((${#tasks[@]} == 0)) || tasks=(--task "${tasks[@]}")
versions=()
for pair in ${TFDS_VERSIONS:-}; do versions+=(--tfds-version "$pair"); done
manual=()
[[ -z ${MANUAL_DIR:-} ]] || manual=(--manual-dir "$MANUAL_DIR")
prepare=("$PYTHON" -m gift_experiment_utils.domains.vision.prepare)

gift_run "${prepare[@]}" vtab-tfds --data-dir "$data_dir" "${tasks[@]}" "${versions[@]}" "${manual[@]}"
gift_run "${prepare[@]}" vtab-check --data-dir "$data_dir" "${tasks[@]}" "${versions[@]}"
if [[ -n ${EXPORT:-} ]]; then
  gift_run "${prepare[@]}" vtab-export --data-dir "$data_dir" --out "$EXPORT" "${tasks[@]}" "${versions[@]}"
fi
