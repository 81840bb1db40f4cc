"""Training batches that are the same for any number of processes, and resumable mid-epoch.

Each epoch the dataset is permuted with a generator seeded by (seed, epoch) and cut into global batches of
`batch_size` (the incomplete last one dropped). Process r of W takes global batches r, r + W, r + 2W, ...,
so one update of W processes with accumulation A sees global batches [u·W·A, (u+1)·W·A), exactly what one
process with accumulation W·A sees. Micro-batches that do not fill a whole update are dropped.
Resuming at (epoch, micro-batch k) replays the same permutation from k without reading the skipped items.

Mid-epoch resumption is exact when items are read in the main process (`data.num_workers: 0`) or when
random augmentation does not depend on worker RNG state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler


@dataclass(frozen=True)
class Layout:
    """How an epoch is cut: per process, `updates` updates of `accum` micro-batches of `batch_size`."""

    batch_size: int
    accum: int
    world_size: int
    dataset_size: int

    @property
    def micro_batches(self) -> int:  # per process, per epoch, all used
        return self.updates * self.accum

    @property
    def updates(self) -> int:
        global_batches = self.dataset_size // self.batch_size
        return global_batches // (self.world_size * self.accum)

    @property
    def examples_per_update(self) -> int:  # the effective batch
        return self.batch_size * self.accum * self.world_size

    @property
    def dropped_examples(self) -> int:
        return self.dataset_size - self.updates * self.examples_per_update


class EpochSampler(Sampler[int]):
    """Indices of this process's micro-batches for one epoch, starting at micro-batch `start`."""

    def __init__(self, layout: Layout, *, rank: int, seed: int) -> None:
        self.layout, self.rank, self.seed = layout, rank, seed
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[int]:
        layout = self.layout
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(layout.dataset_size, generator=generator)
        for micro in range(self.start, layout.micro_batches):
            global_batch = micro * layout.world_size + self.rank
            yield from order[global_batch * layout.batch_size : (global_batch + 1) * layout.batch_size].tolist()

    def __len__(self) -> int:
        return (self.layout.micro_batches - self.start) * self.layout.batch_size


def train_loader(dataset: Any, task: Any, layout: Layout, *, rank: int, seed: int, num_workers: int) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=layout.batch_size,
        sampler=EpochSampler(layout, rank=rank, seed=seed),
        collate_fn=partial(task.collate, split="train"),
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),  # worker seeds; keeps the global RNG untouched
    )


def eval_loader(dataset: Any, task: Any, split: str, *, batch_size: int, num_workers: int) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=partial(task.collate, split=split),
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(0),
    )


def limit(dataset: Any, max_samples: int | None) -> Any:
    if dataset is None or max_samples is None or max_samples >= len(dataset):
        return dataset
    return torch.utils.data.Subset(dataset, range(max_samples))
