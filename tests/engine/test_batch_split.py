"""The batch of one update on 1, 2, 4 and 8 processes: every shipped config splits its effective batch exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from gift_experiment_utils.config import Config
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.train import batch_split

from .conftest import TOY
from .test_config import CONFIGS, EXPERIMENTS, SWEEPS

PROCESSES = (1, 2, 4, 8)  # configs/accelerate/{1,2,4,8}gpu.yaml
# The offline CPU demo's measured recipe is 4 examples per update (2 CPU cores): 8 processes cannot share 4.
TOO_SMALL_FOR_8 = {"language_modeling/demo/gift.yaml", "language_modeling/demo/lora.yaml"}


def _assert_splits(config: Config, processes: tuple[int, ...]) -> None:
    train = config.train
    for world in processes:
        micro, accum = batch_split(config, world)
        assert 1 <= micro <= train.batch_size and accum >= 1
        if train.effective_batch_size is not None:
            assert micro * accum * world == train.effective_batch_size, (world, micro, accum)


def _name(path: Path) -> str:
    return str(path.relative_to(CONFIGS))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=_name)
def test_every_experiment_config_splits_on_1_2_4_8_processes(path):
    config = load_config(path)
    if _name(path) in TOO_SMALL_FOR_8:
        _assert_splits(config, (1, 2, 4))
        with pytest.raises(ValueError, match=r"'train\.effective_batch_size': 4 .* multiple of 8 \(e\.g\. 8\)"):
            batch_split(config, 8)
    else:
        _assert_splits(config, PROCESSES)


@pytest.mark.parametrize("path", SWEEPS, ids=_name)
def test_every_sweep_run_splits_on_1_2_4_8_processes(path):
    from gift_experiment_utils.sweep import Sweep

    for planned in Sweep(path).search_runs():
        _assert_splits(planned.config, PROCESSES)


@pytest.mark.parametrize(
    ("cap", "effective", "splits"),
    [
        (8, 32, {1: (8, 4), 2: (8, 2), 4: (8, 1), 8: (4, 1)}),  # language modeling: the cap, then fewer per process
        (32, 32, {1: (32, 1), 2: (16, 1), 4: (8, 1), 8: (4, 1)}),  # vision
        (4, 128, {1: (4, 32), 2: (4, 16), 4: (4, 8), 8: (4, 4)}),  # alpaca
        (12, 32, {1: (8, 4), 2: (8, 2), 4: (8, 1), 8: (4, 1)}),  # a cap that divides nothing: the largest divisor
        (5, 24, {1: (4, 6), 2: (4, 3), 4: (3, 2), 8: (3, 1)}),
        (8, 7, {1: (7, 1)}),
    ],
)
def test_micro_batch_is_the_largest_divisor_up_to_the_cap(cap, effective, splits):
    config = load_config(TOY, [f"train.batch_size={cap}", f"train.effective_batch_size={effective}"])
    assert {world: batch_split(config, world) for world in splits} == splits


def test_without_effective_batch_the_batch_and_accumulation_are_as_given():
    assert batch_split(load_config(TOY, ["train.batch_size=6"]), 8) == (6, 1)
    assert batch_split(load_config(TOY, ["train.batch_size=6", "train.grad_accum_steps=3"]), 4) == (6, 3)


def test_an_effective_batch_that_processes_cannot_share_is_refused_with_the_fix():
    config = load_config(TOY, ["train.effective_batch_size=12"])
    with pytest.raises(ValueError, match=r"'train\.effective_batch_size': 12 .* 8 processes.*e\.g\. 16.*\[1, 2, 4\]"):
        batch_split(config, 8)
    with pytest.raises(ValueError, match=r"'train\.effective_batch_size': must be >= 1"):
        load_config(TOY, ["train.effective_batch_size=0"])


def test_every_split_of_an_update_trains_on_the_same_examples():
    """E = 32 as 8 × 4 × 1 or 4 × 1 × 8: update u reads examples [32u, 32u + 32) of the epoch's permutation."""
    from gift_experiment_utils.data import EpochSampler, Layout

    def updates(micro: int, accum: int, world: int) -> list[set[int]]:
        layout = Layout(micro, accum, world, dataset_size=100)  # 3 updates, 4 examples unused
        per_rank = [list(EpochSampler(layout, rank=rank, seed=7)) for rank in range(world)]
        step = micro * accum  # examples per process per update
        return [{i for rank in per_rank for i in rank[u * step : (u + 1) * step]} for u in range(layout.updates)]

    one = updates(8, 4, 1)
    assert len(one) == 3 and all(len(u) == 32 for u in one)
    assert updates(4, 1, 8) == updates(8, 2, 2) == updates(2, 4, 4) == one
