"""A built-in task small enough for tests: generated token sequences on a tiny random BERT.

Label of a sequence (classification, `num_labels >= 2`): which of `num_labels` equal ranges of the
vocabulary its first token falls in. Regression (`num_labels: 1`): the first token's id / vocab_size.
The backbone is a 2-layer BERT with random weights drawn from `task.model_seed` (the same "pretrained"
backbone for every run), so GIFT targets `query`/`value` and a `classifier` head as on RoBERTa.

    python -m gift_experiment_utils.run --config configs/toy/gift.yaml train.epochs=2
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..task import Splits, Task, TaskModel


@dataclass
class ToyConfig:
    num_train: int = 256
    num_val: int = 64
    num_test: int = 64
    seq_len: int = 8
    vocab_size: int = 32
    num_labels: int = 2  # 1: regression
    hidden_size: int = 16
    num_layers: int = 2
    num_heads: int = 2
    dropout: float = 0.1
    data_seed: int = 0  # the generated data does not depend on experiment.seed
    model_seed: int = 0  # nor does the "pretrained" backbone
    item_delay_s: float = 0.0  # sleep per item read: slows a run down for kill-and-resume tests

    def validate(self) -> None:
        if self.num_labels < 1:
            raise ValueError(f"Config key 'task.num_labels': must be >= 1 (1 = regression), got {self.num_labels}.")
        if self.hidden_size % self.num_heads:
            raise ValueError("Config key 'task.num_heads': must divide task.hidden_size.")


class ToyDataset(torch.utils.data.Dataset):
    def __init__(self, size: int, config: ToyConfig, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.input_ids = torch.randint(0, config.vocab_size, (size, config.seq_len), generator=generator)
        first = self.input_ids[:, 0]  # (size,)
        if config.num_labels == 1:
            self.labels = first.float() / config.vocab_size
        else:
            self.labels = first * config.num_labels // config.vocab_size
        self.delay = config.item_delay_s

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.delay:
            time.sleep(self.delay)
        return {"input_ids": self.input_ids[index], "labels": self.labels[index]}


class ToyTask(Task):
    Config = ToyConfig

    @property
    def regression(self) -> bool:
        return self.task_config.num_labels == 1

    @property
    def selection_metric(self) -> str:
        return "neg_mse" if self.regression else "accuracy"

    def build_datasets(self) -> Splits:
        cfg = self.task_config
        return Splits(
            train=ToyDataset(cfg.num_train, cfg, seed=cfg.data_seed),
            val=ToyDataset(cfg.num_val, cfg, seed=cfg.data_seed + 1),
            test=ToyDataset(cfg.num_test, cfg, seed=cfg.data_seed + 2) if cfg.num_test else None,
        )

    def collate(self, examples: list[dict[str, torch.Tensor]], split: str) -> dict[str, torch.Tensor]:
        input_ids = torch.stack([e["input_ids"] for e in examples])
        return {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "labels": torch.stack([e["labels"] for e in examples]),
        }

    def build_model(self) -> TaskModel:
        from transformers import BertConfig, BertForSequenceClassification

        cfg = self.task_config
        bert = BertConfig(
            vocab_size=cfg.vocab_size,
            hidden_size=cfg.hidden_size,
            num_hidden_layers=cfg.num_layers,
            num_attention_heads=cfg.num_heads,
            intermediate_size=2 * cfg.hidden_size,
            max_position_embeddings=cfg.seq_len + 2,
            num_labels=cfg.num_labels,
            hidden_dropout_prob=cfg.dropout,
            attention_probs_dropout_prob=cfg.dropout,
            problem_type="regression" if self.regression else "single_label_classification",
            initializer_range=0.2,  # larger than BERT's 0.02, so the random "pretrained" features are not tiny
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.model_seed)
            model = BertForSequenceClassification(bert)
        return TaskModel(module=model, head_modules=["classifier"], gift_wrapper="seq_cls")

    def eval_step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        prediction = logits.squeeze(-1) if self.regression else logits.argmax(-1)
        return {"prediction": prediction, "label": batch["labels"]}

    def compute_metrics(self, outputs: dict[str, torch.Tensor], split: str) -> dict[str, float]:
        prediction, label = outputs["prediction"].float(), outputs["label"].float()
        if self.regression:
            mse = torch.mean((prediction - label) ** 2).item()
            return {"mse": mse, "neg_mse": -mse, "num_examples": len(label)}
        return {"accuracy": (prediction == label).float().mean().item(), "num_examples": len(label)}


TASK = ToyTask
