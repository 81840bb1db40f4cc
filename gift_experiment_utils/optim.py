"""AdamW parameter groups and the warmup + decay learning-rate schedule.

Groups: (method | head) × (decay | no decay). Biases and every other parameter with fewer than two
dimensions (norm scales, 1-D prompts) get no weight decay; the head has its own lr and weight decay.

Schedule, per parameter group with base lr `lr`, at time t = updates done so far (or epochs done, with
schedule_unit=epoch: the lr is set at the start of each epoch, as timm does):

    t < W:   lr(t) = start + (lr - start) · t / W                        (start = train.warmup_start_lr)
    t >= W:  lr(t) = min + (lr - min) · f((t - W) / (T - W))              (min = train.min_lr)
             f(p) = 1 - p (linear) | (1 + cos(π p)) / 2 (cosine) | 1 (constant)

With `train.warmup_prefix: false` the decay is f(t / T) instead: it runs over the whole of training from
t = 0 and the warmup only replaces its first W values. That is timm's `CosineLRScheduler` with its default
`warmup_prefix=False`, stepped per epoch, which the paper's vision code used; the values equal timm's at every
epoch (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import TrainSection


def param_groups(module: nn.Module, head_param_ids: set[int], train: TrainSection) -> list[dict]:
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for _, param in sorted(module.named_parameters(), key=lambda item: item[0]):
        if not param.requires_grad:
            continue
        key = (id(param) in head_param_ids, param.ndim >= 2)
        groups.setdefault(key, []).append(param)
    result = []
    for (is_head, decays), params in sorted(groups.items()):
        lr = train.head_lr if is_head and train.head_lr is not None else train.lr
        weight_decay = (
            train.head_weight_decay if is_head and train.head_weight_decay is not None else train.weight_decay
        )
        result.append(
            {
                "params": params,
                "lr": lr,
                "initial_lr": lr,
                "weight_decay": weight_decay if decays else 0.0,
                "name": f"{'head' if is_head else 'method'}_{'decay' if decays else 'no_decay'}",
            }
        )
    return result


def build_optimizer(module: nn.Module, head_param_ids: set[int], train: TrainSection) -> torch.optim.Optimizer:
    groups = param_groups(module, head_param_ids, train)
    return torch.optim.AdamW(groups, lr=train.lr, betas=tuple(train.betas), eps=train.eps)


@dataclass
class Schedule:
    """lr as a function of time; `apply(optimizer, t)` sets every group's lr."""

    kind: str  # linear | cosine | constant
    total: float  # T, in the schedule's unit
    warmup: float  # W
    start_lr: float
    min_lr: float
    warmup_prefix: bool = True  # the decay starts after the warmup (else it spans [0, T])

    def factor(self, progress: float) -> float:
        progress = min(max(progress, 0.0), 1.0)
        if self.kind == "linear":
            return 1.0 - progress
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0

    def lr(self, base_lr: float, t: float) -> float:
        if t < self.warmup:
            return self.start_lr + (base_lr - self.start_lr) * t / self.warmup
        start = self.warmup if self.warmup_prefix else 0.0
        span = max(self.total - start, 1e-12)
        return self.min_lr + (base_lr - self.min_lr) * self.factor((t - start) / span)

    def apply(self, optimizer: torch.optim.Optimizer, t: float) -> None:
        for group in optimizer.param_groups:
            group["lr"] = self.lr(group["initial_lr"], t)


def build_schedule(train: TrainSection, *, updates_per_epoch: int, total_updates: int) -> Schedule:
    """The schedule in the unit of `train.schedule_unit`, its warmup converted to that unit."""
    if train.schedule_unit == "epoch":
        total = math.ceil(total_updates / updates_per_epoch)
        warmup = train.warmup_epochs or train.warmup_ratio * total
    else:
        total = total_updates
        warmup = train.warmup_steps or train.warmup_epochs * updates_per_epoch or math.ceil(train.warmup_ratio * total)
    return Schedule(
        train.scheduler, float(total), float(warmup), train.warmup_start_lr, train.min_lr, train.warmup_prefix
    )
