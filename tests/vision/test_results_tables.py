"""The results tables from sweeps: selection by the engine's `sweep select`, finals' test top-1, group means,
the paper's rows read from the experiment configs, through the engine's `tables.build_table`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gift_experiment_utils import sweep as sweep_cli
from gift_experiment_utils.domains.vision.results import benchmark_table, main
from gift_experiment_utils.domains.vision.vtab import VTAB_TASKS
from gift_experiment_utils.loading import config_to_dict
from gift_experiment_utils.sweep import Sweep
from gift_experiment_utils.tables import read_paper, to_markdown

REPO = Path(__file__).resolve().parents[2]


def _results(accuracy: float, val: float) -> dict:
    return {
        "metrics": {"val/accuracy": val, "test/accuracy": accuracy},
        "params": {
            "method": 24_576,
            "head": 1_000,
            "backbone": 85_798_656,
            "trainable": 25_576,
            "method_percent": 100 * 24_576 / 85_798_656,
        },
        "peak_memory_mb": 2700.0,
        "peak_memory_kind": "cuda_max_allocated",
    }


def _write_sweep(tmp_path: Path, benchmark: str, partition: str, final: str) -> Path:
    path = tmp_path / f"{benchmark}_gift.yaml"
    path.write_text(f"""sweep:
  config: {REPO}/configs/vision/{benchmark}/gift.yaml
  overrides: [experiment.output_root={tmp_path / "runs"}, task.pretrained=false]
  partition: {partition}
  grid: {{train.lr: [1.0e-3, 2.0e-3]}}
  seeds: [42]
  select: {{metric: val/accuracy, mode: max}}
  final: {final}
