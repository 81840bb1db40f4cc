"""Raw labelled images of any FGVC or VTAB split, for figures (scripts/visual_classification/visualize.py).

    split_images("fgvc", "cub", "test", root="data/fgvc/CUB_200_2011", classes=[3, 17])
    split_images("vtab", "dtd", "test", root="data/tfds")                      # tfds data_dir
    split_images("vtab", "dtd", "test", root="data/vtab-1k", source="folder")  # pre-extracted layout
    config_images("runs/vision.fgvc/fgvc/gift/<run>/config.yaml", "test")       # the data of a run

yield `ImageRecord(image, label, identifier)`: an RGB PIL image as stored (not resized or normalised),
the class index the model was trained with, and a stable name (relative path, or "<task>/<split>/<i>").
`split_pairs` gives the same as (image, label) pairs, the shape `visualize.py --dataset` takes:

    python scripts/visual_classification/visualize.py RUN_DIR --out figs \\
        --dataset gift_experiment_utils.domains.vision.sources:split_pairs \\
        --dataset-arg benchmark=fgvc --dataset-arg name=cub --dataset-arg split=test \\
        --dataset-arg root=data/fgvc/CUB_200_2011 --classes 3,17
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .common import ImageRecord, ImageSource
from .fgvc import FGVC_DATASETS, FGVCConfig, fgvc_sources
from .fgvc import SPLITS as FGVC_SPLITS
from .vtab import VTAB_TASKS, VTABConfig, vtab_source

BENCHMARKS = {"fgvc": FGVC_DATASETS, "vtab": VTAB_TASKS}  # benchmark -> its table of dataset names


def _records(source: ImageSource, classes: Iterable[int] | None, limit: int | None) -> Iterator[ImageRecord]:
    wanted = None if classes is None else {int(c) for c in classes}
    kept = 0
    for index in range(len(source)):
        if limit is not None and kept >= limit:
            return
        if wanted is not None and _label_of(source, index) not in wanted:
            continue
        kept += 1
        yield source.record(index)


def _label_of(source: ImageSource, index: int) -> int:
    items = getattr(source, "items", None)  # file-backed sources know labels without opening the image
    return items[index][-1] if items is not None else source.record(index).label


def _open(task: FGVCConfig | VTABConfig, split: str, data_root: str) -> ImageSource:
    """The image source (random access: `len`, `record(i)`) of one split of an FGVC or VTAB task."""
    if isinstance(task, VTABConfig):
        return vtab_source(task, split, data_root)  # which checks the split
    if split not in FGVC_SPLITS:
        raise ValueError(f"FGVC split {split!r}: choose one of {FGVC_SPLITS}.")
    return fgvc_sources(task, data_root, (split,))[split]


def split_images(
    benchmark: str,
    name: str,
    split: str,
    *,
    root: str | None = None,
    source: str = "tfds",
    data_root: str = "data",
    tfds_version: str | None = None,
    classes: Iterable[int] | None = None,
    limit: int | None = None,
) -> Iterator[ImageRecord]:
    """Records of one split in dataset order, only those of `classes` if given, at most `limit`."""
    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark={benchmark!r}: choose one of {tuple(BENCHMARKS)}.")
    if name not in BENCHMARKS[benchmark]:
        raise ValueError(f"{benchmark} has no {name!r}; choose one of {sorted(BENCHMARKS[benchmark])}.")
    if benchmark == "fgvc":
        task = FGVCConfig(dataset=name, root=root, check_images=False)
    else:
        versions = {name: tfds_version} if tfds_version else {}
        task = VTABConfig(name=name, source=source, data_dir=root, tfds_versions=versions)
    return _records(_open(task, split, data_root), classes, limit)


def split_pairs(**kwargs: Any) -> Iterator[tuple[Any, int]]:
    """`split_images` as (image, label) pairs."""
    return ((record.image, record.label) for record in split_images(**kwargs))


def config_images(
    config_file: str,
    split: str,
    *,
    overrides: Iterable[str] = (),
    classes: Iterable[int] | None = None,
    limit: int | None = None,
) -> Iterator[ImageRecord]:
    """Records of `split` of the data a config (an experiment YAML or a run's config.yaml) trains on."""
    from ...loading import load_config

    config = load_config(config_file, list(overrides))
    if not isinstance(config.task, (FGVCConfig, VTABConfig)):
        raise ValueError(
            f"{config_file}: experiment.domain={config.experiment.domain!r} is not a vision domain "
            "(vision.fgvc or vision.vtab)."
        )
    return _records(_open(config.task, split, config.data.root), classes, limit)
