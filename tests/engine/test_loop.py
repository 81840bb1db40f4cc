"""The loop end to end through the real entry point: outputs, resume after SIGKILL, two processes over gloo."""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from gift_experiment_utils.loading import load_config
from gift_experiment_utils.run import main
from gift_experiment_utils.tracking import read_metrics

from .conftest import REPO, entry_command, free_port, last_weights, results, run_args, run_in_process, subprocess_env


def test_a_run_writes_its_folder_and_a_second_start_skips_it(tmp_path):
    run = run_in_process(tmp_path, "checkpoint.every_steps=5")
    # from the config, not the clock: readable keys, the hash of all the others, the seed
    assert run.parent == tmp_path / "toy" / "toy"
    assert re.fullmatch(r"toy_gift_r4_lr0\.01_wd0\.0001_[0-9a-f]{8}_seed42", run.name)
    for name in (
        "config.yaml",
        "meta.json",
        "metrics.jsonl",
        "results.json",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "adapter/gift_config.json",
    ):
        assert (run / name).is_file(), name
    out = results(run)
    assert out["steps"] == 32 and out["epochs"] == 2 and out["world_size"] == 1
    assert set(out["metrics"]) >= {"val/accuracy", "best_val/accuracy", "test/accuracy"}
    assert out["metrics"]["test/num_examples"] == 40
    # GIFT θ on query and value of a 16-wide BERT at r=4: 2 types × 2·16·4 = 256, shared by both layers.
    assert out["params"]["method"] == 256 and out["params"]["head"] == 16 * 2 + 2
    assert out["wall_time_s"] > 0 and out["peak_memory_mb"] > 0
    meta = json.loads((run / "meta.json").read_text())
    assert meta["packages"]["torch"] == torch.__version__.split("+")[0] and "git_commit" in meta
    assert yaml.safe_load((run / "config.yaml").read_text())["method"]["rank"] == 4
    args = run_args(tmp_path, "checkpoint.every_steps=5")
    assert load_config(run / "config.yaml") == load_config(args[1], args[2:])  # the folder reproduces the run
    rows = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in rows if "val/accuracy" in r] == [16, 32]  # every epoch
    mtime = (run / "results.json").stat().st_mtime_ns
    run_in_process(tmp_path, "checkpoint.every_steps=5")
    assert (run / "results.json").stat().st_mtime_ns == mtime  # finished: skipped


def test_the_toy_task_is_learnt(tmp_path):
    run = run_in_process(tmp_path, "task.num_train=256", "train.batch_size=16", "train.epochs=10")  # the shipped recipe
    out = results(run)
    assert out["metrics"]["best_val/accuracy"] > 0.65  # chance: 0.5; the first token decides the label


def test_the_schedule_is_followed(tmp_path):
    run = run_in_process(
        tmp_path,
        "train.epochs=4",
        "train.lr=1e-2",
        "train.log_every=1",
        "train.scheduler=cosine",
        "train.warmup_ratio=0",
        "train.warmup_steps=4",
        "train.min_lr=1e-4",
    )
    rows = [r for r in read_metrics(run / "metrics.jsonl") if "train/loss" in r]
    assert len(rows) == 64
    # update t (0-based) uses lr(t): linear warmup 0 -> 1e-2 over 4 updates, then cosine down to 1e-4 at t = 64
    expected = [
        1e-2 * t / 4 if t < 4 else 1e-4 + (1e-2 - 1e-4) * (1 + math.cos(math.pi * (t - 4) / 60)) / 2 for t in range(64)
    ]
    assert [r["train/lr"] for r in rows] == pytest.approx(expected)
    assert [r["train/head_lr"] for r in rows][4] == pytest.approx(2e-2)  # the head's own lr (gift.yaml)


def test_a_folder_holding_another_experiment_is_refused(tmp_path):
    run_in_process(tmp_path, "experiment.run_name=x", "train.max_steps=2")
    (tmp_path / "toy" / "toy" / "x" / "results.json").unlink()
    with pytest.raises(ValueError, match=r"holds another experiment \(train.lr: 0.01 -> 0.5\).*experiment.run_name"):
        main(run_args(tmp_path, "experiment.run_name=x", "train.max_steps=2", "train.lr=0.5"))


