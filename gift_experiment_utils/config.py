"""The typed schema of an experiment: one dataclass per section, defaults here and only here.

A resolved config has the sections

    experiment   name, domain, seed, where runs go
    model        the backbone the task builds (name or path, dtype, gradient checkpointing)
    method       gift | lora | bitfit | vpt | full | linear, each with its own fields (tagged by `name`)
    data         loader settings shared by every domain
    train        optimisation: batch, accumulation, AdamW groups, schedule, precision, clipping
    eval         when to validate, which metric selects, which weights are tested
    checkpoint   when to save, resume, export
    log          wandb and the progress bar
    task         the domain's own dataclass (`Task.Config`), e.g. the GLUE task name

`load_config` (in `loading.py`) fills these from YAML files and dotted overrides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from gift.config import GIFTArguments


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ValueError(f"Config key '{key}': {message}")


def _require_number(
    value: float | None, key: str, *, low: float, strict: bool, optional: bool = False, hint: str = ""
) -> None:
    """`value` is finite and > low (strict) or >= low; None passes when `optional`."""
    if optional and value is None:
        return
    ok = value is not None and math.isfinite(value) and (value > low if strict else value >= low)
    bound = f"{'>' if strict else '>='} {low:g}"
    _require(ok, key, f"must be a finite number {bound}{' or null' if optional else ''}{hint}, got {value}.")


def _require_counts(section: Any, prefix: str, *keys: str) -> None:
    """Each of `keys` is null or >= 1 (a count, a size or an interval)."""
    for key in keys:
        value = getattr(section, key)
        _require(value is None or value >= 1, f"{prefix}.{key}", f"must be >= 1 or null, got {value}.")


def _require_folder(value: str, key: str, pattern: str, allowed: str) -> None:
    """`value` is one folder name, or with '/' in `pattern` a relative path that stays below its parent."""
    _require(
        bool(re.fullmatch(pattern, value)),
        key,
        f"{value!r} is not a valid folder name; use {allowed} only (it becomes part of the run folder).",
    )
    _require(
        all(part not in ("", ".", "..") for part in value.split("/")),
        key,
        f"{value!r} would put runs outside <experiment.output_root>/<experiment.domain>/: no '.' or '..' "
        "parts, empty parts, leading or trailing '/'. Give a name such as 'glue/gift_sweep'.",
    )


@dataclass
class ExperimentSection:
    name: str = "default"  # runs/<domain>/<name>/<run_name>/
    domain: str = ""  # required: picks the task, gift_experiment_utils.<domain>.TASK or module:Class (task.py)
    seed: int = 42
    output_root: str = "runs"
    run_name: str | None = None  # None: built from the config (task, method, lr, wd, seed), never the clock

    def validate(self) -> None:
        # experiment.domain is checked when the config is built (task.task_location), before anything loads
        _require_folder(self.name, "experiment.name", r"[A-Za-z0-9_.\-/]+", "letters, digits and _ - . /")
        if self.run_name is not None:
            _require_folder(
                self.run_name, "experiment.run_name", r"[A-Za-z0-9_.\-=,+]+", "letters, digits and _ - . = , +"
            )


@dataclass
class ModelSection:
    name: str = ""  # hub id, timm name or local folder; the task decides how to load it
    # Of the frozen backbone weights: the task should load them so; the engine casts a float32 module it gets.
    # Half precision needs train.mixed_precision: trained weights and optimizer state always stay float32.
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    gradient_checkpointing: bool = False  # non-reentrant, so shared θ works under DDP


# ---------------------------------------------------------------------------------------------- methods
@dataclass
class MethodSection:
    """Base of every method section; `name` is the tag that picks the dataclass."""

    name: str = "gift"
    tag_format: ClassVar[str] = "{name}"  # the method's part of the run name, filled from its fields

    def tag(self) -> str:
        return self.tag_format.format(**vars(self))


@dataclass
class GIFTMethod(GIFTArguments, MethodSection):
    """`method: {name: gift, ...}`: the library's arguments (`gift.config.GIFTArguments`, its defaults), checked
    by `GIFTConfig` when the config is loaded."""

    name: str = "gift"
    tag_format: ClassVar[str] = "gift_r{rank}"

    def gift_config(self) -> Any:
        import gift

        return gift.GIFTConfig(**self.to_kwargs())

    def validate(self) -> None:
        try:
            self.gift_config()
        except (TypeError, ValueError) as error:
            raise ValueError(f"Config section 'method' (gift): {error}") from None


@dataclass
class LoRAMethod(MethodSection):
    name: str = "lora"
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: list[str] | str = field(default_factory=lambda: ["q_proj", "v_proj"])
    layers_to_transform: list[int] | None = None
    tag_format: ClassVar[str] = "lora_r{rank}"

    def validate(self) -> None:
        _require(self.rank >= 1, "method.rank", f"must be >= 1, got {self.rank}.")
        _require(0.0 <= self.dropout < 1.0, "method.dropout", f"must be in [0, 1), got {self.dropout}.")


@dataclass
class BitFitMethod(MethodSection):
    name: str = "bitfit"
    scope: Literal["all", "linear"] = "all"  # every bias, or the biases of nn.Linear layers only


@dataclass
class VPTMethod(MethodSection):
    name: str = "vpt"
    num_prompts: int = 5  # prompt tokens inserted after the prefix (CLS) tokens
    deep: bool = True  # new prompts before every block (VPT-deep), or only before the first
    dropout: float = 0.0
    tag_format: ClassVar[str] = "vpt_p{num_prompts}"

    def validate(self) -> None:
        _require(self.num_prompts >= 1, "method.num_prompts", f"must be >= 1, got {self.num_prompts}.")
        _require(0.0 <= self.dropout < 1.0, "method.dropout", f"must be in [0, 1), got {self.dropout}.")


@dataclass
class FullMethod(MethodSection):
    name: str = "full"


@dataclass
class LinearMethod(MethodSection):
    name: str = "linear"


METHODS: dict[str, type[MethodSection]] = {
    "gift": GIFTMethod,
    "lora": LoRAMethod,
    "bitfit": BitFitMethod,
    "vpt": VPTMethod,
    "full": FullMethod,
    "linear": LinearMethod,
}


# ---------------------------------------------------------------------------------------------- loop
@dataclass
class DataSection:
    eval_batch_size: int | None = None  # None: train.batch_size
    num_workers: int = 0
    max_train_samples: int | None = None  # cap for smoke runs
    max_eval_samples: int | None = None
    root: str = "data"  # where domains look for local data

    def validate(self) -> None:
        _require(self.num_workers >= 0, "data.num_workers", "must be >= 0.")
        _require_counts(self, "data", "eval_batch_size", "max_train_samples", "max_eval_samples")


@dataclass
class TrainSection:
    epochs: int = 1
    max_steps: int | None = None  # optimizer updates; caps `epochs` when set
    batch_size: int = 8  # per device, per forward (micro-batch); with effective_batch_size, the cap on it
    # Give effective_batch_size or grad_accum_steps (or neither: accum 1). With effective_batch_size E on W
    # processes (E a multiple of W), the micro-batch is the largest divisor of E / W up to batch_size and the
    # accumulation fills the rest: micro × accum × W = E on 1, 2, 4 or 8 GPUs alike (train.batch_split).
    effective_batch_size: int | None = None
    grad_accum_steps: int | None = None
    lr: float = 1e-4
    weight_decay: float = 0.0  # never applied to biases or other 1-D parameters
    head_lr: float | None = None  # the task head's own lr / weight decay; None: same as the method's
    head_weight_decay: float | None = None
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    scheduler: Literal["linear", "cosine", "constant"] = "linear"
    schedule_unit: Literal["step", "epoch"] = "step"  # lr changes after every update, or once per epoch
    warmup_ratio: float = 0.0  # give at most one of the three warmups
    warmup_steps: int = 0
    warmup_epochs: float = 0.0
    warmup_start_lr: float = 0.0  # absolute lr at the start of warmup (vision: 1e-7)
    min_lr: float = 0.0  # absolute lr at the end of the decay (vision: 1e-6)
    # true: the decay starts when the warmup ends (HF's schedules); false: the decay spans all of training from
    # t = 0 and the warmup replaces its first values (timm's default `warmup_prefix=False`, the vision recipe)
    warmup_prefix: bool = True
    max_grad_norm: float | None = None
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    find_unused_parameters: bool = False  # DDP; not needed for any shipped method
    log_every: int = 10  # updates between logged training losses

    def validate(self) -> None:
        _require(self.epochs >= 1, "train.epochs", f"must be >= 1, got {self.epochs}.")
        _require(self.batch_size >= 1, "train.batch_size", f"must be >= 1, got {self.batch_size}.")
        _require_counts(self, "train", "max_steps", "grad_accum_steps", "effective_batch_size")
        _require(
            self.effective_batch_size is None or self.grad_accum_steps is None,
            "train.effective_batch_size",
            "give either train.effective_batch_size or train.grad_accum_steps, not both.",
        )
        self._validate_optimizer()
        warmups = [k for k in ("warmup_ratio", "warmup_steps", "warmup_epochs") if getattr(self, k)]
        _require(
            len(warmups) <= 1,
            f"train.{warmups[-1] if warmups else ''}",
            f"set only one of train.warmup_ratio / warmup_steps / warmup_epochs (got {warmups}).",
        )
        _require(0.0 <= self.warmup_ratio < 1.0, "train.warmup_ratio", "must be in [0, 1).")
        _require(
            not (self.schedule_unit == "epoch" and self.warmup_steps),
            "train.warmup_steps",
            "with train.schedule_unit=epoch give the warmup as train.warmup_epochs.",
        )
        _require(self.log_every >= 1, "train.log_every", "must be >= 1.")

    def _validate_optimizer(self) -> None:
        """AdamW and schedule values: finite, in range, and a decay that goes down (min_lr <= every base lr)."""
        _require_number(self.lr, "train.lr", low=0, strict=True)
        _require_number(self.head_lr, "train.head_lr", low=0, strict=True, optional=True)
        _require_number(self.weight_decay, "train.weight_decay", low=0, strict=False)
        _require_number(self.head_weight_decay, "train.head_weight_decay", low=0, strict=False, optional=True)
        _require(
            len(self.betas) == 2 and all(0.0 <= beta < 1.0 for beta in self.betas),
            "train.betas",
            f"needs two values in [0, 1) (AdamW's beta1, beta2), got {self.betas}; e.g. train.betas=[0.9,0.999].",
        )
        _require_number(self.eps, "train.eps", low=0, strict=True)
        _require_number(self.warmup_start_lr, "train.warmup_start_lr", low=0, strict=False)
        _require_number(self.min_lr, "train.min_lr", low=0, strict=False)
        for key in ("lr", "head_lr"):
            base = getattr(self, key)
            _require(
                base is None or self.min_lr <= base,
                "train.min_lr",
                f"must be <= train.{key}={base} (the decay would otherwise raise the lr), got {self.min_lr}. "
                "Lower it (0 decays to zero).",
            )
        _require_number(
            self.max_grad_norm, "train.max_grad_norm", low=0, strict=True, optional=True, hint=" (null: no clipping)"
        )
        _require(self.warmup_steps >= 0, "train.warmup_steps", f"must be >= 0, got {self.warmup_steps}.")
        _require_number(self.warmup_epochs, "train.warmup_epochs", low=0, strict=False)


@dataclass
class EvalSection:
    every_epochs: int | None = 1  # validate after every N epochs (null: never by epoch)
    every_steps: int | None = None  # and/or every N updates
    at_start: bool = False  # validate the untrained model too (step 0)
    selection_metric: str | None = None  # a key of the task's metrics; None: Task.selection_metric
    greater_is_better: bool | None = None  # None: the task's
    test: bool = True  # evaluate the test split at the end (if the task has one)
    test_weights: Literal["last", "best"] = "last"
    # Evaluate without training (`run --eval-only`): the val and test splits, with the method as initialised
    # (zero-shot: GIFT's ψ = 0 and LoRA's B = 0 leave the backbone as it is) or with the saved `adapter`.
    only: bool = False
    adapter: str | None = None  # a run's adapter/ folder, or the run folder holding one (`run --adapter DIR`)

    def validate(self) -> None:
        _require_counts(self, "eval", "every_epochs", "every_steps")
        _require(
            self.adapter is None or self.only,
            "eval.adapter",
            f"{self.adapter!r} is loaded only by an evaluate-only run; add --eval-only (eval.only=true), or unset "
            "eval.adapter to train.",
        )
        _require(self.adapter != "", "eval.adapter", "is empty; give a folder, or null for zero-shot.")


@dataclass
class CheckpointSection:
    every_steps: int | None = None  # save the resumable `last.pt` every N updates
    every_epochs: int | None = 1  # and at the end of every N epochs
    save_best: bool = True  # trainable weights at the best validation score (`best.pt`)
    resume: bool = True  # continue from `last.pt` when the run folder has one
    keep_last_at_end: bool = True  # False: delete `last.pt` (optimizer state) once results.json is written
    export: bool = True  # write the adapter in its library's format to <run>/adapter/

    def validate(self) -> None:
        _require_counts(self, "checkpoint", "every_steps", "every_epochs")


@dataclass
class LogSection:
    wandb: Literal["disabled", "off", "offline", "online"] = "disabled"  # off = disabled
    project: str = "gift"
    entity: str | None = None
    # None: <experiment name>/<config hash>, one group per table row (its seeds; a sweep's grid point)
    group: str | None = None
    job_type: str | None = None  # None: "train"; sweeps set "search" and "final"
    tags: list[str] = field(default_factory=list)
    progress_bar: bool = True


@dataclass
class EmptyTaskConfig:
    """For tasks without options."""


@dataclass
class Config:
    experiment: ExperimentSection = field(default_factory=ExperimentSection)
    model: ModelSection = field(default_factory=ModelSection)
    method: MethodSection = field(default_factory=GIFTMethod)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    log: LogSection = field(default_factory=LogSection)
    task: Any = field(default_factory=EmptyTaskConfig)

    def validate(self) -> None:
        for item in fields(self):
            section = getattr(self, item.name)
            if hasattr(section, "validate"):
                section.validate()
        _require(
            self.model.dtype == "float32" or self.train.mixed_precision != "no",
            "model.dtype",
            f"a {self.model.dtype} backbone needs train.mixed_precision=bf16 (or fp16): the trained weights and "
            "their optimizer state stay float32 and autocast runs the backbone in half precision. Set "
            "train.mixed_precision, or model.dtype=float32.",
        )
