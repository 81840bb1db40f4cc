"""VTAB-1k: 19 tasks, one table row each, read through tensorflow-datasets or a pre-extracted folder.

    experiment.domain: vision.vtab       task.name: cifar | caltech101 | ... | smallnorb_ele

Splits (as in VTAB's task_adaptation code): train800 = the first 800 training examples; val200 = 200 from
the region VTAB holds out for validation (cifar train[45000:45200], a `validation` split's first 200,
smallnorb test[:200], ...); the final runs train on train800val200 and test on the VTAB test region.
`task.protocol`: tune = train800 → val200 (sweeps); final = train800val200 → test (no validation split).
Images are resized to 224 × 224 with no augmentation; grey images are repeated to RGB.

`task.source`:
  tfds    the tfds builders at the paper's versions (`task.data_dir` = the tfds data_dir). Read by index,
          one example at a time (never the whole split in memory): through `tfds.data_source` when the
          dataset was prepared as array_record, else through an index of the TFRecord shards. Decoding is
          tfds' numpy path, so TensorFlow itself is not imported while training.
  folder  the widely shared pre-extracted "vtab-1k" layout: <data_dir>/<task>/ with images and the lists
          train800.txt, val200.txt, train800val200.txt, test.txt ("<relative image path> <label>" per line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...task import Splits
from .backbone import BackboneOptions
from .common import ImageClassificationTask, ImageDataset, ImageRecord, resize_transform
from .tfds_reader import load_builder, open_tfds_split, to_rgb


# ---------------------------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class Feature:
    """The label is an integer feature of the example."""

    key: str = "label"

    def __call__(self, example: dict[str, Any]) -> int:
        return int(example[self.key])


@dataclass(frozen=True)
class Binned:
    """VTAB's dSprites labels: a class feature with `original` values cut into `bins` equal ranges."""

    key: str
    original: int  # classes of the tfds feature (x position 32, orientation 40)
    bins: int

    def __call__(self, example: dict[str, Any]) -> int:
        return int(np.floor(float(example[self.key]) / (self.original / self.bins)))


def _last_threshold_below(thresholds: tuple[float, ...], value: float) -> int:
    """max{i : thresholds[i] < value}, VTAB's `reduce_max(where(thrs - value < 0))`; -1 when none is below."""
    below = [i for i, t in enumerate(thresholds) if t < value]
    return max(below) if below else -1


def clevr_count(example: dict[str, Any]) -> int:
    """count_all: number of objects − 3 (CLEVR scenes hold 3–10 objects) → 8 classes."""
    return len(example["objects"]["size"]) - 3


CLEVR_DISTANCE_THRESHOLDS = (0.0, 8.0, 8.5, 9.0, 9.5, 10.0, 100.0)  # → 6 classes, roughly balanced (VTAB)


def clevr_distance(example: dict[str, Any]) -> int:
    """closest_object_distance: depth (pixel_coords z) of the nearest object, in 6 bins."""
    depth = float(np.min(np.asarray(example["objects"]["pixel_coords"])[:, 2]))
    return _last_threshold_below(CLEVR_DISTANCE_THRESHOLDS, depth)


KITTI_DISTANCE_THRESHOLDS = (-100.0, 8.0, 20.0, 999.0)  # < 8 m, 8–20 m, > 20 m, no vehicle (VTAB)
KITTI_VEHICLE_TYPES = 3  # object types 0, 1, 2 = Car, Van, Truck


def kitti_distance(example: dict[str, Any]) -> int:
    """closest_vehicle_distance: z (metres) of the nearest car/van/truck, 1000 when there is none → 4 classes."""
    objects = example["objects"]
    vehicles = np.asarray(objects["type"]) < KITTI_VEHICLE_TYPES
    depths = np.asarray(objects["location"]).reshape(-1, 3)[vehicles, 2]
    nearest = float(np.min(depths, initial=1000.0))
    return _last_threshold_below(KITTI_DISTANCE_THRESHOLDS, nearest)


# ---------------------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class VTABRow:
    group: Literal["natural", "specialized", "structured"]
    builder: str  # tfds name[/config]
    version: str  # the version the paper used
    num_classes: int
    val200: str  # tfds split spec of the 200 validation examples
    test: str  # tfds split spec of the test region
    label: Callable[[dict[str, Any]], int] = field(default_factory=Feature)
    train800: str = "train[:800]"
    pixel_scale: int = 1  # dSprites stores 0/1 pixels: × 255

    @property
    def train800val200(self) -> str:
        return f"{self.train800}+{self.val200}"

    def split(self, name: str) -> str:
        """The tfds split spec of VTAB split `name` (one of VTAB_SPLITS, each a field of this row)."""
        return getattr(self, name)


