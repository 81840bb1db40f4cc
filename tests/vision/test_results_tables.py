"""The results tables from sweeps: selection by the engine's `sweep select`, finals' test top-1, group means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gift_experiment_utils import sweep as sweep_cli
from gift_experiment_utils.loading import config_to_dict
from gift_experiment_utils.sweep import Sweep
from gift_experiment_utils.vision.tables import collect, fgvc_table, main, vtab_groups, vtab_tables
from gift_experiment_utils.vision.vtab import VTAB_TASKS

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
    result = collect(str(path))
    assert result.accuracy == {name: pytest.approx(80.0) for name in ("cub", "nabirds", "flowers", "dogs", "cars")}
    assert round(result.params_percent, 3) == 0.029 and result.memory_gb == pytest.approx(2700 / 1024)
    table = fgvc_table([result], paper=True)
    assert "| fgvc_gift | 0.029 | 24,576 | 25,576 | 2.637 | 80.00 | 80.00 | 80.00 | 80.00 | 80.00 | 80.00 |" in table
    assert "| GIFT (r=16) (paper) | 0.029 |" in table and "89.39 |" in table
    assert main([str(path)]) == 0 and "| fgvc_gift |" in capsys.readouterr().out


def test_vtab_groups_and_average(tmp_path):
    partition = "{task.name: [" + ", ".join(VTAB_TASKS) + "]}"
    path = _write_sweep(tmp_path, "vtab", partition, "{seeds: [42], overrides: [task.protocol=final]}")
    sweep = Sweep(path)
    accuracy = {name: (0.5 if row.group == "structured" else 0.9) for name, row in VTAB_TASKS.items()}
    _finish(sweep.search_runs(), lambda p: _results(0.0, 0.5 if p.config.train.lr == 1e-3 else 0.4))
    assert sweep_cli.main(["select", str(path)]) == 0
    finals = sweep.final_runs(json.loads(sweep.selection_path().read_text()))
    assert {p.config.task.protocol for p in finals} == {"final"} and {p.config.train.lr for p in finals} == {1e-3}
    _finish(finals, lambda p: _results(accuracy[p.config.task.name], 0.0))
    result = collect(str(path))
    groups = vtab_groups(result.accuracy)
    assert groups == pytest.approx(
        {"natural": 90.0, "specialized": 90.0, "structured": 50.0, "average": (11 * 90 + 8 * 50) / 19}
    )
    table = vtab_tables([result], paper=True)
    assert "| 90.00 | 90.00 | 50.00 | 73.16 |" in table and "| GIFT (r=16) (paper) |" in table and "74.09 |" in table


def test_missing_tasks_leave_gaps():
    assert vtab_groups({"cifar": 80.0})["natural"] is None and vtab_groups({})["average"] is None
