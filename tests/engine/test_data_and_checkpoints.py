"""Data layout across processes, mid-epoch positions, atomic checkpoints, the tracker."""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch

from gift_experiment_utils import checkpoint as ckpt
from gift_experiment_utils.data import EpochSampler, Layout
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.tracking import RunDir, Tracker, config_hash, truncate_metrics

from .conftest import TOY


def batches(layout: Layout, rank: int, epoch: int, start: int = 0) -> list[list[int]]:
    sampler = EpochSampler(layout, rank=rank, seed=42)
    sampler.set_position(epoch, start)
    indices = list(sampler)
    return [indices[i : i + layout.batch_size] for i in range(0, len(indices), layout.batch_size)]


def test_two_processes_see_what_one_process_with_twice_the_accumulation_sees():
    one = Layout(batch_size=4, accum=2, world_size=1, dataset_size=50)
    two = Layout(batch_size=4, accum=1, world_size=2, dataset_size=50)
    assert one.updates == two.updates == 6 and one.dropped_examples == 2
    single = batches(one, 0, epoch=3)
    rank0, rank1 = batches(two, 0, epoch=3), batches(two, 1, epoch=3)
    for update in range(6):
        assert single[2 * update : 2 * update + 2] == [rank0[update], rank1[update]]
    assert batches(one, 0, epoch=4) != single  # a new permutation every epoch


def test_a_resumed_position_replays_the_rest_of_the_epoch():
    layout = Layout(batch_size=3, accum=2, world_size=2, dataset_size=40)
    assert batches(layout, 1, epoch=2, start=4) == batches(layout, 1, epoch=2)[4:]


def test_atomic_save_never_leaves_a_half_written_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ckpt.atomic_save({"step": 1, "weights": torch.ones(1000)}, path)

    def crash_midway(obj, handle):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_save({"step": 2, "weights": torch.zeros(1000)}, path)
    monkeypatch.undo()
    assert torch.load(path)["step"] == 1  # the previous checkpoint, whole
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_rng_state_round_trip():
    state = ckpt.rng_state()
    expected = (torch.rand(3), __import__("random").random())
    torch.rand(5)
    ckpt.set_rng_state(state)
    assert torch.equal(torch.rand(3), expected[0]) and __import__("random").random() == expected[1]


def test_resume_drops_rows_logged_after_the_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [
        {"step": 4, "train/loss": 1.0},
        {"step": 5, "val/accuracy": 0.5},
        {"step": 6, "train/loss": 0.9},
        {"step": 5, "test/accuracy": 0.4},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    truncate_metrics(path, after_step=5)
    assert [json.loads(line) for line in path.read_text().splitlines()] == rows[:2]


def test_wandb_runs_on_the_main_process_only_with_the_config_names(tmp_path, monkeypatch):
    calls = []
    fake = types.SimpleNamespace(
        init=lambda **kwargs: (
            calls.append(kwargs)
            or types.SimpleNamespace(log=lambda *a, **k: calls.append(("log", a, k)), summary={}, finish=lambda: None)
        ),
    )  # no `util`: wandb 0.31 has no wandb.util.generate_id, so the tracker must not need it
    monkeypatch.setitem(sys.modules, "wandb", fake)
    config = load_config(TOY, ["log.wandb=offline", "log.project=p", "log.tags=[x]"])
    run = RunDir(tmp_path)
    Tracker(run, config, is_main=False).log({"a": 1}, step=1, epoch=0.0)
    assert calls == [] and not run.metrics.exists()
    tracker = Tracker(run, config, is_main=True)
    tracker.log({"train/loss": 0.5}, step=3, epoch=0.25)
    init = calls[0]
    assert (init["project"], init["group"], init["mode"], init["id"], init["tags"]) == (
        "p",
        f"toy/{config_hash(config)}",  # one group per table row: the seeds of one experiment
        "offline",
        (run.path / "wandb_id.txt").read_text(),  # kept in the run directory: a resumed run continues it
        ["x"],
    )
    assert calls[1] == ("log", ({"train/loss": 0.5},), {"step": 3})
    assert json.loads(run.metrics.read_text()) == {"step": 3, "epoch": 0.25, "train/loss": 0.5}


def test_fsdp_checkpoint_round_trip(tmp_path):
    """FSDP-2 on two CPU processes: trained parameters and optimizer state gathered, saved once, loaded back."""
    from .conftest import REPO, free_port, run_subprocess

    worker = REPO / "tests" / "engine" / "fsdp_checkpoint_worker.py"
    done = run_subprocess(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(free_port()),
            str(worker),
            str(tmp_path / "last.pt"),
        ],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "FSDP checkpoint round trip ok" in done.stdout
