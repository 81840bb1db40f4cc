#!/usr/bin/env bash
# Usage: bash scripts/visual_classification/fgvc/prepare_fgvc.sh [--dry-run] [DATA_ROOT] [DATASET ...]   (default: data, all five)
#
# Lay out the five FGVC datasets the way the VPT/TOAST splits expect, then check every folder.
#
# Each dataset folder holds the split files train.json, val.json, test.json ({relative image path: class id};
# VPT's release: https://github.com/KMnP/vpt, "Datasets preparation" → FGVC, the same files TOAST uses) and
# the images the files list, below the image folder of its FGVC_DATASETS row:
#
#   (the image paths are examples of the split files' keys; the check below reports any listed image it misses)
#   <DATA_ROOT>/fgvc/CUB_200_2011/{train,val,test}.json  images/001.Black_footed_Albatross/....jpg
#       https://data.caltech.edu/records/65de6-vp158 (CUB_200_2011.tgz)
#   <DATA_ROOT>/fgvc/nabirds/{train,val,test}.json       images/<class folder>/....jpg
#       https://dl.allaboutbirds.org/nabirds (nabirds.tar.gz, after accepting the terms)
#   <DATA_ROOT>/fgvc/OxfordFlower/{train,val,test}.json  jpg/image_00001.jpg
#       https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (102flowers.tgz)
#   <DATA_ROOT>/fgvc/Stanford-dogs/{train,val,test}.json Images/n02085620-Chihuahua/....jpg
#       http://vision.stanford.edu/aditya86/ImageNetDogs/ (images.tar)
#   <DATA_ROOT>/fgvc/Stanford-cars/{train,val,test}.json cars_train/00001.jpg, cars_test/00001.jpg
#       the original site is gone; a mirror: https://www.kaggle.com/datasets/jessicali9530/stanford-cars-dataset
#
# Labels: one mapping for all three files (sorted class ids → 0..K-1), so NABirds' sparse ids are safe.
# Another place: set data.root (holds fgvc/<folder>) or task.root (the dataset folder itself) in the config.
# DATASET: cub nabirds flowers dogs cars. A relative DATA_ROOT starts at the repository root (the script runs
# there from any directory); PYTHON, --dry-run: scripts/_lib.sh.
#
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../_lib.sh"
gift_parse "$@"
gift_no_overrides
data_root=${ARGS[0]:-data}
datasets=("${ARGS[@]:1}")
((${#datasets[@]} == 0)) || datasets=(--dataset "${datasets[@]}")
gift_run "$PYTHON" -m gift_experiment_utils.domains.vision.prepare fgvc-check --data-root "$data_root" "${datasets[@]}"