_DSPRITES = dict(
    group="structured",
    builder="dsprites",
    version="2.0.0",
    num_classes=16,
    val200="train[589824:590024]",
    test="train[663552:]",
)  # 80 / 10 / 10 % of 737,280
_SMALLNORB = dict(group="structured", builder="smallnorb", version="2.0.0", val200="test[:200]", test="test[50%:]")
_CLEVR = dict(
    group="structured", builder="clevr", version="3.1.0", val200="train[63000:63200]", test="validation"
)  # CLEVR's test split has no labels: 90 % of train, then validation as test

# Keys are the folder names of the pre-extracted layout. Validation regions: VTAB's 90/10 (cifar, caltech,
# svhn, clevr), 80/20 (pets) or 60/20/20 (eurosat, resisc45) cut of `train`, else a `validation` split.
VTAB_TASKS: dict[str, VTABRow] = {
    "cifar": VTABRow("natural", "cifar100", "3.0.2", 100, "train[45000:45200]", "test"),
    "caltech101": VTABRow("natural", "caltech101", "3.0.1", 102, "train[2754:2954]", "test"),
    "dtd": VTABRow("natural", "dtd", "3.0.1", 47, "validation[:200]", "test"),
    "oxford_flowers102": VTABRow("natural", "oxford_flowers102", "2.1.1", 102, "validation[:200]", "test"),
    "oxford_iiit_pet": VTABRow("natural", "oxford_iiit_pet", "3.2.0", 37, "train[2944:3144]", "test"),
    "svhn": VTABRow("natural", "svhn_cropped", "3.0.0", 10, "train[65931:66131]", "test"),
    "sun397": VTABRow("natural", "sun397/tfds", "4.0.0", 397, "validation[:200]", "test"),
    "patch_camelyon": VTABRow("specialized", "patch_camelyon", "2.0.0", 2, "validation[:200]", "test"),
    "eurosat": VTABRow("specialized", "eurosat/rgb", "2.0.0", 10, "train[16200:16400]", "train[21600:]"),
    "resisc45": VTABRow("specialized", "resisc45", "3.0.0", 45, "train[18900:19100]", "train[25200:]"),
    "diabetic_retinopathy": VTABRow(
        "specialized", "diabetic_retinopathy_detection/btgraham-300", "3.0.0", 5, "validation[:200]", "test"
    ),
    "clevr_count": VTABRow(num_classes=8, label=clevr_count, **_CLEVR),
    "clevr_dist": VTABRow(num_classes=6, label=clevr_distance, **_CLEVR),
    "dmlab": VTABRow("structured", "dmlab", "2.0.1", 6, "validation[:200]", "test"),
    "kitti": VTABRow("structured", "kitti", "3.2.0", 4, "validation[:200]", "test", label=kitti_distance),
    "dsprites_loc": VTABRow(label=Binned("label_x_position", 32, 16), pixel_scale=255, **_DSPRITES),
    "dsprites_ori": VTABRow(label=Binned("label_orientation", 40, 16), pixel_scale=255, **_DSPRITES),
    "smallnorb_azi": VTABRow(num_classes=18, label=Feature("label_azimuth"), **_SMALLNORB),
    "smallnorb_ele": VTABRow(num_classes=9, label=Feature("label_elevation"), **_SMALLNORB),
}
VTAB_GROUPS = ("natural", "specialized", "structured")  # 7, 4 and 8 tasks
VTAB_SPLITS = ("train800", "val200", "train800val200", "test")
TaskName = Literal[tuple(VTAB_TASKS)]


@dataclass
class VTABConfig(BackboneOptions):
    name: TaskName = "cifar"
    protocol: Literal["tune", "final"] = "tune"  # tune: train800 → val200; final: train800val200 → test
    source: Literal["tfds", "folder"] = "tfds"
    data_dir: str | None = None  # tfds data_dir, or the folder holding <task>/; None: <data.root>/tfds | vtab-1k
    # task name → tfds version to read instead of the row's (the paper's), e.g. {caltech101: 3.0.2} where the
    # installed tensorflow-datasets cannot build the paper's version and the data was prepared at another one
    tfds_versions: dict[str, str] = field(default_factory=dict)


def protocol_splits(protocol: str) -> dict[str, str | None]:
    """Engine split → VTAB split."""
    if protocol == "tune":
        return {"train": "train800", "val": "val200", "test": None}
    return {"train": "train800val200", "val": None, "test": "test"}


