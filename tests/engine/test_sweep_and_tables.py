"""Sweeps expand, skip finished runs, pick the winner per partition and launch its final seeds; tables."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gift_experiment_utils import sweep as sweeps
from gift_experiment_utils import tables
from gift_experiment_utils.loading import config_to_dict
from gift_experiment_utils.tracking import write_json

from .conftest import FAST, TOY, results


def write_sweep(tmp_path, **spec) -> str:
    body = {
        "config": str(TOY),
        "overrides": [f"experiment.output_root={tmp_path / 'runs'}", *FAST, "train.max_steps=2"],
        "grid": {"train.lr": [1e-3, 1e-2]},
        "seeds": [42],
        "final": {"seeds": [42, 43]},
        **spec,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep": body}))
    return str(path)


def fake_result(planned: sweeps.PlannedRun, value: float) -> None:
    planned.run.path.mkdir(parents=True, exist_ok=True)
    planned.run.config.write_text(yaml.safe_dump(config_to_dict(planned.config)))
    write_json(planned.run.results, {"metrics": {"best_val/accuracy": value}})


def test_expansion_is_grid_times_partition_times_seeds(tmp_path):
    sweep = sweeps.Sweep(
        write_sweep(
            tmp_path,
            grid={"train.lr": [1e-3, 1e-2], "train.weight_decay": [0, 0.1]},
            partition={"task.seq_len": [6, 8]},
            seeds=[1, 2],
        )
    )
    runs = sweep.search_runs()
    assert len(runs) == 2 * 2 * 2 * 2 and len({r.run.path for r in runs}) == 16
    assert runs[0].overrides[-4:] == ["task.seq_len=6", "train.lr=0.001", "train.weight_decay=0", "experiment.seed=1"]
    # seq_len is not in the readable part of the name: the config hash tells the partitions apart
    names = {
        (r.config.task.seq_len, r.config.experiment.seed): r.run.path.name
        for r in runs
        if r.config.train.lr == 1e-3 and r.config.train.weight_decay == 0
    }
    assert names[(6, 1)].startswith("toy_gift_r4_lr0.001_wd0_") and names[(6, 1)].endswith("_seed1")
    assert names[(6, 1)].removesuffix("_seed1") == names[(6, 2)].removesuffix("_seed2")  # seeds share the hash
    assert names[(6, 1)].removesuffix("_seed1") != names[(8, 1)].removesuffix("_seed1")
    assert runs[0].config.train.lr == 1e-3 and runs[0].config.task.seq_len == 6
    assert runs[0].overrides[0] == "log.job_type=search" and runs[0].config.log.job_type == "search"


def test_bad_sweep_keys_fail_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown config key 'train.lrr'.*Did you mean 'train.lr'"):
        sweeps.Sweep(write_sweep(tmp_path, grid={"train.lrr": [1]})).search_runs()
    with pytest.raises(ValueError, match=r"'sweep.seed'.*Did you mean 'sweep.seeds'"):
        sweeps.Sweep(write_sweep(tmp_path, seed=[1]))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"seeds": []}, r"'sweep\.seeds' is empty"),
        ({"final": {"seeds": []}}, r"'sweep\.final\.seeds' is empty"),
        ({"seeds": [1, 2, 1]}, r"'sweep\.seeds' lists the same value twice \(1 and 1\)"),
        ({"final": {"seeds": [42, 42]}}, r"'sweep\.final\.seeds' lists the same value twice"),
        ({"grid": {"train.lr": [1e-3, 0.001]}}, r"'sweep\.grid\.train\.lr' lists the same value twice"),
        ({"partition": {"task.seq_len": [6, 8, 6]}}, r"'sweep\.partition\.task\.seq_len' lists the same value"),
        ({"partition": {"train.lr": [1e-3]}}, r"\['train\.lr'\] are in both sweep\.grid and sweep\.partition"),
    ],
)
def test_sweeps_that_run_nothing_or_a_point_twice_are_refused(tmp_path, spec, message):
    with pytest.raises(ValueError, match=message):
        sweeps.Sweep(write_sweep(tmp_path, **spec))


def test_duplicates_are_compared_as_the_schema_reads_them(tmp_path):
    path = tmp_path / "sweep.yaml"  # YAML 1.1 reads 1e-4 as a string and 1.0e-4 as a float: both are lr 0.0001
    path.write_text(f"sweep:\n  config: {TOY}\n  grid: {{train.lr: [1e-4, 1.0e-4]}}\n")
    with pytest.raises(ValueError, match=r"'sweep\.grid\.train\.lr' lists the same value twice \('1e-4' and 0\.0001\)"):
        sweeps.Sweep(path)
    path.write_text(
        f"sweep:\n  config: {TOY}\n  grid: {{train.lr: [1e-4, 1e-3], method.share_projections: [true, false]}}\n"
    )
    assert sweeps.Sweep(path).spec.grid == {"train.lr": ["1e-4", "1e-3"], "method.share_projections": [True, False]}


def test_a_sweep_file_with_a_yaml_error_names_the_file_and_line(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"sweep:\n  config: {TOY}\n  seeds: [1, 2\n")
    with pytest.raises(ValueError, match=r"sweep\.yaml line 4, column 1: .*Fix the YAML syntax"):
        sweeps.Sweep(path)
    assert sweeps.main(["plan", str(path)]) == 2
    assert "sweep.yaml line 4" in capsys.readouterr().err


def test_select_picks_the_best_point_per_partition_by_the_mean_over_seeds(tmp_path):
    sweep = sweeps.Sweep(
        write_sweep(
            tmp_path,
            partition={"task.seq_len": [6, 8]},
            seeds=[1, 2],
            select={"metric": "best_val/accuracy", "mode": "max"},
        )
    )
    scores = {
        ("task.seq_len=6", "train.lr=0.001"): [0.9, 0.4],
        ("task.seq_len=6", "train.lr=0.01"): [0.6, 0.75],
        ("task.seq_len=8", "train.lr=0.001"): [0.8, 0.8],
        ("task.seq_len=8", "train.lr=0.01"): [0.1, 0.2],
    }
    for planned in sweep.search_runs():
        fake_result(planned, scores[(*planned.partition, *planned.point)][planned.config.experiment.seed - 1])
    selection = sweep.select()
    assert selection["task.seq_len=6"]["point"] == ["train.lr=0.01"]  # mean 0.675 beats 0.65 (0.9 was one seed's luck)
    assert selection["task.seq_len=8"]["point"] == ["train.lr=0.001"]
    finals = sweep.final_runs(selection)
    assert {r.config.log.job_type for r in finals} == {"final"}
    assert [(r.config.task.seq_len, r.config.train.lr, r.config.experiment.seed) for r in finals] == [
        (6, 0.01, 42),
        (6, 0.01, 43),
        (8, 0.001, 42),
        (8, 0.001, 43),
    ]


def test_select_refuses_unfinished_search_runs(tmp_path):
    sweep = sweeps.Sweep(write_sweep(tmp_path))
    fake_result(sweep.search_runs()[0], 0.5)
    with pytest.raises(ValueError, match=r"1 search runs are not finished"):
        sweep.select()
    assert sweep.select(allow_missing=True)["all"]["point"] == ["train.lr=0.001"]


def test_print_gives_one_launch_line_per_pending_run(tmp_path, capsys):
    path = write_sweep(tmp_path)
    fake_result(sweeps.Sweep(path).search_runs()[0], 0.5)
    launcher = "accelerate launch --config_file configs/accelerate/8gpu.yaml -m gift_experiment_utils.run"
    assert sweeps.main(["run", path, "--print", "--launcher", launcher]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(launcher + " --config ") and "train.lr=0.01" in lines[0]


def test_command_line_overrides_go_to_every_run_and_its_identity(tmp_path, capsys):
    path = write_sweep(tmp_path)
    plain = {r.run.path for r in sweeps.Sweep(path).search_runs()}
    smoke = sweeps.Sweep(path, ["train.epochs=3"]).search_runs()
    assert not plain & {r.run.path for r in smoke} and all(r.config.train.epochs == 3 for r in smoke)
    for argv in (
        ["run", path, "--print", "train.epochs=3", "--launcher", "L"],
        ["run", path, "--print", "--", "train.epochs=3"],
    ):
        assert sweeps.main(argv) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 2 and all(line.endswith("train.epochs=3 experiment.seed=42") for line in lines)


def test_run_starts_children_with_this_interpreter(tmp_path, capsys, monkeypatch):
    """Without --launcher, children run on sys.executable by full path (a bare `python` may be another env)."""
    path = write_sweep(tmp_path)
    started = []
    monkeypatch.setattr(
        sweeps.subprocess, "run", lambda argv, **kwargs: started.append(argv) or subprocess.CompletedProcess(argv, 0)
    )
    assert sweeps.main(["run", path]) == 0
    assert [argv[:3] for argv in started] == [[sys.executable, "-m", "gift_experiment_utils.run"]] * 2
    assert started[0][3:5] == ["--config", str(TOY)]
    monkeypatch.setattr(sys, "executable", "/opt/my env/bin/python3")  # a space: the printed line quotes it
    capsys.readouterr()
    assert sweeps.main(["run", path, "--print"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert shlex.split(lines[0])[:3] == ["/opt/my env/bin/python3", "-m", "gift_experiment_utils.run"]


def test_run_select_and_finals_through_the_real_loop(tmp_path, capsys):
    path = write_sweep(tmp_path)
    assert sweeps.main(["run", path, "--in-process"]) == 0
    sweep = sweeps.Sweep(path)
    assert all(r.run.is_done() for r in sweep.search_runs())
    assert sweeps.main(["select", path, "--run", "--in-process"]) == 0
    selection = json.loads(sweep.selection_path().read_text())
    finals = sweep.final_runs(selection)
    assert all(r.run.is_done() for r in finals)
    search_paths = {r.run.path for r in sweep.search_runs()}
    assert finals[0].run.path in search_paths and finals[1].run.path not in search_paths  # seed 42 reused
    assert results(finals[1].run.path)["run"]["seed"] == 43
    capsys.readouterr()
    assert sweeps.main(["plan", path, "--stage", "final"]) == 0
    assert capsys.readouterr().out.count("done ") == 2
    # the README's toy table and curves, on these real run folders
    assert tables.main([str(tmp_path / "runs"), "--scale", "100", "--out", str(tmp_path / "toy")]) == 0
    assert "Rows differ in: method.name, train.lr." in capsys.readouterr().out
    assert tables.main(["curves", str(tmp_path / "runs"), "--out", str(tmp_path / "toy_curves")]) == 0
    assert (tmp_path / "toy_curves.png").stat().st_size > 0


def fake_run(root, method: str, task: str, seed: int, score: float, params: int) -> None:
    folder = root / method / f"{task}_{seed}"
    folder.mkdir(parents=True)
    config = {"method": {"name": method}, "task": {"name": task}, "experiment": {"seed": seed}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    write_json(
        folder / "results.json",
        {
            "metrics": {"test/accuracy": score, "best_val/accuracy": score - 0.1},
            "selection": {"metric": "val/accuracy"},
            "params": {"method": params, "method_percent": params / 1e6 * 100},
        },
    )


def test_tables_mean_std_average_params_and_files(tmp_path):
    for seed, (a, b) in zip((42, 43), ((0.80, 0.60), (0.90, 0.70))):
        fake_run(tmp_path / "runs", "gift", "cola", seed, a, 1000)
        fake_run(tmp_path / "runs", "gift", "rte", seed, b, 1000)
    fake_run(tmp_path / "runs", "lora", "cola", 42, 0.5, 300_000)
    table = tables.build_table(
        tables.collect([tmp_path / "runs"]),
        row_keys=["method.name"],
        col_key="task.name",
        metric="auto",
        scale=100,
        groups={"first": ["cola"]},
    )
    assert table.columns == ["cola", "rte"]
    assert table.value("gift", "cola").mean == pytest.approx(85.0)
    assert table.value("gift", "cola").std == pytest.approx(7.0710678)
    assert table.average("gift", table.columns) == pytest.approx(75.0)
    assert table.average("lora", table.columns) is None  # lora has no rte run
    markdown = tables.to_markdown(table)
    assert "| gift | 1,000 | 0.1000 | 85.00 ± 7.07 | 65.00 ± 7.07 | 85.00 | 75.00 |" in markdown
    assert "| lora | 0.300M | 30.0000 | 50.00 ± 0.00 | — | 50.00 | — |" in markdown
    assert (
        tables.main(
            [str(tmp_path / "runs"), "--col", "task.name", "--scale", "100", "--out", str(tmp_path / "out" / "glue")]
        )
        == 0
    )
    for suffix in (".md", ".csv", ".png"):
        assert (tmp_path / "out" / f"glue{suffix}").stat().st_size > 0
    csv_rows = (tmp_path / "out" / "glue.csv").read_text().splitlines()
    assert (
        csv_rows[0] == "method,params,params_percent,column,mean,std,median,num_seeds"
        and "gift,1000,0.1,Avg,75.0,,," in csv_rows
    )


def test_tables_explain_a_missing_metric(tmp_path, capsys):
    fake_run(tmp_path, "gift", "cola", 42, 0.8, 10)
    assert tables.main([str(tmp_path), "--metric", "test/f1", "--out", str(tmp_path / "t")]) == 2
    assert "has no metric 'test/f1'" in capsys.readouterr().err
    assert tables.main([str(tmp_path), str(tmp_path / "gfit"), "--out", str(tmp_path / "t")]) == 2  # a typo
    assert "gfit is not a folder" in capsys.readouterr().err


def test_tables_report_the_median_over_seeds(tmp_path):
    for seed, score in zip((42, 43, 44), (0.80, 0.60, 0.90)):
        fake_run(tmp_path / "runs", "gift", "cola", seed, score, 1000)
    runs = tables.collect([tmp_path / "runs"])
    table = tables.build_table(
        runs, row_keys=["method.name"], col_key="task.name", metric="auto", scale=100, statistic="median"
    )
    assert table.value("gift", "cola").median == pytest.approx(80.0) and table.average(
        "gift", ["cola"]
    ) == pytest.approx(80.0)
    markdown = tables.to_markdown(table)
    assert "| gift | 1,000 | 0.1000 | 80.00 [60.00, 90.00] | 80.00 |" in markdown and "median [min, max]" in markdown
    out = tmp_path / "t"
    assert tables.main([str(tmp_path / "runs"), "--col", "task.name", "--stat", "median", "--out", str(out)]) == 0
    row = out.with_suffix(".csv").read_text().splitlines()[1].split(",")
    assert row[:4] == ["gift", "1000", "0.1", "cola"] and float(row[6]) == 0.8 and row[7] == "3"


def fake_lm_run(root, method: str, seed: int, scores: dict[str, float], params: int) -> None:
    """A run that holds every column: test/<set>/accuracy per eval set, and its training curve."""
    folder = root / f"{method}_{seed}"
    folder.mkdir(parents=True)
    config = {"method": {"name": method}, "task": {"name": "math"}, "experiment": {"seed": seed}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    metrics = {f"test/{name}/accuracy": score for name, score in scores.items()}
    backbone = 1_000_000
    write_json(
        folder / "results.json",
        {
            "metrics": {**metrics, "test/accuracy": sum(scores.values()) / len(scores)},
            "selection": {"metric": "val/accuracy"},
            "params": {
                "method": params,
                "backbone": backbone,
                "method_percent": 100 * params / backbone,
                "method_percent_of_total": 100 * params / (backbone + params),
            },
        },
    )
    rows = [{"step": s, "epoch": s / 2, "train/loss": 2.0 / s} for s in (1, 2, 3, 4)]
    rows += [{"step": s, "epoch": s / 2, "val/accuracy": 0.2 * s} for s in (2, 4)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_tables_take_columns_from_metric_names(tmp_path):
    """The LM table: one run holds every eval set; columns picked and ordered, Params % of backbone + adapter."""
    for seed, aqua in zip((42, 43), (0.2, 0.4)):
        fake_lm_run(tmp_path / "runs", "gift", seed, {"AQuA": aqua, "gsm8k": 0.5, "SVAMP": 0.6}, 1000)
    fake_lm_run(tmp_path / "runs", "lora", 42, {"AQuA": 0.1, "gsm8k": 0.3}, 100_000)
    table = tables.build_table(
        tables.collect([tmp_path / "runs"]),
        row_keys=["method.name"],
        col_key=None,
        metric="test/{}/accuracy",
        scale=100,
        columns=["gsm8k", "AQuA"],
        percent_of="total",
    )
    assert table.columns == ["gsm8k", "AQuA"] and table.value("gift", "AQuA").values == pytest.approx([20.0, 40.0])
    assert table.value("gift", "SVAMP") is None  # not asked for
    assert table.params["gift"] == [(1000, pytest.approx(100 * 1000 / 1_001_000))]
    assert table.seed_averages("gift") == pytest.approx([35.0, 45.0])  # the plot's error bar: their std
    markdown = tables.to_markdown(table)
    assert markdown.splitlines()[0] == "| Method | Params | Params % | gsm8k | AQuA | Avg |"
    assert "| gift | 1,000 | 0.0999 | 50.00 ± 0.00 | 30.00 ± 14.14 | 40.00 |" in markdown
    out = tmp_path / "out" / "math"
    argv = [str(tmp_path / "runs"), "--metric", "test/{}/accuracy", "--columns", "gsm8k", "AQuA"]
    assert tables.main([*argv, "--percent-of", "total", "--scale", "100", "--out", str(out)]) == 0
    for suffix in (".md", ".csv", ".png"):
        assert Path(f"{out}{suffix}").stat().st_size > 0
    assert "| gift | 1,000 | 0.0999 |" in Path(f"{out}.md").read_text()


def test_tables_refuse_what_names_no_column(tmp_path, capsys):
    fake_lm_run(tmp_path, "gift", 42, {"AQuA": 0.2}, 10)
    out = ["--out", str(tmp_path / "t")]
    assert tables.main([str(tmp_path), "--metric", "test/{}/accuracy", "--columns", "aqua", *out]) == 2
    assert "--columns names ['aqua'], which no run has; columns are []" in capsys.readouterr().err
    assert tables.main([str(tmp_path), "--metric", "test/{}/f1", *out]) == 2
    assert "has no metric 'test/{}/f1'" in capsys.readouterr().err
    assert tables.main([str(tmp_path), "--metric", "test/{}/accuracy", "--col", "task.name", *out]) == 2
    assert "makes the columns from metric names; drop --col task.name" in capsys.readouterr().err


def test_reference_rows_give_their_numbers_and_average_the_rest(tmp_path):
    for seed in (42, 43):
        fake_run(tmp_path / "runs", "gift", "cola", seed, 0.8, 1000)
        fake_run(tmp_path / "runs", "gift", "rte", seed, 0.6, 1000)
    runs = tables.collect([tmp_path / "runs"])
    table = tables.build_table(
        runs, row_keys=["method.name"], col_key="task.name", metric="auto", scale=100, groups={"first": ["cola"]}
    )
    table.add_reference("LoRA", {"cola": 70.0, "rte": 50.0, "params_percent": 0.2}, source="lora.yaml")
    table.add_reference("VeRA", {"first": 65.0, "avg": 60.0}, source="vera.yaml")
    table.rename({"cola": "CoLA", "first": "First"})
    assert table.averages("LoRA") == {"First": 70.0, "Avg": 60.0}  # computed from its columns
    assert table.averages("VeRA") == {"First": 65.0, "Avg": 60.0}  # as given
    markdown = tables.to_markdown(table)
    assert "| LoRA (paper) |  | 0.2000 | 70.00 | 50.00 | 70.00 | 60.00 |" in markdown
    assert "| VeRA (paper) |  | — | — | — | 65.00 | 60.00 |" in markdown
    assert "LoRA (paper),,0.2,CoLA,70.0,,," in tables.to_csv(table).splitlines()
    with pytest.raises(ValueError, match=r"x\.yaml: the paper's row names \['colaa'\], which are not columns"):
        table.add_reference("X", {"colaa": 1.0}, source="x.yaml")


def test_curves_plot_loss_and_the_selection_metric_per_run(tmp_path, capsys):
    for seed in (42, 43):
        fake_lm_run(tmp_path / "runs", "gift", seed, {"AQuA": 0.2}, 10)
    out = tmp_path / "plots" / "gift_curves"
    assert tables.main(["curves", str(tmp_path / "runs"), "--out", str(out)]) == 0
    assert Path(f"{out}.png").stat().st_size > 0
    (tmp_path / "runs" / "gift_42" / "results.json").unlink()  # unfinished runs plot too, given the metric
    (tmp_path / "runs" / "gift_43" / "results.json").unlink()
    assert tables.main(["curves", str(tmp_path / "runs"), "--out", str(out)]) == 2
    assert "give --metric val/NAME" in capsys.readouterr().err
    assert (
        tables.main(["curves", str(tmp_path / "runs" / "gift_42"), "--metric", "val/accuracy", "--out", str(out)]) == 0
    )
