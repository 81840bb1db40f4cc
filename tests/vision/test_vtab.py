"""VTAB-1k data: every builder through tfds.testing.mock_data, real tfds files (array_record and TFRecord)
prepared in a temporary folder, and the pre-extracted folder layout."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import CODE_VERSIONS, MOCK_EXAMPLES
from vision_data import TINY_VIT

from gift_experiment_utils.domains.vision.tfds_reader import open_tfds_split
from gift_experiment_utils.domains.vision.vtab import (
    VTAB_SPLITS,
    VTAB_TASKS,
    ImageListImages,
    TfdsImages,
    VTABTask,
)
from gift_experiment_utils.loading import load_config


def test_every_builder_every_split_under_mock(mock_vtab):
    for name, row in VTAB_TASKS.items():
        version = CODE_VERSIONS.get(name, row.version)
        for split in VTAB_SPLITS:
            source = TfdsImages(name, split, data_dir="/nowhere", version=version)
            assert mock_vtab[-1] == (row.builder.split("/")[0], version, row.split(split))
            assert len(source) == MOCK_EXAMPLES
            for index in range(len(source)):
                record = source.record(index)
                assert record.image.mode == "RGB" and min(record.image.size) >= 1
                assert 0 <= record.label < row.num_classes
                assert record.identifier == f"{name}/{split}/{index}"
                example = source.examples()[index]
                assert record.label == row.label(example)  # the row's label function, applied to the raw example
                channels = np.asarray(example["image"]).shape[-1]
                assert np.asarray(record.image).shape[:2] == np.asarray(example["image"]).shape[:2] and channels in (
                    1,
                    3,
                )


def test_label_functions_on_mocked_scenes(mock_vtab):
    """Mocked scenes hold 10 objects: count_all = 7; mocked depths lie in [0, 1): nearest bin 0."""
    count = TfdsImages("clevr_count", "train800", data_dir="/nowhere")
    assert {count.record(i).label for i in range(MOCK_EXAMPLES)} == {7}
    distance = TfdsImages("clevr_dist", "val200", data_dir="/nowhere")
    assert {distance.record(i).label for i in range(MOCK_EXAMPLES)} == {0}
    position = TfdsImages("dsprites_loc", "test", data_dir="/nowhere")
    for i in range(MOCK_EXAMPLES):
        assert position.record(i).label == int(position.examples()[i]["label_x_position"]) // 2
        assert set(np.unique(np.asarray(position.record(i).image))) <= {0, 255}  # 0/1 masks → black / white


def test_out_of_range_label_names_task(tfds_module):
    with tfds_module.testing.mock_data(num_examples=2):  # default mock: random object counts (5–49)
        source = TfdsImages("clevr_count", "train800", data_dir="/nowhere")
        with pytest.raises(ValueError, match=r"clevr_count train800\[0\]: label \d+ outside 0..7"):
            source.record(0)


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        ("tune", {"train": "train[:800]", "val": "train[45000:45200]", "test": None}),
        ("final", {"train": "train[:800]+train[45000:45200]", "val": None, "test": "test"}),
    ],
)
def test_protocols(mock_vtab, protocol, expected):
    config = load_config("configs/vision/vtab/gift.yaml", [*TINY_VIT, "task.name=cifar", f"task.protocol={protocol}"])
    splits = VTABTask(config).build_datasets()
    asked = iter(spec for *_, spec in mock_vtab)
    for part, spec in expected.items():
        dataset = splits.get(part)
        assert (dataset is None) == (spec is None)
        if dataset is not None:
            assert next(asked) == spec
            item = dataset[0]
            assert item["pixel_values"].shape == (3, 32, 32) and isinstance(item["labels"], int)
    assert VTABTask(config).tag() == ("cifar" if protocol == "tune" else "cifar-final")


# ---------------------------------------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def prepared(tfds_module, tmp_path_factory):
    """A small tfds dataset written by tfds itself, once as array_record and once as TFRecord (2 shards)."""
    tfds = tfds_module

    class VisionTestImages(tfds.core.GeneratorBasedBuilder):
        __module__ = "vision_test_images"  # a top-level name: tfds then looks for no package resources (checksums)
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = {
                "image": tfds.features.Image(shape=(None, None, 3)),
                "label": tfds.features.ClassLabel(num_classes=5),
            }
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(30, 0), "test": self._generate_examples(10, 1)}

        def _generate_examples(self, count, seed):
            rng = np.random.default_rng(seed)
            for i in range(count):
                image = rng.integers(0, 256, (12 + i % 4, 9, 3), dtype=np.uint8)
                yield i, {"image": image, "label": (i + seed) % 5}

    folders = {}
    for file_format in ("array_record", "tfrecord"):
        folders[file_format] = str(tmp_path_factory.mktemp(file_format))
        VisionTestImages(data_dir=folders[file_format], file_format=file_format).download_and_prepare()
    return tfds, folders


def test_tfrecord_index_reads_what_the_data_source_reads(prepared):
    tfds, folders = prepared
    spec = "train[:5]+train[20:23]+test[-2:]"
    by_format = {
        f: open_tfds_split(tfds.builder("vision_test_images:1.0.0", data_dir=d), spec) for f, d in folders.items()
    }
    assert type(by_format["tfrecord"]).__name__ == "TFRecordExamples"
    assert len(by_format["array_record"]) == len(by_format["tfrecord"]) == 10
    reloaded = pickle.loads(pickle.dumps(by_format["tfrecord"]))  # as a DataLoader worker gets it
    for i in range(10):
        a, b, c = by_format["array_record"][i], by_format["tfrecord"][i], reloaded[i]
        assert a["label"] == b["label"] == c["label"]
        assert np.array_equal(a["image"], b["image"]) and np.array_equal(b["image"], c["image"])


def test_unprepared_and_unbuildable_versions_are_explained(prepared, tmp_path):
    tfds, _ = prepared
    with pytest.raises(FileNotFoundError, match="not prepared.*prepare_vtab.sh"):
        TfdsImages("dtd", "train800", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"caltech101:3\.0\.1.*builds it only at \['3\.0\.2'\].*task\.tfds_versions"):
        TfdsImages("caltech101", "train800", data_dir=str(tmp_path))


# ---------------------------------------------------------------------------------------------- folders
def test_folder_layout(vtab_folder):
    sources = {s: ImageListImages(vtab_folder / "dtd", s, num_classes=47) for s in VTAB_SPLITS}
    assert {s: len(v) for s, v in sources.items()} == {"train800": 16, "val200": 6, "train800val200": 22, "test": 6}
    assert sources["train800val200"].items == sources["train800"].items + sources["val200"].items
    record = sources["test"].record(2)
    assert record.image.mode == "RGB" and record.identifier == "images/test/00002.png" and 0 <= record.label < 47


def test_folder_layout_through_the_task(vtab_folder):
    overrides = [
        *TINY_VIT,
        "task.name=dtd",
        "task.source=folder",
        f"task.data_dir={vtab_folder}",
        "task.protocol=final",
    ]
    splits = VTABTask(load_config("configs/vision/vtab/gift.yaml", overrides)).build_datasets()
    assert len(splits.train) == 22 and splits.val is None and len(splits.test) == 6
    assert splits.test[0]["pixel_values"].shape == (3, 32, 32)
    assert torch.equal(splits.test[0]["pixel_values"], splits.test[0]["pixel_values"])  # no augmentation


def test_folder_layout_errors(vtab_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar/train800\.txt"):
        ImageListImages(tmp_path / "cifar", "train800", num_classes=100)
    task = tmp_path / "bad"
    task.mkdir()
    (task / "val200.txt").write_text("images/a.png 3\nimages/b.png\n")
    with pytest.raises(ValueError, match=r"val200\.txt:2: expected '<relative image path> <label>'"):
        ImageListImages(task, "val200", num_classes=10)
    (task / "val200.txt").write_text("images/a.png 12\n")
    with pytest.raises(ValueError, match=r"val200\.txt:1: label 12 outside 0..9"):
        ImageListImages(task, "val200", num_classes=10)
    (task / "val200.txt").write_text("images/a.png 1\n")
    with pytest.raises(FileNotFoundError, match=r"bad/images/a\.png"):
        ImageListImages(task, "val200", num_classes=10)
