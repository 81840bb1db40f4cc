"""FGVC data on generated VPT-style folders: one class mapping, the paper's transforms, errors that name files."""

from __future__ import annotations

import json

import pytest
import torch
from vision_data import TINY_VIT, make_fgvc

from gift_experiment_utils.domains.vision.fgvc import FGVCConfig, FGVCTask, class_mapping, fgvc_sources
from gift_experiment_utils.loading import load_config


def test_one_class_mapping_across_splits(tmp_path):
    """NABirds-like sparse ids, each split missing some classes: a per-split remap would shift labels."""
    ids = [295, 296, 313, 314, 392, 393, 799, 1010]
    root = make_fgvc(
        tmp_path / "nabirds", image_dir="images", class_ids=ids, per_split={"train": 8, "val": 3, "test": 5}
    )
    entries = {s: json.loads((root / f"{s}.json").read_text()) for s in ("train", "val", "test")}
    mapping = class_mapping(entries)
    assert mapping == {raw: i for i, raw in enumerate(ids)}  # numeric order, over the union of all splits
    # The row says 555 classes; with 8 the folder is rejected, naming the count.
    with pytest.raises(ValueError, match="list 8 classes, NABirds has 555"):
        fgvc_sources(FGVCConfig(dataset="nabirds", root=str(root)), "unused")


def test_labels_follow_the_global_mapping(fgvc_cub):
    sources = fgvc_sources(FGVCConfig(dataset="cub", root=str(fgvc_cub)), "unused")
    for split, source in sources.items():
        entries = json.loads((fgvc_cub / f"{split}.json").read_text())
        for (_, relative, label), (path, raw) in zip(source.items, entries.items()):
            assert relative == path and label == raw - 1  # CUB ids 1..200 → 0..199 in every split
    record = sources["val"].record(0)
    assert record.image.mode == "RGB" and record.identifier.endswith(".jpg")


def test_missing_split_file_and_image_are_named(tmp_path, fgvc_cub):
    root = make_fgvc(tmp_path / "cars", image_dir="", class_ids=list(range(196)), per_split={"train": 196, "val": 2})
    with pytest.raises(FileNotFoundError, match=r"cars/test\.json"):
        fgvc_sources(FGVCConfig(dataset="cars", root=str(root)), "unused")
    (root / "test.json").write_text(json.dumps({"gone/missing.jpg": 3}))
    with pytest.raises(FileNotFoundError, match=r"gone/missing\.jpg"):
        fgvc_sources(FGVCConfig(dataset="cars", root=str(root)), "unused")
    with pytest.raises(FileNotFoundError, match="Stanford Dogs"):
        fgvc_sources(FGVCConfig(dataset="dogs"), str(tmp_path))  # default folder <data.root>/fgvc/Stanford-dogs


def test_transforms_and_collate(fgvc_cub):
    overrides = [*TINY_VIT, f"task.root={fgvc_cub}"]
    config = load_config("configs/vision/fgvc/gift.yaml", overrides)
    splits = FGVCTask(config).build_datasets()
    torch.manual_seed(0)
    train_a = splits.train[0]["pixel_values"]
    train_b = splits.train[0]["pixel_values"]
    test_a, test_b = splits.test[0]["pixel_values"], splits.test[0]["pixel_values"]
    assert train_a.shape == test_a.shape == (3, 32, 32)
    assert not torch.equal(train_a, train_b)  # random crop / flip
    assert torch.equal(test_a, test_b)  # centre crop
    assert float(test_a.min()) >= -1.0 and float(test_a.max()) <= 1.0  # mean = std = 0.5
    batch = FGVCTask(config).collate([splits.train[0], splits.train[1]], "train")
    assert batch["pixel_values"].shape == (2, 3, 32, 32) and batch["labels"].dtype == torch.long


def test_paper_transforms_at_224():
    from gift_experiment_utils.domains.vision.common import crop_transform, resize_for

    assert resize_for(224) == 256
    train = [
        type(t).__name__
        for t in crop_transform("vit_base_patch16_224.augreg_in21k", image_size=224, resize=256, train=True).transforms
    ]
    assert train == ["Resize", "RandomCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"]
    evaluation = crop_transform("vit_base_patch16_224.augreg_in21k", image_size=224, resize=256, train=False)
    assert [type(t).__name__ for t in evaluation.transforms] == ["Resize", "CenterCrop", "ToTensor", "Normalize"]
    assert evaluation.transforms[0].size == 256 and evaluation.transforms[-1].mean == (0.5, 0.5, 0.5)
