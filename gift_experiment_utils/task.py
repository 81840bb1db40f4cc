"""The Task interface: everything a domain supplies to the engine, and nothing about the loop.

A domain (language modeling, GLUE, vision, ...) is a package `gift_experiment_utils/domains/<domain>/` (or a
module `gift_experiment_utils/domains/<domain>.py`) whose top level defines `TASK = <its Task subclass>`.
`experiment.domain: <domain>` in a config picks it; nothing in the engine changes when a domain is added.
`experiment.domain: module:Class` names a task class in the package or under a top-level package listed
in $GIFT_TASK_MODULES; the name is checked before anything is imported (`task_location`).
Per-dataset differences stay inside the domain as rows of a table keyed by a field of its config.

    @dataclass
    class GlueConfig:                       # the `task:` section of the config, validated like the rest
        name: Literal["cola", "sst2", ...] = "sst2"
        max_length: int = 512

    class GlueTask(Task):
        Config = GlueConfig

        def tag(self): return self.task_config.name                     # goes into run names
        @property
        def selection_metric(self): return GLUE_TASKS[self.task_config.name].metric
        def build_datasets(self): return Splits(train=..., val=..., test=None)
        def collate(self, examples, split): return tokenizer.pad(...)   # -> dict of tensors
        def build_model(self): return TaskModel(module=..., head_modules=["classifier"], gift_wrapper="seq_cls")
        def eval_step(self, model, batch): return {"pred": logits.argmax(-1), "label": batch["labels"]}
        def compute_metrics(self, outputs, split): return {"accuracy": ..., "matthews_correlation": ...}

    TASK = GlueTask

What the engine does with it, in order (see `train.py`):
1. `validate_config(config)` (classmethod) right after the config is parsed, before anything loads.
2. `build_datasets()` and `build_model()` once per process; the engine applies the method (GIFT, LoRA, ...)
   to `TaskModel.module`, training `head_modules` with every method, and wraps it for accelerate.
3. Training: `training_loss(model, batch)` per micro-batch (default: `model(**batch).loss`).
4. Evaluation: `evaluate(model, loader, split, gather)`; the default runs `eval_step` on each batch of this
   process's shard, gathers the outputs of all processes in dataset order, and calls `compute_metrics`
   on every process with the whole split. Override `evaluate` only for something that needs its own loop.
The metric named by `selection_metric` (validation split) picks the best checkpoint and sweep winner.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import nn

from .config import EmptyTaskConfig

if TYPE_CHECKING:
    from .config import Config

GiftWrapperKind = Literal["base", "causal_lm", "seq_cls", "image_cls"]


@dataclass
class Splits:
    """Map-style datasets (anything with `__len__` and `__getitem__`); val and test may be absent."""

    train: Any
    val: Any | None = None
    test: Any | None = None

    def get(self, split: str) -> Any | None:
        return getattr(self, split)


@dataclass
class TaskModel:
    """A backbone with its task head, before any method is applied."""

    module: nn.Module
    head_modules: list[str] = field(default_factory=list)  # submodule names that train with every method
    gift_wrapper: GiftWrapperKind = "base"  # which GIFTWrapper class the `gift` method uses


class Task:
    """Base class of a domain task; subclasses set `Config` and implement the methods marked required."""

    Config: ClassVar[type] = EmptyTaskConfig  # dataclass of the `task:` config section
    selection_metric: str = "accuracy"  # a key of compute_metrics' result; may be a property
    greater_is_better: bool = True

    def __init__(self, config: Config) -> None:
        self.config = config
        self.task_config = config.task
        self.run_folder: Path | None = None  # the run's folder; the engine sets it before setup

    def output_folder(self, name: str) -> Path:
        """`<run folder>/<name>/`, created: where a task writes files of its own (predictions, submissions)."""
        if self.run_folder is None:
            raise RuntimeError(
                f"{type(self).__name__}.run_folder is not set: the engine sets it before setup; code that calls "
                "the task's evaluation directly sets `task.run_folder = <folder>` first."
            )
        folder = Path(self.run_folder) / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ------------------------------------------------------------------ config
    @classmethod
    def validate_config(cls, config: Config) -> None:
        """Cross-field checks of the whole config (raise ValueError naming the key); nothing may load here."""

    def tag(self) -> str:
        """A short name of the task for run folders (e.g. the GLUE or VTAB task name)."""
        return self.config.experiment.domain

    # ------------------------------------------------------------------ required
    def build_datasets(self) -> Splits:
        raise NotImplementedError

    def collate(self, examples: list[Any], split: str) -> dict[str, Any]:
        """A list of dataset items -> one batch (a dict; tensors are moved to the device by the engine)."""
        raise NotImplementedError

    def build_model(self) -> TaskModel:
        raise NotImplementedError

    def eval_step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor | list]:
        """Per-example outputs of one batch: tensors (first dim = batch) or lists of Python objects."""
        raise NotImplementedError

    def compute_metrics(self, outputs: dict[str, torch.Tensor | list], split: str) -> dict[str, float]:
        """Metrics of a whole split from the gathered `eval_step` outputs (CPU tensors / lists)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ overridable defaults
    def training_loss(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        """The mean loss of one micro-batch; `model` is the (possibly DDP-wrapped) trained model."""
        return model(**batch).loss

    def enable_gradient_checkpointing(self, module: nn.Module) -> None:
        """Non-reentrant checkpointing on the backbone (transformers or timm): shared θ under DDP needs it."""
        no_reentrant = {"use_reentrant": False}
        if hasattr(module, "activation_checkpointing_enable"):  # transformers >= 5.x
            module.activation_checkpointing_enable(activation_checkpointing_kwargs=no_reentrant)
        elif hasattr(module, "gradient_checkpointing_enable"):
            module.gradient_checkpointing_enable(gradient_checkpointing_kwargs=no_reentrant)
        elif hasattr(module, "set_grad_checkpointing"):  # timm
            from timm.layers import set_reentrant_ckpt

            set_reentrant_ckpt(False)
            module.set_grad_checkpointing(True)
        else:
            raise ValueError(
                f"model.gradient_checkpointing=true, but {type(module).__name__} has no checkpointing switch "
                "(activation_checkpointing_enable / gradient_checkpointing_enable / set_grad_checkpointing); set it "
                "to false or override Task.enable_gradient_checkpointing."
            )

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loader: Any, split: str, gather: Callable[[Any], Any]) -> dict[str, float]:
        """Run `eval_step` over this process's shard, gather across processes, compute the split's metrics."""
        parts: dict[str, list] = {}
        for batch in loader:
            for key, value in self.eval_step(model, batch).items():
                parts.setdefault(key, []).append(gather(value))
        return self.compute_metrics({k: _concat(v) for k, v in parts.items()}, split)


