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

    name: str  # "validation", "matched", "mismatched", "test", "ax"
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

    @property
    def is_pair(self) -> bool:
        return len(self.text_keys) == 2


def _names_map(names: tuple[str, ...]) -> dict[str, int]:
    return {name: index for index, name in enumerate(names)}


_NLI3 = ("entailment", "neutral", "contradiction")
_NLI2 = ("entailment", "not_entailment")
_AX = Part("ax", "test", "diagnostic.tsv", server_file="AX.tsv", hub_config="ax", folder="diagnostic",
           columns=TsvColumns(text=("sentence1", "sentence2")))


def _single(name: str, folder: str, *, names: tuple[str, ...], metrics: tuple[str, ...], selection: str,
            train: TsvColumns, test_column: str = "sentence") -> TaskSpec:
    return TaskSpec(
        name=name, folder=folder, text_keys=("sentence",), label_names=names, metrics=metrics,
        selection_metric=selection,
        validation=(Part("validation", "validation", "dev.tsv"),),
        test=(Part("test", "test", "test.tsv", server_file=f"{folder}.tsv"),),
        tsv_train=train, tsv_eval=train, tsv_test=TsvColumns(text=(test_column,)),
    )


def _pair(name: str, folder: str, *, keys: tuple[str, str], names: tuple[str, ...], metrics: tuple[str, ...],
          selection: str, columns: tuple[str, str], label: str, server_labels: str = "index",
          tsv_label_map: dict[str, int] | None = None) -> TaskSpec:
    train = TsvColumns(text=columns, label=label)
    return TaskSpec(
        name=name, folder=folder, text_keys=keys, label_names=names, metrics=metrics, selection_metric=selection,
        validation=(Part("validation", "validation", "dev.tsv"),),
        test=(Part("test", "test", "test.tsv", server_file=f"{folder}.tsv"),),
        tsv_train=train, tsv_eval=train, tsv_test=TsvColumns(text=columns),
        server_labels=server_labels, tsv_label_map=tsv_label_map,
    )


_MNLI_COLUMNS = TsvColumns(text=("sentence1", "sentence2"), label="gold_label")

GLUE_TASKS: dict[str, TaskSpec] = {
    task.name: task
    for task in (
        # CoLA's train/dev files have no header: source, label, the author's mark ('*'), sentence.
        _single("cola", "CoLA", names=("unacceptable", "acceptable"), metrics=("matthews_correlation", "accuracy"),
                selection="matthews_correlation",
                train=TsvColumns(text=("sentence",), label="label", header=("source", "label", "mark", "sentence"))),
        _single("sst2", "SST-2", names=("negative", "positive"), metrics=("accuracy",), selection="accuracy",
                train=TsvColumns(text=("sentence",), label="label")),
        _pair("mrpc", "MRPC", keys=("sentence1", "sentence2"), names=("not_equivalent", "equivalent"),
              metrics=("accuracy", "f1"), selection="accuracy", columns=("#1 String", "#2 String"), label="Quality"),
        _pair("qqp", "QQP", keys=("question1", "question2"), names=("not_duplicate", "duplicate"),
              metrics=("accuracy", "f1"), selection="accuracy", columns=("question1", "question2"),
              label="is_duplicate"),
        _pair("stsb", "STS-B", keys=("sentence1", "sentence2"), names=(), metrics=("pearson", "spearmanr"),
              selection="pearson", columns=("sentence1", "sentence2"), label="score", server_labels="score"),
        _pair("qnli", "QNLI", keys=("question", "sentence"), names=_NLI2, metrics=("accuracy",),
              selection="accuracy", columns=("question", "sentence"), label="label", server_labels="names",
              tsv_label_map=_names_map(_NLI2)),
        _pair("rte", "RTE", keys=("sentence1", "sentence2"), names=_NLI2, metrics=("accuracy",),
              selection="accuracy", columns=("sentence1", "sentence2"), label="label", server_labels="names",
              tsv_label_map=_names_map(_NLI2)),
        TaskSpec(
            name="mnli", folder="MNLI", text_keys=("premise", "hypothesis"), label_names=_NLI3,
            metrics=("accuracy",), selection_metric="accuracy",
            validation=(Part("matched", "validation_matched", "dev_matched.tsv"),
                        Part("mismatched", "validation_mismatched", "dev_mismatched.tsv")),
            test=(Part("matched", "test_matched", "test_matched.tsv", server_file="MNLI-m.tsv"),
                  Part("mismatched", "test_mismatched", "test_mismatched.tsv", server_file="MNLI-mm.tsv"),
                  _AX),
            tsv_train=_MNLI_COLUMNS, tsv_eval=_MNLI_COLUMNS, tsv_test=TsvColumns(text=("sentence1", "sentence2")),
            server_labels="names", tsv_label_map=_names_map(_NLI3),
        ),
    )
}

# The column order of the paper's GLUE table (PAPER.md §5); MNLI and QQP follow as the LoReFT table has them.
PAPER_ORDER = ("sst2", "mrpc", "cola", "qnli", "rte", "stsb")
ALL_ORDER = ("mnli", "sst2", "mrpc", "cola", "qnli", "qqp", "rte", "stsb")
DISPLAY_NAMES = {"mnli": "MNLI", "sst2": "SST-2", "mrpc": "MRPC", "cola": "CoLA", "qnli": "QNLI", "qqp": "QQP",
                 "rte": "RTE", "stsb": "STS-B"}
