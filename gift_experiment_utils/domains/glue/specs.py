"""The GLUE tasks as rows of one table: text keys, labels, metrics, where each split lives.

One row per task. Each labelled evaluation set and each unlabelled test set is a `Part`: MNLI has two
validation parts (matched, mismatched) and three test parts (matched, mismatched and the diagnostic AX,
which the GLUE server scores with the MNLI model). Adding a task adds a row.

Where a part lives, for each `task.source`:
    hub       datasets.load_dataset(task.hub_id, <hub_config>)[<hub_split>]
    parquet   <data_dir>/<hub_config>/<hub_split>-*.parquet       (a snapshot of the hub repo nyu-mll/glue)
    tsv       <data_dir>/<folder>/<tsv_file>                      (the official GLUE download layout)

Labels follow the hub's ClassLabel order; `label_names` are what the GLUE server expects in prediction files
when `server_labels="names"` (MNLI, QNLI, RTE, AX), otherwise the class index (CoLA, SST-2, MRPC, QQP) or the
score (STS-B).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class TsvColumns:
    """How one GLUE TSV file is read: its header (or positional names for header-less files) and columns."""

    text: tuple[str, ...]  # TSV column per text key, in the order of TaskSpec.text_keys
    label: str | None = None  # None: unlabelled (test files)
    header: tuple[str, ...] | None = None  # None: the file's first line is its header


@dataclass(frozen=True)
class Part:
    """One evaluation set of a task."""

    name: str  # unique within a task: "validation", "matched", "mismatched", "test", "test_matched", "ax"
    hub_split: str  # split of the hub config ("validation_matched", "test", ...)
    tsv_file: str  # file inside the task's TSV folder
    server_file: str | None = None  # GLUE-server prediction file name (test parts only)
    hub_config: str | None = None  # None: the task's own hub config ("ax" for the diagnostic set)
    folder: str | None = None  # None: the task's own TSV folder ("diagnostic" for AX)
    columns: TsvColumns | None = None  # None: the task's `tsv_eval` (labelled) or `tsv_test` (unlabelled) columns


@dataclass(frozen=True)
class TaskSpec:
    name: str  # config value of task.name and the hub config
    folder: str  # folder of the official TSV download
    text_keys: tuple[str, ...]  # one (single sentence) or two (pair) fields of the hub schema
    label_names: tuple[str, ...]  # hub ClassLabel order; () for regression
    metrics: tuple[str, ...]  # computed on every labelled part (names of metrics.METRICS)
    selection_metric: str  # the paper's: MCC for CoLA, Pearson for STS-B, accuracy otherwise
    validation: tuple[Part, ...]
    test: tuple[Part, ...]
    tsv_train: TsvColumns
    tsv_eval: TsvColumns  # labelled dev files; often the same columns as train
    tsv_test: TsvColumns
    server_labels: Literal["index", "names", "score"] = "index"
    tsv_label_map: dict[str, int] | None = field(default=None, compare=False)  # None: labels are numbers in the TSV

    @property
    def is_regression(self) -> bool:
        return not self.label_names

    @property
    def num_labels(self) -> int:
        return 1 if self.is_regression else len(self.label_names)


def _task(
    name: str,
    folder: str,
    keys: tuple[str, ...],
    names: tuple[str, ...],
    metrics: tuple[str, ...],
    selection: str,
    *,
    columns: tuple[str, ...],
    label: str,
    header: tuple[str, ...] | None = None,
    server_labels: str = "index",
    textual_labels: bool = False,
) -> TaskSpec:
    """A task with one validation and one test set: <folder>/{train,dev,test}.tsv; test files have a header."""
    labelled = TsvColumns(text=columns, label=label, header=header)
    return TaskSpec(
        name=name,
        folder=folder,
        text_keys=keys,
        label_names=names,
        metrics=metrics,
        selection_metric=selection,
        validation=(Part("validation", "validation", "dev.tsv"),),
        test=(Part("test", "test", "test.tsv", server_file=f"{folder}.tsv"),),
        tsv_train=labelled,
        tsv_eval=labelled,
        tsv_test=TsvColumns(text=columns),
        server_labels=server_labels,
        tsv_label_map={n: i for i, n in enumerate(names)} if textual_labels else None,
    )


_NLI3 = ("entailment", "neutral", "contradiction")
_NLI2 = ("entailment", "not_entailment")
_MNLI_COLUMNS = TsvColumns(text=("sentence1", "sentence2"), label="gold_label")
_AX = Part(
    "ax",
    "test",
    "diagnostic.tsv",
    server_file="AX.tsv",
    hub_config="ax",
    folder="diagnostic",
    columns=TsvColumns(text=("sentence1", "sentence2")),
)

# fmt: off
GLUE_TASKS: dict[str, TaskSpec] = {task.name: task for task in (
    # CoLA's train/dev files have no header: source, label, the author's mark ('*'), sentence.
    _task("cola", "CoLA", ("sentence",), ("unacceptable", "acceptable"), ("matthews_correlation", "accuracy"),
          "matthews_correlation", columns=("sentence",), label="label", header=("source", "label", "mark", "sentence")),
    _task("sst2", "SST-2", ("sentence",), ("negative", "positive"), ("accuracy",), "accuracy",
          columns=("sentence",), label="label"),
    _task("mrpc", "MRPC", ("sentence1", "sentence2"), ("not_equivalent", "equivalent"), ("accuracy", "f1"), "accuracy",
          columns=("#1 String", "#2 String"), label="Quality"),
    _task("qqp", "QQP", ("question1", "question2"), ("not_duplicate", "duplicate"), ("accuracy", "f1"), "accuracy",
          columns=("question1", "question2"), label="is_duplicate"),
    _task("stsb", "STS-B", ("sentence1", "sentence2"), (), ("pearson", "spearmanr"), "pearson",
          columns=("sentence1", "sentence2"), label="score", server_labels="score"),
    _task("qnli", "QNLI", ("question", "sentence"), _NLI2, ("accuracy",), "accuracy",
          columns=("question", "sentence"), label="label", server_labels="names", textual_labels=True),
    _task("rte", "RTE", ("sentence1", "sentence2"), _NLI2, ("accuracy",), "accuracy",
          columns=("sentence1", "sentence2"), label="label", server_labels="names", textual_labels=True),
    TaskSpec(
        name="mnli", folder="MNLI", text_keys=("premise", "hypothesis"), label_names=_NLI3, metrics=("accuracy",),
        selection_metric="accuracy",
        validation=(Part("matched", "validation_matched", "dev_matched.tsv"),
                    Part("mismatched", "validation_mismatched", "dev_mismatched.tsv")),
        test=(Part("test_matched", "test_matched", "test_matched.tsv", server_file="MNLI-m.tsv"),
              Part("test_mismatched", "test_mismatched", "test_mismatched.tsv", server_file="MNLI-mm.tsv"),
              _AX),
        tsv_train=_MNLI_COLUMNS, tsv_eval=_MNLI_COLUMNS, tsv_test=TsvColumns(text=("sentence1", "sentence2")),
        server_labels="names", tsv_label_map={name: i for i, name in enumerate(_NLI3)},
    ),
)}
# fmt: on

# The column order of the paper's GLUE table (docs/paper_results.md#glue); MNLI and QQP follow as the LoReFT table has them.
PAPER_ORDER = ("sst2", "mrpc", "cola", "qnli", "rte", "stsb")
ALL_ORDER = ("mnli", "sst2", "mrpc", "cola", "qnli", "qqp", "rte", "stsb")
DISPLAY_NAMES = {name: task.folder for name, task in GLUE_TASKS.items()}  # the official names: CoLA, SST-2, ...
