"""Reading tensorflow-datasets splits by index, without TensorFlow and without loading a split into memory.

`open_tfds_split(builder, "train[:800]+train[45000:45200]")` returns a random-access list of decoded
examples (dicts of numpy arrays, tfds' numpy decoding path):
  array_record (or parquet) data   `builder.as_data_source` — tfds' own random access;
  TFRecord data                    `TFRecordExamples` — the record offsets of the selected shards, read once;
  a mocked tfds                    `as_data_source` as `tfds.testing.mock_data` patches it.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np


def to_rgb(array: np.ndarray, scale: int = 1) -> Any:
    """(H, W, C) uint8 with C in {1, 3} → RGB PIL image (grey repeated; `scale` for 0/1 masks)."""
    from PIL import Image

    if scale != 1:
        array = np.minimum(array.astype(np.int32) * scale, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return Image.fromarray(array)


def import_tfds() -> Any:
    """tensorflow_datasets, imported on first use: only VTAB's tfds data needs it (the `vtab` extra)."""
    try:
        import tensorflow_datasets as tfds
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"Reading VTAB through tensorflow-datasets needs it installed ({error}); run "
            "`pip install 'gift-peft[vtab]'` (tensorflow-cpu, tensorflow-datasets), or read the pre-extracted "
            "vtab-1k folders, which need neither, with task.source=folder."
        ) from error
    return tfds


def load_builder(builder: str, version: str, data_dir: str | None, **kwargs: Any) -> Any:
    """`tfds.builder(f"{builder}:{version}")`: the prepared files in data_dir, or the code at that version."""
    tfds = import_tfds()

    try:
        return tfds.builder(f"{builder}:{version}", data_dir=data_dir, **kwargs)
    except AssertionError as error:  # tfds' way of saying the code cannot build this version
        code = tfds.builder_cls(builder.split("/")[0])
        versions = sorted({str(code.VERSION), *(str(v) for v in code.SUPPORTED_VERSIONS)})
        raise ValueError(
            f"tfds cannot open {builder}:{version}: it is not prepared under {data_dir}, and "
            f"tensorflow-datasets {tfds.__version__} builds it only at {versions}. Prepare it with a tfds release "
            "that has this version (scripts/visual_classification/vtab/prepare_vtab.sh), point task.data_dir at "
            "it, or read a version this tfds builds with task.tfds_versions={<task>: <version>} (it then differs "
            "from the paper's)."
        ) from error


class TFRecordExamples:
    """Random access into a tfds split stored as TFRecord shards.

    Record layout: uint64 length, uint32 crc, `length` bytes, uint32 crc. The offsets of the records
    a split spec selects are found once by reading the headers (no payload is read); an item is one
    seek + read + `features.deserialize_example_np`."""

    def __init__(self, builder: Any, spec: str) -> None:
        self.features = builder.info.features
        self.index: list[tuple[str, int, int]] = []  # (file, payload offset, length)
        for instruction in builder.info.splits[spec].file_instructions:
            records = _record_offsets(instruction.filename)
            stop = len(records) if instruction.take < 0 else instruction.skip + instruction.take
            self.index += [(instruction.filename, *records[i]) for i in range(instruction.skip, stop)]
        self._files: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        filename, offset, length = self.index[index]
        if filename not in self._files:
            self._files[filename] = open(filename, "rb")  # noqa: SIM115 - kept open for the next reads
        handle = self._files[filename]
        handle.seek(offset)
        return self.features.deserialize_example_np(handle.read(length))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_files": {}}  # file handles stay in their process


def _record_offsets(filename: str) -> list[tuple[int, int]]:
    offsets, position = [], 0
    with open(filename, "rb") as handle:
        while header := handle.read(12):
            if len(header) < 12:
                raise ValueError(f"{filename} is truncated (a partial record header at byte {position}).")
            (length,) = struct.unpack("<Q", header[:8])
            offsets.append((position + 12, length))
            position += 12 + length + 4
            handle.seek(position)
    return offsets


def open_tfds_split(builder: Any, spec: str) -> Any:
    """A random-access list of decoded examples (dicts of numpy arrays) of `spec`."""
    from tensorflow_datasets.core.file_adapters import FileFormat

    if builder.info.splits:  # prepared: dataset_info.json lists the splits and the file format
        random_access = builder.info.available_file_formats() & set(FileFormat.with_random_access())
        return builder.as_data_source(split=spec) if random_access else TFRecordExamples(builder, spec)
    try:  # no split on disk: only a mocked tfds (tfds.testing.mock_data) can serve it
        return builder.as_data_source(split=spec)
    except (ValueError, NotImplementedError) as error:
        raise FileNotFoundError(
            f"tfds dataset {builder.name}:{builder.version} is not prepared in {builder.data_dir}; prepare it with "
            "scripts/visual_classification/vtab/prepare_vtab.sh or set task.data_dir to the tfds data_dir."
        ) from error
