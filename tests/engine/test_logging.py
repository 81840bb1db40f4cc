"""Progress and logs: the bar shows loss and lr, validation is printed, wandb runs are grouped by table row."""

from __future__ import annotations

import logging
import sys
import types

from gift_experiment_utils.loading import load_config
from gift_experiment_utils.tracking import config_hash

from .conftest import TOY, run_args, run_in_process


def test_wandb_off_is_accepted_as_disabled(tmp_path):
    assert load_config(TOY, ["log.wandb=off"]).log.wandb == "off"  # YAML reads a bare `off` as false
    run_in_process(tmp_path, "log.wandb=off", "train.max_steps=2")  # and nothing tries to start wandb


def test_bar_shows_loss_and_lr_and_validation_is_printed(tmp_path, monkeypatch, caplog):
    import tqdm.auto

    postfixes = []
    real = tqdm.auto.tqdm

    class Recording(real):
        def set_postfix(self, *args, **kwargs):
            postfixes.append(kwargs)
            return super().set_postfix(*args, **kwargs)

    monkeypatch.setattr("gift_experiment_utils.train.tqdm", Recording)
    with caplog.at_level(logging.INFO, logger="gift_experiment_utils"):
        run_in_process(tmp_path, "log.progress_bar=true", "train.log_every=4")
    assert postfixes and {"loss", "lr"} <= set(postfixes[-1]) and float(postfixes[-1]["lr"]) > 0
    printed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("validation at update")]
    assert len(printed) == 2 and "accuracy=" in printed[0]  # every epoch of 2


def test_wandb_runs_are_grouped_by_row_with_job_type_and_params(tmp_path, monkeypatch):
    calls = {}

    class FakeRun:
        summary: dict = {}

        def log(self, values, step):
            calls.setdefault("logged", []).append(step)

        def finish(self):
            calls["finished"] = True

    def init(**kwargs):
        calls["init"] = kwargs
        FakeRun.summary = {}
        calls["run"] = FakeRun()
        return calls["run"]

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    overrides = ("log.wandb=offline", "log.job_type=search", "train.max_steps=2", "experiment.seed=7")
    run_in_process(tmp_path, *overrides)
    args = run_args(tmp_path, *overrides)
    config = load_config(args[1], args[2:])
    assert calls["init"]["group"] == f"toy/{config_hash(config)}"  # the seeds of one row share it
    assert calls["init"]["job_type"] == "search" and calls["finished"]
    assert calls["run"].summary["params/method"] == 256 and "params/method_percent" in calls["run"].summary
