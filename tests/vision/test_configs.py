"""Every shipped vision config loads, says how to launch it and what the paper got; the sweeps hold the grids."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gift_experiment_utils.loading import load_config
from gift_experiment_utils.sweep import Sweep

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p
    for p in (REPO / "configs/vision").glob("*/*.yaml")
    if not p.name.startswith("_") and not p.parent.name.startswith("_")
)
SWEEPS = sorted((REPO / "configs/vision").glob("*/sweeps/*.yaml"))
GIFT_LR = [1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3]
WEIGHT_DECAY = [0.01, 1e-3, 1e-4, 0.0]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_loads_with_the_paper_recipe(path):
    config = load_config(path)
    assert config.model.name == "vit_base_patch16_224.augreg_in21k" and config.task.drop_path_rate == 0.1
    train = config.train
    assert (train.epochs, train.scheduler, train.schedule_unit, train.warmup_epochs) == (100, "cosine", "epoch", 10)
    assert (train.warmup_start_lr, train.min_lr, train.effective_batch_size) == (1e-7, 1e-6, 32)
    assert config.eval.every_epochs == 1 and config.eval.test_weights == "last"
    header = path.read_text().split("\ninclude:")[0]
    assert "accelerate launch --config_file" in header and "Paper" in header and "Hardware" in header
    expected = {
        "gift": ("gift", 16, ["attn:proj"]),
        "lora": ("lora", 8, ["attn:proj"]),
        "lora_qkv": ("lora", 8, ["attn:qkv"]),
    }
    if path.stem in expected:
        assert (config.method.name, config.method.rank, config.method.target_modules) == expected[path.stem]
    if path.stem == "vpt":
        assert (config.method.num_prompts, config.method.deep) == (5, True)
    if path.stem == "bitfit":
        assert config.method.scope == "linear"


def test_sweep_grids():
    grids = {p.stem: yaml.safe_load(p.read_text())["sweep"] for p in SWEEPS}
    assert len(grids) == 14  # 7 methods × FGVC, VTAB
    for benchmark in ("fgvc", "vtab"):
        assert grids[f"{benchmark}_gift"]["grid"] == {"train.lr": GIFT_LR, "train.weight_decay": WEIGHT_DECAY}
        assert grids[f"{benchmark}_lora"]["grid"]["train.weight_decay"] == WEIGHT_DECAY
        assert min(grids[f"{benchmark}_lora"]["grid"]["train.lr"]) == 1e-3
        assert max(grids[f"{benchmark}_lora"]["grid"]["train.lr"]) == 1e-2
        assert list(grids[f"{benchmark}_bitfit"]["grid"]) == list(grids[f"{benchmark}_vpt"]["grid"]) == ["train.lr"]
        assert all(g["seeds"] == [42] for name, g in grids.items() if name.startswith(benchmark))
    assert grids["vtab_gift"]["final"]["overrides"] == ["task.protocol=final"]


def test_sweep_plans_every_run():
    fgvc = Sweep(REPO / "configs/vision/fgvc/sweeps/fgvc_gift.yaml").search_runs()
    assert len(fgvc) == 5 * 24 and len({r.run.path for r in fgvc}) == 5 * 24
    vtab = Sweep(REPO / "configs/vision/vtab/sweeps/vtab_bitfit.yaml").search_runs()
    assert len(vtab) == 19 * 7 and {r.config.task.protocol for r in vtab} == {"tune"}


@pytest.mark.parametrize("path", CONFIGS[:1] + CONFIGS[-1:], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_schedule_is_timms_at_every_epoch(path):
    """The original vision code: timm's cosine with warmup_prefix=False, `step(epoch + 1)` after each epoch,
    so epoch e trains at the scheduler's value for t = e. The cosine spans epochs 0-100; warmup overrides 0-9."""
    import torch
    from timm.scheduler import create_scheduler_v2

    from gift_experiment_utils.optim import build_schedule

    train = load_config(path).train
    updates_per_epoch = 25
    schedule = build_schedule(
        train, updates_per_epoch=updates_per_epoch, total_updates=updates_per_epoch * train.epochs
    )
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=train.lr)
    timm_schedule, epochs = create_scheduler_v2(
        optimizer,
        sched="cosine",
        num_epochs=train.epochs,
        warmup_epochs=int(train.warmup_epochs),
        warmup_lr=train.warmup_start_lr,
        min_lr=train.min_lr,
    )
    assert epochs == train.epochs
    for epoch in range(train.epochs):
        timm_schedule.step(epoch)
        assert schedule.lr(train.lr, epoch) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12), epoch
    # the decay-after-warmup form differs from it by up to ~1.2x late in training: the test can tell them apart
    prefixed = build_schedule(
        load_config(path, ["train.warmup_prefix=true"]).train, updates_per_epoch=25, total_updates=25 * train.epochs
    )
    assert prefixed.lr(train.lr, 86) > 1.15 * schedule.lr(train.lr, 86)
