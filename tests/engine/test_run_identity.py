"""A run's identity is its whole config: one folder per experiment, never a finished run of another one reused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gift_experiment_utils import sweep as sweeps
from gift_experiment_utils import tables
from gift_experiment_utils.loading import config_to_dict, load_config
from gift_experiment_utils.run import main
from gift_experiment_utils.task import get_task_class
from gift_experiment_utils.tracking import config_hash, run_dir, write_json

from .conftest import FAST, TOY, results, run_args, run_in_process
from .test_config import CONFIGS, EXPERIMENTS


def folder_of(path: Path, *overrides: str) -> Path:
    config = load_config(path, list(overrides))
    return run_dir(config, get_task_class(config.experiment.domain)(config).tag()).path


def test_every_shipped_config_has_its_own_run_folder():
    folders: dict[Path, Path] = {}
    for path in EXPERIMENTS:
        folder = folder_of(path)
        assert folder not in folders, f"{path} and {folders[folder]} would share {folder}"
        folders[folder] = path
    # the pairs that used to collide: same task, method tag, lr, wd and seed, other target modules
    qv = folder_of(CONFIGS / "language_modeling" / "llama1_7b" / "commonsense_gift_qv.yaml")
    qkvud = folder_of(CONFIGS / "language_modeling" / "llama1_7b" / "commonsense_gift_qkvud.yaml")
    assert qv != qkvud and qv.parent == qkvud.parent


def test_the_hash_covers_every_key_but_where_and_how_a_run_is_logged():
    base = load_config(TOY)
    assert config_hash(base) == config_hash(load_config(TOY))  # stable
    for override in ("train.epochs=5", "method.rank=8", "task.seq_len=6", "data.eval_batch_size=3"):
        assert config_hash(load_config(TOY, [override])) != config_hash(base), override
    for override in ("log.progress_bar=false", "checkpoint.every_steps=3", "experiment.output_root=x", "data.root=y"):
        assert config_hash(load_config(TOY, [override])) == config_hash(base), override
    seed = load_config(TOY, ["experiment.seed=7"])
    assert config_hash(seed) == config_hash(base)  # the seeds of one experiment share the hash ...
    assert config_hash(seed, with_seed=True) != config_hash(base, with_seed=True)  # ... not the folder


def test_a_finished_folder_of_another_config_is_an_error_not_a_skip(tmp_path):
    run = run_in_process(tmp_path, "experiment.run_name=fixed", "train.max_steps=2")
    before = results(run)
    with pytest.raises(ValueError, match=r"holds another experiment \(train.epochs: 2 -> 5\)"):
        main(run_args(tmp_path, "experiment.run_name=fixed", "train.max_steps=2", "train.epochs=5"))
    assert results(run) == before
    # without a fixed name the edited config simply gets its own folder
    other = run_in_process(tmp_path, "train.max_steps=2", "train.epochs=5")
    default = run_in_process(tmp_path, "train.max_steps=2")
    assert (
        len({run, other, default}) == 3
        and results(other)["run"]["config_hash"] != results(default)["run"]["config_hash"]
    )
    # the same config is still skipped as finished
    mtime = (default / "results.json").stat().st_mtime_ns
    run_in_process(tmp_path, "train.max_steps=2")
    assert (default / "results.json").stat().st_mtime_ns == mtime


def test_a_failed_setup_leaves_nothing_that_blocks_the_corrected_rerun(tmp_path):
    too_big = "train.batch_size=4096"  # fails in setup: the training set is smaller than one update
    with pytest.raises(ValueError, match="smaller than one update"):
        main(run_args(tmp_path, too_big))
    assert not folder_of(TOY, f"experiment.output_root={tmp_path}", *FAST, too_big).exists()  # removed
    with pytest.raises(ValueError, match="smaller than one update"):
        main(run_args(tmp_path, "experiment.run_name=named", too_big))
    run = run_in_process(tmp_path, "experiment.run_name=named", "train.max_steps=2")  # the corrected config
    assert results(run)["steps"] == 2


def test_a_fresh_start_drops_what_an_unsaved_attempt_logged(tmp_path):
    run = tmp_path / "toy" / "toy" / "kept"
    run.mkdir(parents=True)
    args = run_args(tmp_path, "experiment.run_name=kept", "train.max_steps=2")
    (run / "config.yaml").write_text(yaml.safe_dump(config_to_dict(load_config(args[1], args[2:]))))
    (run / "metrics.jsonl").write_text(json.dumps({"step": 99, "train/loss": 1.0}) + "\n")  # killed before a save
    assert main(args) == 0
    assert 99 not in [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def write_sweep(tmp_path: Path, *overrides: str) -> Path:
    body = {
        "config": str(TOY),
        "overrides": [f"experiment.output_root={tmp_path / 'runs'}", *FAST, *overrides],
        "grid": {"train.lr": [1e-3, 1e-2]},
        "seeds": [42],
        "final": {"seeds": [42, 43]},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep": body}))
    return path


def fake_finished(planned: sweeps.PlannedRun, value: float) -> None:
    planned.run.path.mkdir(parents=True, exist_ok=True)
    planned.run.config.write_text(yaml.safe_dump(config_to_dict(planned.config)))
    write_json(planned.run.results, {"metrics": {"best_val/accuracy": value}})


def test_an_edited_sweep_never_selects_the_old_results(tmp_path):
    path = write_sweep(tmp_path, "train.epochs=1")
    for planned, value in zip(sweeps.Sweep(path).search_runs(), (0.5, 0.9)):
        fake_finished(planned, value)
    assert sweeps.main(["select", str(path)]) == 0
    assert sweeps.Sweep(path).read_selection()["all"]["point"] == ["train.lr=0.01"]

    write_sweep(tmp_path, "train.epochs=5")  # the same sweep file, edited
    edited = sweeps.Sweep(path)
    assert not any(r.done() for r in edited.search_runs())  # the 1-epoch runs are not these runs
    with pytest.raises(ValueError, match="2 search runs are not finished"):
        edited.select()
    with pytest.raises(ValueError, match="not selected from this sweep's current search runs"):
        edited.read_selection()  # `--stage final` would have run the old winner with 5 epochs


def test_a_sweep_refuses_runs_that_would_share_a_folder(tmp_path):
    path = write_sweep(tmp_path, "experiment.run_name=one")
    with pytest.raises(ValueError, match=r"would share the folder .*Remove experiment.run_name"):
        sweeps.Sweep(path).search_runs()


def fake_run(root: Path, name: str, *, seed: int, score: float, params: int, **keys) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    config = {"method": {"name": "gift"}, "task": {"name": "cola"}, "experiment": {"seed": seed}}
    for dotted, value in keys.items():
        section, key = dotted.split("__")
        config.setdefault(section, {})[key] = value
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    write_json(
        folder / "results.json",
        {
            "metrics": {"test/accuracy": score, "test/cola/accuracy": score},
            "selection": {"metric": "val/accuracy"},
            "params": {"method": params, "method_percent": params / 1e4},
        },
    )


def test_tables_never_average_two_experiments(tmp_path):
    root = tmp_path / "runs"
    fake_run(root, "a", seed=42, score=0.8, params=100, method__rank=8, train__epochs=10)
    fake_run(root, "b", seed=43, score=0.6, params=100, method__rank=8, train__epochs=10)
    fake_run(root, "c", seed=42, score=0.1, params=50, method__rank=4, train__epochs=10)
    fake_run(root, "d", seed=42, score=0.3, params=100, method__rank=8, train__epochs=2)
    table = tables.build_table(
        tables.collect([root]), row_keys=["method.name"], col_key="task.name", metric="auto", scale=100
    )
    assert table.row_keys == ["method.name", "method.rank", "train.epochs"]
    assert sorted(table.rows) == ["gift rank=4 epochs=10", "gift rank=8 epochs=10", "gift rank=8 epochs=2"]
    cell = table.value("gift rank=8 epochs=10", "cola")
    assert cell.values == [80.0, 60.0]
    assert table.params["gift rank=4 epochs=10"] == [(50, 0.005)]
    markdown = tables.to_markdown(table)
    assert "Rows differ in: method.name, method.rank, train.epochs." in markdown
    assert "| gift rank=8 epochs=10 | 100 | 0.0100 | 70.00 ± 14.14 | 70.00 |" in markdown
    # columns from metric names (the LM table: one run holds every eval set) group rows the same way
    lm = tables.build_table(tables.collect([root]), row_keys=["method.name"], col_key=None, metric="test/{}/accuracy")
    assert lm.rows == table.rows and lm.columns == ["cola"]
    assert lm.value("gift rank=8 epochs=10", "cola").values == [0.8, 0.6]


def test_tables_refuse_one_run_counted_twice(tmp_path):
    fake_run(tmp_path / "runs", "a", seed=42, score=0.8, params=100)
    fake_run(tmp_path / "copy", "a", seed=42, score=0.8, params=100)
    with pytest.raises(ValueError, match="same experiment with the same seed"):
        tables.build_table(
            tables.collect([tmp_path / "runs", tmp_path / "copy"]),
            row_keys=["method.name"],
            col_key=None,
            metric="auto",
        )


def test_tables_refuse_results_without_their_config(tmp_path):
    fake_run(tmp_path, "a", seed=42, score=0.8, params=100)
    (tmp_path / "a" / "config.yaml").unlink()
    with pytest.raises(ValueError, match="has no config.yaml beside it"):
        tables.collect([tmp_path])
