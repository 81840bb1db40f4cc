"""GLUE splits as `datasets.Dataset`s in the hub's schema, from the hub, a parquet snapshot or the official TSVs.

Every loader returns the same columns: the task's text keys (e.g. `premise`, `hypothesis`), `label` (class
index, -1 on unlabelled test sets; a float score for STS-B) and `idx` (the row number, which is the `index`
the GLUE server expects back).

    task.source=hub       datasets.load_dataset("nyu-mll/glue", "cola", split="validation")
    task.source=parquet   <data_dir>/cola/validation-00000-of-00001.parquet    (hub repo snapshot)
    task.source=tsv       <data_dir>/CoLA/dev.tsv                              (download_glue_data.py layout)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .specs import Part, TaskSpec, TsvColumns

Source = Literal["hub", "parquet", "tsv"]
TRAIN = Part("train", "train", "train.tsv")


@dataclass(frozen=True)
class DataLocation:
    source: Source
    data_dir: Path  # parquet and tsv
    hub_id: str  # hub


def load_part(spec: TaskSpec, part: Part, where: DataLocation) -> Any:
    """One split of one task (`TRAIN` or a `Part` of spec.validation / spec.test) as a `datasets.Dataset`."""
    if where.source == "tsv":
        dataset = _from_tsv(spec, part, where.data_dir)
    elif where.source == "parquet":
        dataset = _from_parquet(spec, part, where.data_dir)
    else:
        import datasets

        dataset = datasets.load_dataset(where.hub_id, part.hub_config or spec.name, split=part.hub_split)
    return _normalise(spec, dataset, origin=f"{where.source} {part.hub_config or spec.name}/{part.hub_split}")


def _features(spec: TaskSpec) -> Any:
    import datasets

    label = datasets.Value("float32") if spec.is_regression else datasets.Value("int64")
    return datasets.Features(
        {**{key: datasets.Value("string") for key in spec.text_keys}, "label": label, "idx": datasets.Value("int64")}
    )


def _normalise(spec: TaskSpec, dataset: Any, origin: str) -> Any:
    """The hub schema with plain (not ClassLabel) label values, so that parts of any source concatenate."""
    missing = [c for c in (*spec.text_keys, "label") if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"GLUE task {spec.name!r}: {origin} lacks the columns {missing} (has {dataset.column_names}); "
            f"expected {[*spec.text_keys, 'label', 'idx']}."
        )
    if "idx" not in dataset.column_names:
        dataset = dataset.add_column("idx", list(range(len(dataset))))
    extra = [c for c in dataset.column_names if c not in (*spec.text_keys, "label", "idx")]
    dataset = dataset.remove_columns(extra)
    features = _features(spec)
    return dataset if dataset.features == features else dataset.cast(features)


# ---------------------------------------------------------------------------------------------- parquet
def parquet_layout(spec: TaskSpec) -> str:
    return (
        f"<data_dir>/{spec.name}/{{train,{','.join(p.hub_split for p in (*spec.validation, *spec.test))}}}"
        "-*.parquet (a snapshot of the hub repo: `huggingface-cli download nyu-mll/glue --repo-type dataset "
        "--local-dir <data_dir>`)"
    )


def _from_parquet(spec: TaskSpec, part: Part, data_dir: Path) -> Any:
    import datasets

    folder = data_dir / (part.hub_config or spec.name)
    files = (  # the hub repo's main branch: <split>-00000-of-00001.parquet; its parquet export: <split>/0000.parquet
        sorted(folder.glob(f"{part.hub_split}-*.parquet"))
        or sorted(folder.glob(f"{part.hub_split}.parquet"))
        or sorted(folder.glob(f"{part.hub_split}/*.parquet"))
    )
    if not files:
        what = "folder" if not folder.is_dir() else f"'{part.hub_split}-*.parquet' in"
        raise FileNotFoundError(
            f"GLUE task {spec.name!r} ({part.name}): no {what} {folder}. task.source=parquet expects "
            f"{parquet_layout(spec)}; set task.data_dir, or task.source=hub / tsv."
        )
    return datasets.Dataset.from_parquet([str(f) for f in files])


# ---------------------------------------------------------------------------------------------- tsv
def tsv_layout(spec: TaskSpec) -> str:
    files = [TRAIN.tsv_file, *(p.tsv_file for p in (*spec.validation, *spec.test) if p.folder is None)]
    extra = "".join(f", <data_dir>/{p.folder}/{p.tsv_file}" for p in spec.test if p.folder is not None)
    return (
        f"<data_dir>/{spec.folder}/{{{', '.join(files)}}}{extra} (the official GLUE TSVs, as "
        "download_glue_data.py writes them)"
    )


def _from_tsv(spec: TaskSpec, part: Part, data_dir: Path) -> Any:
    import datasets

    folder = data_dir / (part.folder or spec.folder)
    path = folder / part.tsv_file
    if not path.is_file():
        what = f"folder {folder}" if not folder.is_dir() else f"file {path}"
        raise FileNotFoundError(
            f"GLUE task {spec.name!r} ({part.name}): no {what}. task.source=tsv expects {tsv_layout(spec)}; "
            "set task.data_dir, or task.source=hub / parquet."
        )
    if part is TRAIN:
        columns = spec.tsv_train
    else:
        columns = part.columns or (spec.tsv_test if part.server_file else spec.tsv_eval)
    texts, labels = read_tsv(path, columns, spec)
    data = {key: values for key, values in zip(spec.text_keys, texts)}
    data["label"] = labels
    data["idx"] = list(range(len(labels)))
    return datasets.Dataset.from_dict(data, features=_features(spec))


def read_tsv(path: Path, columns: TsvColumns, spec: TaskSpec) -> tuple[list[list[str]], list[float | int]]:
    """Text columns and labels of one GLUE TSV; fields are tab-separated with no quoting (quotes are text)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = list(columns.header) if columns.header else next(rows, [])
        wanted = [*columns.text, *([columns.label] if columns.label else [])]
        absent = [c for c in wanted if c not in header]
        if absent:
            raise ValueError(
                f"{path}: columns {absent} not in its header {header}; is it the {spec.folder} file of "
                "the official GLUE download?"
            )
        positions = [header.index(c) for c in wanted]
        texts: list[list[str]] = [[] for _ in columns.text]
        labels: list[float | int] = []
        unlabelled = -1.0 if spec.is_regression else -1  # the label of unlabelled (test) rows, as on the hub
        for line, row in enumerate(rows, start=1 if columns.header else 2):  # line numbers in the file
            if not row:
                continue
            if len(row) <= max(positions):
                raise ValueError(
                    f"{path}, line {line}: {len(row)} fields, expected at least {max(positions) + 1} "
                    f"(columns {header})."
                )
            for values, position in zip(texts, positions):
                values.append(row[position])
            labels.append(_label(spec, row[positions[-1]], path, line) if columns.label else unlabelled)
    return texts, labels