def test_resume_after_sigkill_ends_with_the_same_metrics(tmp_path):
    # log_every 3 and checkpoints every 5: a resumed run must also restore the losses of a half-filled log window
    common = ("checkpoint.every_steps=5", "train.log_every=3", "task.item_delay_s=0.004", "eval.every_steps=8")
    reference = run_in_process(tmp_path / "a", *common)
    args = run_args(tmp_path / "b", *common)
    child = subprocess.Popen(
        entry_command(*args),
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = tmp_path / "b" / reference.relative_to(tmp_path / "a")
    deadline = time.time() + 240
    while time.time() < deadline and child.poll() is None:
        rows = read_metrics(run / "metrics.jsonl") if (run / "metrics.jsonl").is_file() else []
        if rows and rows[-1]["step"] >= 12:
            break
        time.sleep(0.02)
    assert child.poll() is None, child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (run / "results.json").exists()
    stopped_at = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["state"]["progress"]["step"]
    assert 10 <= stopped_at < 32  # killed mid-training, after a checkpoint
    run_in_process(tmp_path / "b", *common)
    assert results(run)["metrics"] == results(reference)["metrics"]
    assert read_metrics(run / "metrics.jsonl") == read_metrics(reference / "metrics.jsonl")
    resumed, uninterrupted = last_weights(run), last_weights(reference)
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)


def test_two_processes_match_one_process_with_twice_the_accumulation(tmp_path):
    """DDP over gloo, shared θ with gradient checkpointing: θ identical on both ranks, equal to 1 process × 2 accum."""
    common = ("train.effective_batch_size=16", "task.dropout=0", "train.max_grad_norm=1.0")
    single = run_in_process(tmp_path, "experiment.run_name=one", *common)
    assert results(single)["effective_batch_size"] == 16
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",  # `accelerate launch`, from this interpreter
        "--config_file",
        str(REPO / "configs" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port",
        str(free_port()),
        "-m",
        "gift_experiment_utils.run",
    ]
    # a per-device cap of 12 cannot make 16 on 2 processes: micro-batch 8 × accumulation 1 × 2
    args = run_args(
        tmp_path, "experiment.run_name=two", "model.gradient_checkpointing=true", "train.batch_size=12", *common
    )
    done = subprocess.run(launch + args, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two = tmp_path / "toy" / "toy" / "two"
    out = results(two)
    assert out["world_size"] == 2 and out["replicas_identical"] is True
    assert out["metrics"]["val/num_examples"] == 50  # 50 split over 2 processes: padding dropped when gathered
    assert out["metrics"] == pytest.approx(results(single)["metrics"], abs=1e-6)
    a, b = last_weights(single), last_weights(two)
    assert set(a) == set(b)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


def test_a_batch_cap_that_does_not_divide_the_effective_batch_lowers_the_micro_batch(tmp_path, caplog):
    """train.batch_size 12 cannot make 32 per update: micro-batches of 8, accumulation 4, 32 examples an update."""
    with caplog.at_level("INFO", logger="gift_experiment_utils"):
        run = run_in_process(tmp_path, "train.batch_size=12", "train.effective_batch_size=32")
    out = results(run)
    assert out["effective_batch_size"] == 32 and out["steps"] == 2 * (128 // 32)  # 2 epochs of 128 examples
    assert "micro-batch 8 per device (train.batch_size 12 is the cap): 8 × 4 accum × 1 processes" in caplog.text


@pytest.mark.parametrize(
    "overrides",
    [
        ("method.name=lora", "method.rank=2", "method.target_modules=[query,value]"),
        ("method.name=bitfit",),
        ("method.name=full", "model.gradient_checkpointing=true"),
        ("method.name=linear", "eval.test_weights=best"),
        ("train.mixed_precision=bf16", "train.max_grad_norm=0.5", "model.dtype=bfloat16"),
    ],
    ids=["lora", "bitfit", "full+checkpointing", "linear+best", "gift+bf16"],
)
def test_every_method_and_option_runs_through_the_loop(tmp_path, overrides):
    run = run_in_process(tmp_path, "train.max_steps=3", "eval.every_steps=2", *overrides)
    out = results(run)
    assert out["steps"] == 3 and out["metrics"]["test/num_examples"] == 40
    trained = last_weights(run)
    assert trained and all(t.dtype == torch.float32 for t in trained.values())  # even on a bf16 backbone
    assert any((run / "adapter").iterdir())
    rows = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in rows if "val/accuracy" in r] == [2, 3]
