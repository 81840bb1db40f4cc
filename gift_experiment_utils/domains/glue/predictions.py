"""Test-set predictions in the format the GLUE server (gluebenchmark.com) accepts.

One TSV per test set, named as the server wants it (CoLA.tsv, SST-2.tsv, MRPC.tsv, QQP.tsv, STS-B.tsv,
MNLI-m.tsv, MNLI-mm.tsv, QNLI.tsv, RTE.tsv, AX.tsv), with a header and one row per test example:

    index	prediction
    0	1                 CoLA, SST-2, MRPC, QQP: the class index
    0	entailment        MNLI, QNLI, RTE, AX: the label name
    0	3.412             STS-B: the score, clipped to the label range [0, 5]
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from .specs import TaskSpec

STSB_RANGE = (0.0, 5.0)


def format_prediction(spec: TaskSpec, value: float | int) -> str:
    if spec.server_labels == "score":
        low, high = STSB_RANGE
        return f"{min(max(float(value), low), high):.3f}"
    label = int(value)
    if not 0 <= label < spec.num_labels:
        raise ValueError(f"GLUE task {spec.name!r}: predicted class {label} is outside 0 .. {spec.num_labels - 1}.")
    return spec.label_names[label] if spec.server_labels == "names" else str(label)


def write_predictions(
    spec: TaskSpec, server_file: str, folder: Path, indices: Sequence[int], predictions: Sequence[float | int]
) -> Path:
    """Write `folder/server_file` atomically, rows sorted by index; returns its path."""
    if len(indices) != len(predictions):
        raise ValueError(f"{len(indices)} indices but {len(predictions)} predictions.")
    if len(set(indices)) != len(indices):
        raise ValueError(f"{server_file}: repeated test indices; every test row must be predicted once.")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / server_file
    tmp = path.with_name(f".{server_file}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["index", "prediction"])
        for index, value in sorted(zip(indices, predictions)):
            writer.writerow([int(index), format_prediction(spec, value)])
    os.replace(tmp, path)
    return path


def read_predictions(path: Path) -> list[tuple[int, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or rows[0] != ["index", "prediction"]:
        raise ValueError(f"{path} is not a GLUE prediction file (its header must be 'index<TAB>prediction').")
    return [(int(index), value) for index, value in rows[1:]]
