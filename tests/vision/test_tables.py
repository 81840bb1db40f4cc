"""The dataset tables against the paper's facts (docs/recipes.md#vision), and the VTAB label functions on known scenes."""

from __future__ import annotations

import numpy as np
import pytest

from gift_experiment_utils.domains.vision.fgvc import FGVC_DATASETS
from gift_experiment_utils.domains.vision.tfds_reader import to_rgb
from gift_experiment_utils.domains.vision.vtab import (
    VTAB_GROUPS,
    VTAB_TASKS,
    Binned,
    Feature,
    clevr_count,
    clevr_distance,
    kitti_distance,
)

# (builder, version, classes) as the paper used them.
PAPER_VTAB = {
    "cifar": ("cifar100", "3.0.2", 100),
    "caltech101": ("caltech101", "3.0.1", 102),
    "dtd": ("dtd", "3.0.1", 47),
    "oxford_flowers102": ("oxford_flowers102", "2.1.1", 102),
    "oxford_iiit_pet": ("oxford_iiit_pet", "3.2.0", 37),
    "svhn": ("svhn_cropped", "3.0.0", 10),
    "sun397": ("sun397/tfds", "4.0.0", 397),
    "patch_camelyon": ("patch_camelyon", "2.0.0", 2),
    "eurosat": ("eurosat/rgb", "2.0.0", 10),
    "resisc45": ("resisc45", "3.0.0", 45),
    "diabetic_retinopathy": ("diabetic_retinopathy_detection/btgraham-300", "3.0.0", 5),
    "clevr_count": ("clevr", "3.1.0", 8),
    "clevr_dist": ("clevr", "3.1.0", 6),
    "dmlab": ("dmlab", "2.0.1", 6),
    "kitti": ("kitti", "3.2.0", 4),
    "dsprites_loc": ("dsprites", "2.0.0", 16),
    "dsprites_ori": ("dsprites", "2.0.0", 16),
    "smallnorb_azi": ("smallnorb", "2.0.0", 18),
    "smallnorb_ele": ("smallnorb", "2.0.0", 9),
}
# Sizes of the tfds splits VTAB cuts (examples).
SPLIT_SIZES = {
    "cifar100": {"train": 50000, "test": 10000},
    "caltech101": {"train": 3060, "test": 6084},
    "dtd": {"train": 1880, "validation": 1880, "test": 1880},
    "oxford_flowers102": {"train": 1020, "validation": 1020, "test": 6149},
    "oxford_iiit_pet": {"train": 3680, "test": 3669},
    "svhn_cropped": {"train": 73257, "test": 26032},
    "sun397/tfds": {"train": 76128, "validation": 10875, "test": 21750},
    "patch_camelyon": {"train": 262144, "validation": 32768, "test": 32768},
    "eurosat/rgb": {"train": 27000},
    "resisc45": {"train": 31500},
    "diabetic_retinopathy_detection/btgraham-300": {"train": 35126, "validation": 10906, "test": 42670},
    "clevr": {"train": 70000, "validation": 15000},
    "dmlab": {"train": 65550, "validation": 22628, "test": 22735},
    "kitti": {"train": 6347, "validation": 423, "test": 711},
    "dsprites": {"train": 737280},
    "smallnorb": {"train": 24300, "test": 24300},
}


def test_fgvc_rows_are_the_papers_datasets():
    assert {k: (v.title, v.num_classes) for k, v in FGVC_DATASETS.items()} == {
        "cub": ("CUB-200-2011", 200),
        "nabirds": ("NABirds", 555),
        "flowers": ("Oxford Flowers", 102),
        "dogs": ("Stanford Dogs", 120),
        "cars": ("Stanford Cars", 196),
    }


def test_vtab_rows_builders_versions_classes_groups():
    assert {k: (v.builder, v.version, v.num_classes) for k, v in VTAB_TASKS.items()} == PAPER_VTAB
    sizes = {g: sum(row.group == g for row in VTAB_TASKS.values()) for g in VTAB_GROUPS}
    assert sizes == {"natural": 7, "specialized": 4, "structured": 8}


def _absolute(spec: str, sizes: dict[str, int]) -> list[tuple[str, int, int]]:
    from tensorflow_datasets.core.splits import ReadInstruction, SplitInfo

    infos = {name: SplitInfo(name=name, shard_lengths=[n], num_bytes=0) for name, n in sizes.items()}
    parts = []
    for part in spec.split("+"):
        for absolute in ReadInstruction.from_spec(part).to_absolute(infos):
            stop = sizes[absolute.splitname] if absolute.to is None else absolute.to
            parts.append((absolute.splitname, absolute.from_ or 0, stop))
    return parts


