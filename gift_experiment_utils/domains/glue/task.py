"""The GLUE domain: RoBERTa (or any transformers encoder) with a classification head on one GLUE task.

Two reporting protocols, picked by `task.protocol` and labelled in every table:

    paper   train on train; validate on the GLUE validation set every epoch; the reported number is the best
            validation score over epochs (results.json `best_val/<metric>`); the sweep also selects on it.
            Selection and report use the same split, as the paper (and the LoRA/VeRA tables) did.
    clean   hold out a fixed slice of train (task.heldout_*); validate on it every epoch and select the epoch
            and the sweep point on it; evaluate the GLUE validation set once, with the selected weights
            (results.json `test/<metric>`).

With `eval.test: true` and `task.predict_test: true`, the unlabelled GLUE test sets are predicted with the
weights of `eval.test_weights` and written in the GLUE-server format to <run>/predictions/ (CoLA.tsv,
MNLI-m.tsv, MNLI-mm.tsv, AX.tsv, ...); `python -m gift_experiment_utils.domains.glue.submit` gathers them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from ...model_source import resolve_source
from ...task import Splits, Task, TaskModel
from .data import TRAIN, DataLocation, heldout_indices, load_part
from .metrics import glue_metrics
from .predictions import write_predictions
from .specs import GLUE_TASKS, Part, TaskSpec

logger = logging.getLogger("gift_experiment_utils")

TaskName = Literal[tuple(GLUE_TASKS)]  # type: ignore[valid-type]  # the rows of GLUE_TASKS
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class GlueConfig:
    name: TaskName = "sst2"
    max_length: int = 512  # tokens per (pair of) sentence(s); longer inputs are truncated, longest first
    source: Literal["hub", "parquet", "tsv"] = "hub"  # where the data comes from (see data.py)
    hub_id: str = "nyu-mll/glue"  # source=hub: a dataset id (or a local dataset folder) for datasets.load_dataset
    data_dir: str | None = None  # source=parquet/tsv: the GLUE folder; None: <data.root>/glue
    tokenizer: str | None = None  # None: model.name
    protocol: Literal["paper", "clean"] = "paper"
    heldout_fraction: float = 0.1  # protocol=clean: this share of train is held out for selection ...
    heldout_max_examples: int | None = 5000  # ... at most this many rows (MNLI: 5000 of 393k)
    heldout_seed: int = 0  # the held-out rows are the same for every run (experiment.seed does not move them)
    predict_test: bool = True  # write GLUE-server prediction files of the unlabelled test sets
    predict_ax: bool = True  # mnli: also the diagnostic set AX (AX.tsv), scored with the MNLI model


@dataclass(frozen=True)
class EvalPart:
    """One named part of an evaluation split (a split may hold several, e.g. MNLI matched + mismatched)."""

    name: str
    labelled: bool
    size: int
    server_file: str | None = None


class GlueTask(Task):
    Config = GlueConfig

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.spec: TaskSpec = GLUE_TASKS[self.task_config.name]
        self.parts: dict[str, list[EvalPart]] = {}
        self._tokenizer = None

    # ------------------------------------------------------------------ config
    @classmethod
    def validate_config(cls, config: Any) -> None:
        task = config.task
        if not config.model.name:
            raise ValueError(
                "Config key 'model.name': give a hub id (FacebookAI/roberta-base) or a local model folder."
            )
        if task.max_length < 8:
            raise ValueError(f"Config key 'task.max_length': must be >= 8, got {task.max_length}.")
        if not 0.0 < task.heldout_fraction < 1.0:
            raise ValueError(f"Config key 'task.heldout_fraction': must be in (0, 1), got {task.heldout_fraction}.")
        if task.heldout_max_examples is not None and task.heldout_max_examples < 1:
            raise ValueError("Config key 'task.heldout_max_examples': must be >= 1 or null.")
        if task.protocol == "clean":
            # the GLUE validation set is the engine's test split, evaluated once with the selected weights
            for key, value, wanted in (
                ("eval.test", config.eval.test, True),
                ("eval.test_weights", config.eval.test_weights, "best"),
                ("checkpoint.save_best", config.checkpoint.save_best, True),
            ):
                if value != wanted:
                    raise ValueError(
                        f"Config key '{key}': task.protocol=clean reports the GLUE validation set once, "
                        f"with the weights selected on the held-out slice; set {key}={wanted} "
                        f"(got {value})."
                    )
        metric = config.eval.selection_metric
        if metric is not None and metric not in GLUE_TASKS[task.name].metrics:
            raise ValueError(
                f"Config key 'eval.selection_metric': {metric!r} is not a metric of GLUE task "
                f"{task.name!r}; choose one of {list(GLUE_TASKS[task.name].metrics)} or null."
            )

    def tag(self) -> str:
        return self.task_config.name if self.task_config.protocol == "paper" else f"{self.task_config.name}-clean"

    @property
    def selection_metric(self) -> str:
        return self.spec.selection_metric

    # ------------------------------------------------------------------ data
    def location(self) -> DataLocation:
        cfg = self.task_config
        data_dir = Path(cfg.data_dir) if cfg.data_dir else Path(self.config.data.root) / "glue"
        return DataLocation(source=cfg.source, data_dir=data_dir.expanduser(), hub_id=cfg.hub_id)

    def build_datasets(self) -> Splits:
        from accelerate import PartialState

        cfg, spec, where = self.task_config, self.spec, self.location()
        test_sets = [p for p in spec.test if p.name != "ax" or cfg.predict_ax]
        predict = self.config.eval.test and cfg.predict_test
        with PartialState().main_process_first():  # the hub and parquet loaders cache; the first process writes
            train = load_part(spec, TRAIN, where)
            validation = [(p, load_part(spec, p, where)) for p in spec.validation]
            test = [(p, load_part(spec, p, where)) for p in test_sets] if predict else []
        if cfg.protocol == "paper":
            val_parts, test_parts = validation, test
        else:
            kept, held = heldout_indices(
                len(train), fraction=cfg.heldout_fraction, max_examples=cfg.heldout_max_examples, seed=cfg.heldout_seed
            )
            train, heldout = train.select(kept), train.select(held)
            val_parts, test_parts = [(Part("heldout", "train", "train.tsv"), heldout)], validation + test
        self._load_tokenizer()
        return Splits(train=train, val=self._join("val", val_parts), test=self._join("test", test_parts))

    def _join(self, split: str, parts: list[tuple[Part, Any]]) -> Any:
        """The parts of one evaluation split as one dataset, each row tagged with its part's number."""
        import datasets

        if not parts:
            return None
        self.parts[split] = [
            EvalPart(p.name, labelled=p.server_file is None, size=len(d), server_file=p.server_file) for p, d in parts
        ]
        tagged = [d.add_column("part", [i] * len(d)) for i, (_, d) in enumerate(parts)]
        return datasets.concatenate_datasets(tagged)

    def _load_tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            key = "task.tokenizer" if self.task_config.tokenizer else "model.name"
            source = resolve_source(self.task_config.tokenizer or self.config.model.name, key=key)
            self._tokenizer = AutoTokenizer.from_pretrained(source.path, **source.kwargs())
        return self._tokenizer

    def collate(self, examples: list[dict[str, Any]], split: str) -> dict[str, torch.Tensor]:
        texts = [[example[key] for example in examples] for key in self.spec.text_keys]
        batch = dict(
            self._load_tokenizer()(
                *texts, truncation=True, max_length=self.task_config.max_length, padding=True, return_tensors="pt"
            )
        )
        dtype = torch.float32 if self.spec.is_regression else torch.long
        batch["labels"] = torch.tensor([example["label"] for example in examples], dtype=dtype)
        if split != "train":  # which part and row each prediction belongs to; never given to the model
            batch["part"] = torch.tensor([example["part"] for example in examples], dtype=torch.long)
            batch["index"] = torch.tensor([example["idx"] for example in examples], dtype=torch.long)
        return batch

    # ------------------------------------------------------------------ model
    def build_model(self) -> TaskModel:
        from transformers import AutoModelForSequenceClassification

        spec, source = self.spec, resolve_source(self.config.model.name)
        names = dict(enumerate(spec.label_names))  # {} for regression: no label names to pass
        labels = {"id2label": names, "label2id": {name: i for i, name in names.items()}} if names else {}
        model = AutoModelForSequenceClassification.from_pretrained(
            source.path,
            **source.kwargs(),
            num_labels=spec.num_labels,
            problem_type="regression" if spec.is_regression else "single_label_classification",
            dtype=getattr(torch, self.config.model.dtype),
            **labels,
        )
        heads = [name for name in ("classifier", "score") if isinstance(getattr(model, name, None), nn.Module)]
        if not heads:
            raise ValueError(
                f"{type(model).__name__} (model.name={self.config.model.name!r}) has no 'classifier' or "
                "'score' head; GLUE needs a transformers *ForSequenceClassification model."
            )
        return TaskModel(module=model, head_modules=heads[:1], gift_wrapper="seq_cls")

    # ------------------------------------------------------------------ evaluation
    def eval_step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        inputs = {key: batch[key] for key in MODEL_INPUTS if key in batch}  # no labels: test rows have label -1
        logits = model(**inputs).logits.float()
        prediction = logits.squeeze(-1) if self.spec.is_regression else logits.argmax(-1)
        return {"prediction": prediction, "label": batch["labels"], "part": batch["part"], "index": batch["index"]}

    def compute_metrics(self, outputs: dict[str, torch.Tensor], split: str) -> dict[str, float]:
        """Metrics of each labelled part, `score` being the task's paper metric, and a prediction file for each
        unlabelled part. The first labelled part (else the first part) is unprefixed: `accuracy` is MNLI matched,
        `mismatched_accuracy` mismatched; the test split of the paper protocol counts `num_examples`."""
        metrics: dict[str, float] = {}
        parts = self.parts[split]
        primary = next((i for i, p in enumerate(parts) if p.labelled), 0)  # its keys go unprefixed
        for number, part in enumerate(parts):
            rows = outputs["part"] == number
            if not rows.any():  # cut off by data.max_eval_samples
                continue
            prefix = "" if number == primary else f"{part.name}_"
            prediction, label, index = outputs["prediction"][rows], outputs["label"][rows], outputs["index"][rows]
            if part.labelled:
                scores = glue_metrics(self.spec.name, prediction.numpy(), label.numpy())
                scores["score"] = scores[self.spec.selection_metric]  # the paper's number, whatever the task
                metrics |= {f"{prefix}{name}": value for name, value in scores.items()}
            else:
                self._write_predictions(part, index, prediction)
            metrics[f"{prefix}num_examples"] = int(rows.sum())
        return metrics

    def _write_predictions(self, part: EvalPart, index: torch.Tensor, prediction: torch.Tensor) -> None:
        from accelerate import PartialState

        if not PartialState().is_main_process:
            return
        folder = self.output_folder("predictions")
        path = write_predictions(self.spec, part.server_file, folder, index.tolist(), prediction.tolist())
        if len(index) < part.size:
            logger.warning(
                f"{path} holds {len(index)} of {part.size} rows (data.max_eval_samples); the GLUE server "
                "needs every row."
            )