# ---------------------------------------------------------------------------------------------- tfds
class TfdsImages:
    """One VTAB split read from tfds by index (see common.ImageSource); opened lazily in each process."""

    def __init__(self, name: str, split: str, *, data_dir: str | None, version: str | None = None) -> None:
        self.name, self.split, self.row = name, split, VTAB_TASKS[name]
        self.data_dir, self.version = data_dir, version or self.row.version
        self.num_classes = self.row.num_classes
        self._examples: Any = None
        self._length = len(self.examples())

    def examples(self) -> Any:
        if self._examples is None:
            builder = load_builder(self.row.builder, self.version, self.data_dir)
            self._examples = open_tfds_split(builder, self.row.split(self.split))
        return self._examples

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_examples": None}

    def __len__(self) -> int:
        return self._length

    def record(self, index: int) -> ImageRecord:
        example = self.examples()[index]
        label = self.row.label(example)
        if not 0 <= label < self.num_classes:
            raise ValueError(
                f"VTAB {self.name} {self.split}[{index}]: label {label} outside 0..{self.num_classes - 1}; "
                f"is the tfds data {self.row.builder}:{self.version}?"
            )
        image = to_rgb(np.asarray(example["image"]), self.row.pixel_scale)
        return ImageRecord(image, label, f"{self.name}/{self.split}/{index}")


# ---------------------------------------------------------------------------------------------- folders
class ImageListImages:
    """A split of the pre-extracted layout: <task_dir>/<split>.txt lines "<relative path> <label>"."""

    def __init__(self, task_dir: Path, split: str, *, num_classes: int, check: bool = True) -> None:
        path = task_dir / f"{split}.txt"
        if not path.is_file():
            raise FileNotFoundError(
                f"VTAB list {path} does not exist; the folder layout needs train800.txt, "
                "val200.txt, train800val200.txt and test.txt in each task folder."
            )
        self.num_classes, self.task_dir = num_classes, task_dir
        self.items: list[tuple[str, int]] = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise ValueError(f"{path}:{number}: expected '<relative image path> <label>', got {line!r}.")
            label = int(parts[1])
            if not 0 <= label < num_classes:
                raise ValueError(f"{path}:{number}: label {label} outside 0..{num_classes - 1}.")
            self.items.append((parts[0], label))
        if check:
            missing = [p for p, _ in self.items if not (task_dir / p).is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} image(s) listed in {path} are missing, e.g. "
                    f"{[str(task_dir / p) for p in missing[:3]]}."
                )

    def __len__(self) -> int:
        return len(self.items)

    def record(self, index: int) -> ImageRecord:
        from PIL import Image

        relative, label = self.items[index]
        with Image.open(self.task_dir / relative) as image:
            return ImageRecord(image.convert("RGB"), label, relative)


def vtab_source(config: VTABConfig, split: str, data_root: str) -> TfdsImages | ImageListImages:
    """The image source of VTAB split `split` (train800 | val200 | train800val200 | test)."""
    if split not in VTAB_SPLITS:
        raise ValueError(f"VTAB split {split!r}: choose one of {VTAB_SPLITS}.")
    row = VTAB_TASKS[config.name]
    if config.source == "folder":
        root = Path(config.data_dir).expanduser() if config.data_dir else Path(data_root) / "vtab-1k"
        return ImageListImages(root / config.name, split, num_classes=row.num_classes)
    data_dir = config.data_dir or str(Path(data_root) / "tfds")
    return TfdsImages(config.name, split, data_dir=data_dir, version=config.tfds_versions.get(config.name))


class VTABTask(ImageClassificationTask):
    Config = VTABConfig
    task_config: VTABConfig

    @classmethod
    def validate_config(cls, config: Any) -> None:
        super().validate_config(config)
        unknown = sorted(set(config.task.tfds_versions) - set(VTAB_TASKS))
        if unknown:
            raise ValueError(
                f"Config key 'task.tfds_versions': {unknown} are not VTAB tasks; keys are {list(VTAB_TASKS)}."
            )
        if config.task.protocol == "final" and config.eval.test_weights == "best":
            raise ValueError(
                "Config key 'eval.test_weights': the final protocol has no validation split to pick "
                "'best' weights; use 'last' (the paper reports the last epoch)."
            )

    def tag(self) -> str:
        cfg = self.task_config
        return cfg.name if cfg.protocol == "tune" else f"{cfg.name}-final"

    @property
    def num_classes(self) -> int:
        return VTAB_TASKS[self.task_config.name].num_classes

    def build_datasets(self) -> Splits:
        cfg = self.task_config
        transform = resize_transform(self.model_name, image_size=cfg.image_size)
        datasets = {
            part: None if split is None else ImageDataset(vtab_source(cfg, split, self.config.data.root), transform)
            for part, split in protocol_splits(cfg.protocol).items()
        }
        return Splits(**datasets)


TASK = VTABTask
