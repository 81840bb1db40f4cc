"""Helpers for the engine tests: the toy task through the real entry point, one thread per process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TOY = REPO / "configs" / "toy" / "gift.yaml"
# Small, quick runs: 128 examples, batches of 8 -> 16 updates per epoch.
FAST = [
    "task.num_train=128",
    "task.num_val=50",
    "task.num_test=40",
    "train.batch_size=8",
    "train.epochs=2",
    "log.progress_bar=false",
]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and a busy 2-core machine makes more threads slower still."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_args(root: Path, *overrides: str, config: Path = TOY) -> list[str]:
    return ["--config", str(config), f"experiment.output_root={root}", *FAST, *overrides]


def run_in_process(root: Path, *overrides: str, config: Path = TOY) -> Path:
    """Run through `gift_experiment_utils.run.main`; returns the run folder."""
    from gift_experiment_utils.loading import load_config
    from gift_experiment_utils.run import main
    from gift_experiment_utils.task import get_task_class
    from gift_experiment_utils.tracking import run_dir

    args = run_args(root, *overrides, config=config)
    assert main(args) == 0
    cfg = load_config(args[1], args[2:])
    return run_dir(cfg, get_task_class(cfg.experiment.domain)(cfg).tag()).path


def subprocess_env() -> dict[str, str]:
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "WANDB_MODE": "disabled",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
        "TOKENIZERS_PARALLELISM": "false",
    }


def entry_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gift_experiment_utils.run", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["trainable"]


def run_subprocess(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, **kwargs)
