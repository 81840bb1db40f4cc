"""Run folders that were tampered with or damaged: planted pickles, cut-off files, leftovers of killed writes."""

from __future__ import annotations

import json
import logging
import pickle
import random
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from gift_experiment_utils import checkpoint as ckpt
from gift_experiment_utils.loading import config_to_dict, load_config
from gift_experiment_utils.run import main
from gift_experiment_utils.tables import collect
from gift_experiment_utils.tracking import (
    RunDir,
    check_resumable,
    prepare_run_dir,
    read_metrics,
    record_resumption,
    truncate_metrics,
)

from .conftest import TOY, run_args, run_in_process


class Planted:
    """Unpickling this creates `marker`: proof that a loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    return message


def write_last(path: Path) -> None:
    """A real last.pt: a tiny model's trained parameters, AdamW state, RNG states."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    state = {"progress": {"step": 1, "best_value": None, "last_val": {}}, "world_size": 1, "loss_window": [0.5]}
    ckpt.save_last(path, model, optimizer, state=state, rngs=[ckpt.rng_state()], is_main=True)


def fake_accelerator() -> types.SimpleNamespace:
    return types.SimpleNamespace(
        wait_for_everyone=lambda: None, is_main_process=True, num_processes=1, device=torch.device("cpu")
    )


