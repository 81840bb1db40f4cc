"""FGVC: five fine-grained datasets with the VPT/TOAST splits, one table row each.

    experiment.domain: vision.fgvc       task.dataset: cub | nabirds | flowers | dogs | cars

A dataset folder (`task.root`, default `<data.root>/fgvc/<folder>`) holds the split files `train.json`,
`val.json`, `test.json` — each {relative image path: class id} — and the images under `image_dir`:

    CUB_200_2011/{train,val,test}.json   images/001.Black_footed_Albatross/....jpg

Class ids are mapped to 0..K-1 once, from the sorted union of the ids of all three files, so every split
uses the same mapping (the original remapped per split, which shifted NABirds' validation labels).
Transforms (paper / VPT): train Resize 256 → RandomCrop 224 → HFlip, eval Resize 256 → CenterCrop 224.
Sources and preparation: scripts/visual_classification/fgvc/prepare_fgvc.sh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...task import Splits
from .backbone import BackboneOptions
from .common import ImageClassificationTask, ImageDataset, ImageRecord, crop_transform, resize_for


@dataclass(frozen=True)
class FGVCDataset:
    title: str  # as in the paper's table
    folder: str  # default folder name under <data.root>/fgvc/ (VPT's names)
    image_dir: str  # images live under <root>/<image_dir>/<relative path of the split file>
    num_classes: int
    url: str  # where the images come from (the split JSON files: VPT's release, see prepare_fgvc.sh)


FGVC_DATASETS: dict[str, FGVCDataset] = {
    "cub": FGVCDataset("CUB-200-2011", "CUB_200_2011", "images", 200, "https://data.caltech.edu/records/65de6-vp158"),
    "nabirds": FGVCDataset("NABirds", "nabirds", "images", 555, "https://dl.allaboutbirds.org/nabirds"),
    "flowers": FGVCDataset(
        "Oxford Flowers", "OxfordFlower", "", 102, "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
    ),
    "dogs": FGVCDataset(
        "Stanford Dogs", "Stanford-dogs", "Images", 120, "http://vision.stanford.edu/aditya86/ImageNetDogs/"
    ),
    "cars": FGVCDataset(
        "Stanford Cars", "Stanford-cars", "", 196, "https://www.kaggle.com/datasets/jessicali9530/stanford-cars-dataset"
    ),
}
SPLITS = ("train", "val", "test")
DatasetName = Literal[tuple(FGVC_DATASETS)]  # the loader lists these (and the closest) on a typo


@dataclass
class FGVCConfig(BackboneOptions):
    dataset: DatasetName = "cub"
    root: str | None = None  # the dataset folder; None: <data.root>/fgvc/<FGVC_DATASETS[dataset].folder>
    resize_size: int | None = None  # None: 256 at image_size 224 (256/224 × image_size)
    check_images: bool = True  # stat every listed image before training (a missing one is an error naming it)


def dataset_root(row: FGVCDataset, root: str | None, data_root: str) -> Path:
    return Path(root).expanduser() if root else Path(data_root) / "fgvc" / row.folder


def read_split(root: Path, split: str) -> dict[str, int | str]:
    path = root / f"{split}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"FGVC split file {path} does not exist; see "
            "scripts/visual_classification/fgvc/prepare_fgvc.sh for the expected layout."
        )
    entries = json.loads(path.read_text())
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{path} must hold a non-empty JSON object {{relative image path: class id}}.")
    return entries


def class_mapping(splits: dict[str, dict[str, int | str]]) -> dict[int | str, int]:
    """One map raw class id → 0..K-1 for every split: the sorted union of all ids (numeric order if numeric)."""
    ids = {value for entries in splits.values() for value in entries.values()}
    numeric = all(isinstance(v, int) or (isinstance(v, str) and v.lstrip("-").isdigit()) for v in ids)
    ordered = sorted(ids, key=(lambda v: (int(v), str(v))) if numeric else str)
    return {raw: index for index, raw in enumerate(ordered)}


class FGVCImages:
    """A split of an FGVC dataset as an image source (see common.ImageSource)."""

    def __init__(self, image_dir: Path, entries: dict[str, int | str], mapping: dict, *, check: bool) -> None:
        self.items = [(image_dir / path, path, mapping[raw]) for path, raw in entries.items()]
        self.num_classes = len(mapping)
        if check:
            missing = [str(full) for full, _, _ in self.items if not full.is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} listed image(s) missing, e.g. {missing[:3]}; check task.root "
                    "and the layout printed by prepare_fgvc.sh."
                )

    def __len__(self) -> int:
        return len(self.items)

    def record(self, index: int) -> ImageRecord:
        from PIL import Image

        full, relative, label = self.items[index]
        if not full.is_file():
            raise FileNotFoundError(f"Image {full} does not exist.")
        with Image.open(full) as image:
            return ImageRecord(image.convert("RGB"), label, relative)


def fgvc_sources(config: FGVCConfig, data_root: str, splits: tuple[str, ...] = SPLITS) -> dict[str, FGVCImages]:
    """The image sources of `splits`; the class mapping always comes from all three split files."""
    row = FGVC_DATASETS[config.dataset]
    root = dataset_root(row, config.root, data_root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"FGVC dataset folder {root} ({row.title}) does not exist; set task.root or "
            "data.root (see scripts/visual_classification/fgvc/prepare_fgvc.sh)."
        )
    entries = {split: read_split(root, split) for split in SPLITS}
    mapping = class_mapping(entries)
    if len(mapping) != row.num_classes:
        raise ValueError(
            f"{root}: the split files list {len(mapping)} classes, {row.title} has {row.num_classes}; "
            "is task.dataset right for this folder?"
        )
    image_dir = root / row.image_dir
    return {s: FGVCImages(image_dir, entries[s], mapping, check=config.check_images) for s in splits}


class FGVCTask(ImageClassificationTask):
    Config = FGVCConfig
    task_config: FGVCConfig

    def tag(self) -> str:
        return self.task_config.dataset

    @property
    def num_classes(self) -> int:
        return FGVC_DATASETS[self.task_config.dataset].num_classes

    def build_datasets(self) -> Splits:
        cfg = self.task_config
        sources = fgvc_sources(cfg, self.config.data.root)
        resize = cfg.resize_size or resize_for(cfg.image_size)

        def transform(train: bool):
            return crop_transform(self.model_name, image_size=cfg.image_size, resize=resize, train=train)

        return Splits(
            train=ImageDataset(sources["train"], transform(train=True)),
            val=ImageDataset(sources["val"], transform(train=False)),
            test=ImageDataset(sources["test"], transform(train=False)),
        )


TASK = FGVCTask
