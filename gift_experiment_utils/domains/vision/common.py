"""What FGVC and VTAB share: image records, the dataset that transforms them, the classification task.

A *source* is a random-access list of labelled images: `len(source)` and `source.record(i)` →
`ImageRecord(image, label, identifier)`, the image an RGB PIL image as stored (not resized or normalised).
`ImageDataset` turns a source into training items with a torchvision transform; the interpretability
tool reads sources directly (see `sources.py`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ...task import Task, TaskModel
from .backbone import BackboneOptions, build_vit, check_model_name, normalization


class ImageRecord(NamedTuple):
    image: Any  # PIL.Image in RGB, as stored
    label: int  # class index in [0, num_classes)
    identifier: str  # relative path, or "<task>/<split>/<index>" for tfds


class ImageSource(Protocol):
    num_classes: int

    def __len__(self) -> int: ...

    def record(self, index: int) -> ImageRecord: ...


class ImageDataset(torch.utils.data.Dataset):
    """Map-style dataset over a source: item = {"pixel_values": (3, S, S) float, "labels": int}."""

    def __init__(self, source: ImageSource, transform: Any) -> None:
        self.source, self.transform = source, transform

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.source.record(index)
        return {"pixel_values": self.transform(record.image), "labels": record.label}


# ---------------------------------------------------------------------------------------------- transforms
def resize_for(image_size: int) -> int:
    """The paper's Resize 256 before a 224 crop, scaled to other input sizes (256/224 × image_size)."""
    return math.floor(image_size * 256 / 224)


def crop_transform(model_name: str, *, image_size: int, resize: int, train: bool) -> Any:
    """FGVC: train Resize(shorter side)→RandomCrop→HFlip; eval Resize→CenterCrop; normalised."""
    from torchvision import transforms as T

    mean, std = normalization(model_name)
    steps = [T.Resize(resize)]
    steps += [T.RandomCrop(image_size), T.RandomHorizontalFlip()] if train else [T.CenterCrop(image_size)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(mean, std)])


def resize_transform(model_name: str, *, image_size: int) -> Any:
    """VTAB: resize to image_size × image_size (aspect not kept), no augmentation; normalised."""
    from torchvision import transforms as T

    mean, std = normalization(model_name)
    return T.Compose([T.Resize((image_size, image_size)), T.ToTensor(), T.Normalize(mean, std)])


# ---------------------------------------------------------------------------------------------- the task
class ImageClassificationTask(Task):
    """Cross-entropy on a timm ViT; top-1 accuracy. Subclasses give `num_classes` and `build_datasets`."""

    selection_metric = "accuracy"
    task_config: BackboneOptions

    @classmethod
    def validate_config(cls, config: Any) -> None:
        check_model_name(config.model.name)
        config.task.check_backbone()

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    @property
    def model_name(self) -> str:
        return self.config.model.name

    def collate(self, examples: list[dict[str, Any]], split: str) -> dict[str, torch.Tensor]:
        return {
            "pixel_values": torch.stack([e["pixel_values"] for e in examples]),  # (B, 3, S, S)
            "labels": torch.tensor([e["labels"] for e in examples], dtype=torch.long),  # (B,)
        }

    def build_model(self) -> TaskModel:
        model = build_vit(self.model_name, num_classes=self.num_classes, options=self.task_config)
        return TaskModel(module=model, head_modules=["head"], gift_wrapper="image_cls")

    def training_loss(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        logits = model(batch["pixel_values"])  # (B, num_classes)
        return F.cross_entropy(logits.float(), batch["labels"])

    def eval_step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = model(batch["pixel_values"])
        return {"prediction": logits.argmax(-1), "label": batch["labels"]}

    def compute_metrics(self, outputs: dict[str, torch.Tensor], split: str) -> dict[str, float]:
        prediction, label = outputs["prediction"], outputs["label"]
        return {"accuracy": (prediction == label).float().mean().item(), "num_examples": len(label)}