# ---------------------------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("layout", ["torch.save", "raw pickle"])
def test_a_planted_pickle_is_refused_and_never_runs(tmp_path, layout):
    marker, path = tmp_path / "marker", tmp_path / "last.pt"
    if layout == "torch.save":
        torch.save({"version": ckpt.FORMAT_VERSION, "state": Planted(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(ValueError) as err:
        ckpt.read(path)
    assert str(path) in one_line(err) and "delete it to restart the run from scratch" in str(err.value)
    assert not marker.exists()


def test_a_planted_last_pt_stops_the_run_before_it_runs(tmp_path):
    """Through the entry point: the resume refuses the file, nothing in it is unpickled."""
    args = run_args(tmp_path, "experiment.run_name=x", "train.max_steps=2")
    last, marker = tmp_path / "toy" / "toy" / "x" / "checkpoints" / "last.pt", tmp_path / "marker"
    last.parent.mkdir(parents=True)
    (last.parent.parent / "config.yaml").write_text(yaml.safe_dump(config_to_dict(load_config(args[1], args[2:]))))
    torch.save({"version": ckpt.FORMAT_VERSION, "rng": [Planted(marker)]}, last)
    with pytest.raises(ValueError, match=r"last\.pt holds objects no checkpoint .* contains \((io|builtins)\.open\)"):
        main(args)
    assert not marker.exists()


def test_checkpoints_hold_only_what_weights_only_loads(tmp_path):
    path = tmp_path / "last.pt"
    write_last(path)
    loaded = torch.load(path, weights_only=True)
    assert sorted(loaded) == ["optimizer", "rng", "state", "trainable", "version"]
    assert sorted(loaded["optimizer"]["state"]) == ["1.bias", "1.weight"]


def test_rng_states_survive_a_weights_only_round_trip(tmp_path):
    path = tmp_path / "rng.pt"
    torch.save(ckpt.rng_state(), path)
    expected = (random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3))
    random.random(), np.random.rand(7), torch.rand(5)  # move every generator on
    ckpt.set_rng_state(torch.load(path, weights_only=True))
    assert (random.random(), np.random.rand(3).tolist(), np.random.randn()) == expected[:3]
    assert torch.equal(torch.rand(3), expected[3])


@pytest.mark.parametrize("name", ["last.pt", "best.pt"])
@pytest.mark.parametrize("keep", [0.5, 0.0, 0.99])
def test_a_truncated_checkpoint_names_the_file_and_the_fix(tmp_path, name, keep):
    whole, path = tmp_path / "whole.pt", tmp_path / "checkpoints" / name
    write_last(whole)
    data = whole.read_bytes()
    path.parent.mkdir()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="is damaged or incomplete") as err:
        ckpt.read(path)
    message = one_line(err)
    assert message.startswith(str(path))
    fix = "delete it to restart the run from scratch" if name == "last.pt" else f"delete {path.parent} to redo"
    assert fix in message


def test_a_checkpoint_of_the_older_format_says_so(tmp_path):
    path = tmp_path / "last.pt"
    old_rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    torch.save({"version": 1, "trainable": {}, "optimizer": {}, "state": {}, "rng": [old_rng]}, path)
    with pytest.raises(ValueError, match=r"written by an older version .*format 1.*delete it.*older release") as err:
        ckpt.read(path)
    assert str(path) in one_line(err)
    best = tmp_path / "best.pt"
    torch.save({"version": 1, "trainable": {"w": torch.ones(2)}, "state": {}}, best)  # loads, then refused
    with pytest.raises(ValueError, match=r"best\.pt was written by an older version"):
        ckpt.read(best)


# ---------------------------------------------------------------------------------------------- metrics.jsonl
def test_an_incomplete_last_metrics_line_is_dropped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    rows = [{"step": 1, "train/loss": 1.0}, {"step": 2, "train/loss": 0.9}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 3, "train/lo')  # killed mid-write
    with caplog.at_level(logging.WARNING, logger="gift_experiment_utils"):
        assert read_metrics(path) == rows
        truncate_metrics(path, after_step=5)
    assert [json.loads(line) for line in path.read_text().splitlines()] == rows
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all(f"{path} line 3 is incomplete" in w for w in warnings)


def test_a_damaged_metrics_line_before_the_last_is_an_error(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2, "tr\n{"step": 3}\n')
    for read in (read_metrics, lambda p: truncate_metrics(p, after_step=5)):
        with pytest.raises(ValueError, match=r"metrics\.jsonl line 2 is damaged") as err:
            read(path)
        assert str(path) in one_line(err)


# ---------------------------------------------------------------------------------------------- json / yaml
def test_a_damaged_config_yaml_is_named(tmp_path):
    run = RunDir(tmp_path)
    run.config.write_text("experiment: {name: toy, domain: to")
    run.metrics.write_text('{"step": 1, "train/loss": 0.5}\n')  # the folder holds a run's output
    with pytest.raises(ValueError, match=r"config\.yaml is damaged: not YAML") as err:
        check_resumable(run, load_config(TOY))
    assert str(run.config) in one_line(err)


def test_a_damaged_meta_json_is_named(tmp_path):
    run = RunDir(tmp_path)
    run.meta.write_text('{"git_commit": "ab')
    with pytest.raises(ValueError, match=r"meta\.json is damaged: not JSON .*delete it") as err:
        prepare_run_dir(run, load_config(TOY), fake_accelerator())
    assert str(run.meta) in one_line(err)


def test_a_damaged_results_json_is_named(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.config.write_text("experiment: {name: toy}\n")
    run.results.write_text('{"metrics": {"test/acc')
    with pytest.raises(ValueError, match=r"results\.json is damaged: not JSON .*delete it to finish the run again"):
        collect([tmp_path])


# ---------------------------------------------------------------------------------------------- temporary files
def test_temporary_files_of_killed_writes_are_removed_and_nothing_else(tmp_path):
    run = RunDir(tmp_path)
    run.checkpoints.mkdir()
    leftovers = [
        run.checkpoints / ".last.pt.tmp-4242",
        run.path / ".metrics.jsonl.tmp-17",
        run.path / ".meta.json.tmp-3",
        run.path / ".config.yaml.tmp",
    ]
    kept = [run.path / "notes.tmp", run.path / ".hidden", run.checkpoints / ".last.pt.tmp-x", run.path / "a.tmp-1"]
    for path in leftovers + kept:
        path.write_text("x")
    prepare_run_dir(run, load_config(TOY), fake_accelerator())
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.exists() for p in kept)


# ---------------------------------------------------------------------------------------------- meta.json history
def test_meta_json_keeps_every_start(tmp_path):
    run, config = RunDir(tmp_path), load_config(TOY)
    prepare_run_dir(run, config, fake_accelerator())
    prepare_run_dir(run, config, fake_accelerator())
    record_resumption(run, step=7)
    meta = json.loads(run.meta.read_text())
    assert len(meta["history"]) == 2 and meta["world_size"] == 1 and meta["started"] == meta["history"][-1]["started"]
    assert [h["resumed_from_step"] for h in meta["history"]] == [None, 7]
    assert all(h["started"] and "git_commit" in h and "git_dirty" in h for h in meta["history"])


def test_meta_json_of_an_older_run_folder_becomes_the_first_start(tmp_path):
    run = RunDir(tmp_path)
    run.meta.write_text(json.dumps({"git_commit": "abc", "git_dirty": False, "world_size": 2}))
    prepare_run_dir(run, load_config(TOY), fake_accelerator())
    history = json.loads(run.meta.read_text())["history"]
    assert len(history) == 2 and history[0]["git_commit"] == "abc" and history[0]["started"] is None


def test_a_run_killed_before_and_after_its_checkpoints_starts_again_cleanly(tmp_path):
    """End to end: a restart drops a cut-off metrics row, removes temporary files and extends meta.json's history."""
    overrides = ("experiment.run_name=x", "train.max_steps=3", "train.log_every=1")
    run = run_in_process(tmp_path, *overrides)
    reference = read_metrics(run / "metrics.jsonl")
    # killed before its first checkpoint: no last.pt, a half-written row and a temporary checkpoint
    for name in ("results.json", "checkpoints/last.pt", "checkpoints/best.pt"):
        (run / name).unlink()
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 4, "train/lo')
    (run / "checkpoints" / ".last.pt.tmp-99999").write_bytes(b"half")
    run_in_process(tmp_path, *overrides)
    assert read_metrics(run / "metrics.jsonl") == reference  # started afresh: rows neither kept twice nor merged
    assert not (run / "checkpoints" / ".last.pt.tmp-99999").exists()
    # killed after its last checkpoint: resumes from it
    (run / "results.json").unlink()
    run_in_process(tmp_path, *overrides)
    history = json.loads((run / "meta.json").read_text())["history"]
    assert [h["resumed_from_step"] for h in history] == [None, None, 3]
    assert read_metrics(run / "metrics.jsonl") == reference
