#!/usr/bin/env bash
# usage: scripts/visual_classification/fgvc/prepare_fgvc.sh [DATA_ROOT] [DATASET ...]     (default: data, all five)
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
#
set -euo pipefail
usage="usage: $0 [DATA_ROOT] [DATASET ...]   (DATASET: cub nabirds flowers dogs cars)"
[[ ${1:-} == -h || ${1:-} == --help ]] && { echo "$usage"; exit 0; }
cd "$(dirname "$0")/../../.."
data_root=${1:-data}
shift $(( $# > 0 ? 1 : 0 ))
datasets=("$@")
if (( ${#datasets[@]} )); then
  python -m gift_experiment_utils.vision.prepare fgvc-check --data-root "$data_root" --dataset "${datasets[@]}"
else
  python -m gift_experiment_utils.vision.prepare fgvc-check --data-root "$data_root"
fi