""")
    return path


def _finish(runs, score) -> None:
    for planned in runs:
        planned.run.path.mkdir(parents=True, exist_ok=True)
        planned.run.config.write_text(yaml.safe_dump(config_to_dict(planned.config)))  # the run's identity
        planned.run.results.write_text(json.dumps(score(planned)))


def test_fgvc_table_uses_the_selected_point(tmp_path, capsys):
    path = _write_sweep(tmp_path, "fgvc", "{task.dataset: [cub, nabirds, flowers, dogs, cars]}", "{seeds: [42]}")
    sweep = Sweep(path)
    # lr 2e-3 wins validation everywhere; its test accuracy is 0.8 (lr 1e-3 would give 0.9).
    _finish(sweep.search_runs(), lambda p: _results(0.8, 0.7) if p.config.train.lr == 2e-3 else _results(0.9, 0.6))
    assert sweep_cli.main(["select", str(path)]) == 0
    table = benchmark_table([str(path)], paper=True)
    assert table.columns == ["CUB-200-2011", "NABirds", "Oxford Flowers", "Stanford Dogs", "Stanford Cars"]
    assert table.rows == ["fgvc/gift"] and table.value("fgvc/gift", "CUB-200-2011").values == [pytest.approx(80.0)]
    assert table.memory == {"fgvc/gift": (pytest.approx(2700 / 1024), False)}
    markdown = to_markdown(table)
    assert markdown.splitlines()[0] == (
        "| Method | Params | Params % | Peak mem (GB) | CUB-200-2011 | NABirds | Oxford Flowers | Stanford Dogs "
        "| Stanford Cars | Avg |"
    )
    assert "| fgvc/gift | 24,576 | 0.0286 | 2.637 | 80.00 ± 0.00 | 80.00 ± 0.00 |" in markdown
    # the paper's row comes from configs/vision/fgvc/gift.yaml's header, exactly as written there
    assert "| GIFT (r=16) (paper) |  | 0.0290 | 2.646 | 89.71 | 86.28 | 99.22 | 87.44 | 84.28 | 89.39 |" in markdown
    out = tmp_path / "tables" / "fgvc"
    assert main([str(path), "--paper", "--out", str(out)]) == 0 and "| fgvc/gift |" in capsys.readouterr().out
    for suffix in (".md", ".csv", ".png"):
        assert Path(f"{out}{suffix}").stat().st_size > 0
    csv_rows = Path(f"{out}.csv").read_text().splitlines()
    assert (
        csv_rows[0].endswith(",num_seeds,peak_memory_gb")
        and "GIFT (r=16) (paper),,0.029,CUB-200-2011,89.71,,,,2.646" in csv_rows
    )


def test_vtab_groups_average_and_the_papers_group_means(tmp_path):
    partition = "{task.name: [" + ", ".join(VTAB_TASKS) + "]}"
    path = _write_sweep(tmp_path, "vtab", partition, "{seeds: [42], overrides: [task.protocol=final]}")
    sweep = Sweep(path)
    accuracy = {name: (0.5 if row.group == "structured" else 0.9) for name, row in VTAB_TASKS.items()}
    _finish(sweep.search_runs(), lambda p: _results(0.0, 0.5 if p.config.train.lr == 1e-3 else 0.4))
    assert sweep_cli.main(["select", str(path)]) == 0
    finals = sweep.final_runs(json.loads(sweep.selection_path().read_text()))
    assert {p.config.task.protocol for p in finals} == {"final"} and {p.config.train.lr for p in finals} == {1e-3}
    _finish(finals, lambda p: _results(accuracy[p.config.task.name], 0.0))
    table = benchmark_table([str(path)], paper=True)
    assert table.columns == list(VTAB_TASKS)
    assert table.averages("vtab/gift") == pytest.approx(
        {"Natural (7)": 90.0, "Specialized (4)": 90.0, "Structured (8)": 50.0, "Avg": (11 * 90 + 8 * 50) / 19}
    )
    markdown = to_markdown(table)
    assert "| 90.00 | 90.00 | 50.00 | 73.16 |" in markdown
    # the paper gives VTAB's group means only: its row has no per-task numbers
    paper = next(line for line in markdown.splitlines() if line.startswith("| GIFT (r=16) (paper) |"))
    assert paper.endswith("| — | 81.95 | 86.30 | 61.12 | 74.09 |") and "| 2.644 |" in paper


def test_missing_tasks_leave_gaps(tmp_path):
    partition = "{task.name: [cifar, dtd]}"
    path = _write_sweep(tmp_path, "vtab", partition, "{seeds: [42], overrides: [task.protocol=final]}")
    sweep = Sweep(path)
    _finish(sweep.search_runs(), lambda p: _results(0.0, 0.5 if p.config.train.lr == 1e-3 else 0.4))
    assert sweep_cli.main(["select", str(path)]) == 0
    _finish(sweep.final_runs(sweep.read_selection()), lambda p: _results(0.8, 0.0))
    table = benchmark_table([str(path)])
    assert table.averages("vtab/gift") == {
        "Natural (7)": None,
        "Specialized (4)": None,
        "Structured (8)": None,
        "Avg": None,
    }
    assert table.value("vtab/gift", "cifar").mean == pytest.approx(80.0) and table.value("vtab/gift", "svhn") is None


def test_the_paper_rows_are_the_config_headers():
    """One place for the paper's numbers: the experiment configs (no copy in the table code)."""
    rows = {
        (benchmark, method): read_paper(REPO / "configs" / "vision" / benchmark / f"{method}.yaml")
        for benchmark in ("fgvc", "vtab")
        for method in ("vpt", "bitfit", "lora", "gift", "lora_qkv", "full", "linear")
    }
    assert rows[("fgvc", "gift")] == (
        "GIFT (r=16)",
        {
            "cub": 89.71,
            "nabirds": 86.28,
            "flowers": 99.22,
            "dogs": 87.44,
            "cars": 84.28,
            "avg": 89.39,
            "params_percent": 0.029,
            "memory_gb": 2.646,
        },
    )
    assert rows[("vtab", "vpt")] == (
        "VPT",
        {
            "natural": 81.03,
            "specialized": 85.65,
            "structured": 58.89,
            "avg": 72.68,
            "params_percent": 0.054,
            "memory_gb": 2.753,
        },
    )
    assert {key for key, row in rows.items() if row is None} == {
        (b, m) for b in ("fgvc", "vtab") for m in ("lora_qkv", "full", "linear")
    }


def test_a_paper_row_that_is_not_a_mapping_of_numbers_is_refused(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("# Paper: as the tables read it\n# paper: {row: X, cub: 1.0}\n")
    assert read_paper(config) == ("X", {"cub": 1.0})
    config.write_text("# paper: {row: X, cub: high}\n")
    with pytest.raises(ValueError, match=r"x\.yaml line 1: write the paper's row as \{row: NAME"):
        read_paper(config)
    config.write_text("# paper: {row: X, cub: [1.0}\n")
    with pytest.raises(ValueError, match=r"x\.yaml line 1: the paper's row is not a YAML mapping"):
        read_paper(config)