@pytest.mark.parametrize("name", list(VTAB_TASKS))
def test_vtab_splits_sizes_and_disjoint(name):
    row = VTAB_TASKS[name]
    sizes = SPLIT_SIZES[row.builder]
    train, val, test = (_absolute(row.split(s), sizes) for s in ("train800", "val200", "test"))
    assert train == [("train", 0, 800)]
    assert len(val) == 1 and val[0][2] - val[0][1] == 200
    assert _absolute(row.train800val200, sizes) == train + val
    ranges = [*train, *val, *test]
    for i, (split_a, start_a, stop_a) in enumerate(ranges):  # no example in two of train / val / test
        for split_b, start_b, stop_b in ranges[i + 1 :]:
            assert split_a != split_b or stop_a <= start_b or stop_b <= start_a, (name, ranges)


def test_vtab_validation_regions_follow_vtab():
    val = {name: row.val200 for name, row in VTAB_TASKS.items()}
    assert val["cifar"] == "train[45000:45200]"  # 90 % of 50,000
    assert val["caltech101"] == "train[2754:2954]"  # 90 % of 3,060
    assert val["oxford_iiit_pet"] == "train[2944:3144]"  # 80 % of 3,680
    assert val["smallnorb_azi"] == val["smallnorb_ele"] == "test[:200]"
    assert val["dtd"] == val["sun397"] == val["patch_camelyon"] == "validation[:200]"
    assert VTAB_TASKS["clevr_count"].test == "validation"  # CLEVR's own test split has no labels
    assert VTAB_TASKS["eurosat"].test == "train[21600:]"  # 60 / 20 / 20 %


@pytest.mark.parametrize(("objects", "label"), [(3, 0), (7, 4), (10, 7)])
def test_clevr_count(objects, label):
    assert clevr_count({"objects": {"size": np.zeros(objects)}}) == label


@pytest.mark.parametrize(("depths", "label"), [([7.9, 12.0], 0), ([8.2], 1), ([9.7, 11.0], 4), ([10.5, 30.0], 5)])
def test_clevr_distance_bins(depths, label):
    coords = np.array([[0.0, 0.0, d] for d in depths], dtype=np.float32)
    assert clevr_distance({"objects": {"pixel_coords": coords}}) == label


def test_kitti_closest_vehicle_distance():
    def scene(types, depths):
        location = np.array([[0.0, 0.0, d] for d in depths], dtype=np.float32).reshape(-1, 3)
        return {"objects": {"type": np.array(types), "location": location}}

    assert kitti_distance(scene([0, 3], [5.0, 2.0])) == 0  # a car at 5 m; the pedestrian at 2 m does not count
    assert kitti_distance(scene([1, 2], [30.0, 12.0])) == 1  # nearest vehicle (truck) at 12 m
    assert kitti_distance(scene([0], [25.0])) == 2
    assert kitti_distance(scene([3, 4], [4.0, 6.0])) == 3  # no vehicle
    assert kitti_distance(scene([], [])) == 3


def test_dsprites_bins_and_smallnorb_features():
    position, orientation = Binned("label_x_position", 32, 16), Binned("label_orientation", 40, 16)
    assert [position({"label_x_position": v}) for v in range(32)] == [v // 2 for v in range(32)]
    labels = [orientation({"label_orientation": v}) for v in range(40)]
    assert labels[0] == 0 and labels[39] == 15 and sorted(set(labels)) == list(range(16))
    assert VTAB_TASKS["dsprites_loc"].label == position and VTAB_TASKS["dsprites_ori"].label == orientation
    assert VTAB_TASKS["smallnorb_azi"].label == Feature("label_azimuth")
    assert VTAB_TASKS["smallnorb_ele"].label == Feature("label_elevation")


def test_to_rgb_repeats_grey_and_scales_masks():
    mask = np.array([[[0], [1]]], dtype=np.uint8)  # (1, 2, 1), dSprites-style
    image = np.asarray(to_rgb(mask, scale=255))
    assert image.shape == (1, 2, 3) and image[0, 1].tolist() == [255, 255, 255] and image[0, 0].tolist() == [0, 0, 0]
    grey = np.full((3, 4, 1), 77, dtype=np.uint8)
    assert np.asarray(to_rgb(grey)).shape == (3, 4, 3)