def _concat(parts: Sequence[Any]) -> torch.Tensor | list:
    if parts and isinstance(parts[0], torch.Tensor):
        return torch.cat([p.detach().cpu() for p in parts])
    return [item for part in parts for item in part]


# ---------------------------------------------------------------------------------------------- registry
def available_domains() -> list[str]:
    """The domains: every module and package of `gift_experiment_utils.domains`."""
    from . import domains

    return sorted(m.name for m in pkgutil.iter_modules(domains.__path__) if not m.name.startswith("_"))


# experiment.domain: a dotted module name, optionally `:Class`
DOMAIN_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?"
# Top-level packages (comma-separated) whose modules `experiment.domain: module:Class` may import, besides
# gift_experiment_utils. An environment variable, not a config key: a config must not widen what it may import.
TASK_MODULES_ENV = "GIFT_TASK_MODULES"


def task_location(domain: str) -> tuple[str, str]:
    """The (module, attribute) that `experiment.domain` names, checked before anything is imported."""
    if not re.fullmatch(DOMAIN_PATTERN, domain):
        raise ValueError(
            f"Config key 'experiment.domain': {domain!r} is not a domain. Give one of {available_domains()} "
            "(a sub-domain as vision.vtab) or module:TaskClass (e.g. mypkg.tasks:MyTask)."
        )
    module_name, _, attr = domain.partition(":")
    if not attr:
        if module_name.split(".")[0] not in available_domains():
            raise ValueError(
                f"Config key 'experiment.domain': no domain {domain!r} in gift_experiment_utils.domains. "
                f"Available: {available_domains()}; or give 'package.module:TaskClass'."
            )
        return f"gift_experiment_utils.domains.{module_name}", "TASK"
    listed = [p.strip() for p in os.environ.get(TASK_MODULES_ENV, "").split(",") if p.strip()]
    if not any(module_name == p or module_name.startswith(f"{p}.") for p in ["gift_experiment_utils", *listed]):
        top = module_name.split(".")[0]
        raise ValueError(
            f"Config key 'experiment.domain': {domain!r} would import {module_name}, which is outside "
            f"gift_experiment_utils and not allowed by ${TASK_MODULES_ENV} (now {listed}). Task modules are "
            "imported only from gift_experiment_utils or the top-level packages listed there (comma-separated); "
            f"to trust {top}, run with {TASK_MODULES_ENV}={','.join([*listed, top])}."
        )
    return module_name, attr


def get_task_class(domain: str) -> type[Task]:
    """The `TASK` of `gift_experiment_utils.domains.<domain>`, or `module:Class` inside the package or an allowed one."""
    module_name, attr = task_location(domain)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if not (module_name == error.name or module_name.startswith(f"{error.name}.")):
            raise  # the module exists, but something it imports does not
        raise ValueError(
            f"Config key 'experiment.domain': no domain {domain!r} (module {module_name} not found). "
            f"Available: {available_domains()}; or give 'package.module:TaskClass'."
        ) from None
    task_cls = getattr(module, attr, None)
    if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
        raise ValueError(
            f"Config key 'experiment.domain': {domain!r} needs {module_name}.{attr} to be a Task subclass, got "
            f"{task_cls!r}. A domain module sets `TASK = <its Task subclass>`; module:Class names the class."
        )
    if not dataclasses.is_dataclass(task_cls.Config):
        raise TypeError(f"{task_cls.__name__}.Config must be a dataclass (the `task:` config section).")
    return task_cls