def _label(spec: TaskSpec, text: str, path: Path, line: int) -> float | int:
    try:
        if spec.is_regression:
            return float(text)
        if spec.tsv_label_map is not None:
            return spec.tsv_label_map[text]
        value = int(text)
    except (KeyError, ValueError):
        allowed = list(spec.tsv_label_map) if spec.tsv_label_map else "a number" if spec.is_regression else "0 .. n-1"
        raise ValueError(f"{path}, line {line}: label {text!r} is not one of {allowed}.") from None
    if not 0 <= value < spec.num_labels:
        raise ValueError(f"{path}, line {line}: label {value} is outside 0 .. {spec.num_labels - 1}.")
    return value


# ---------------------------------------------------------------------------------------------- held-out slice
def heldout_indices(size: int, *, fraction: float, max_examples: int | None, seed: int) -> tuple[list[int], list[int]]:
    """(kept train rows, held-out rows) of a train set of `size` rows; fixed by `seed`, not by experiment.seed."""
    count = max(1, round(fraction * size))
    if max_examples is not None:
        count = min(count, max_examples)
    if count >= size:
        raise ValueError(
            f"The held-out slice ({count} rows) would leave nothing of the {size} training rows; lower "
            "task.heldout_fraction or task.heldout_max_examples."
        )
    order = np.random.default_rng(seed).permutation(size)
    return sorted(order[count:].tolist()), sorted(order[:count].tolist())
