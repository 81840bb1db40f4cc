"""End to end on the offline MiniLM and generated GLUE data, through the real entry scripts:
one run of `python -m gift_experiment_utils.run` (STS-B: a regression on sentence pairs), then the
search → select → finals chain of `python -m gift_experiment_utils.sweep` on a tiny grid (CoLA, both
protocols), the GLUE table and the server submission built from its final runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
import yaml
from glue_fixtures import BASE_GIFT, REPO

from gift_experiment_utils import sweep as sweep_cli
from gift_experiment_utils.domains.glue import results as table
from gift_experiment_utils.domains.glue import submit

pytestmark = pytest.mark.slow


def test_run_entry_script_stsb(offline, tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "gift_experiment_utils.run", "--config", str(BASE_GIFT), *offline("stsb")]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "runs" / "glue" / "roberta-base").glob("stsb_gift_r32_lr0.0001_wd0_*_seed42")
    results = json.loads((run / "results.json").read_text())
    metrics = results["metrics"]
    for key in ("val/pearson", "val/spearmanr", "val/score", "best_val/pearson"):
        assert -1.0 <= metrics[key] <= 1.0
    assert metrics["test/num_examples"] == 6 and results["selection"]["metric"] == "val/pearson"
    assert results["params"]["method"] == 2 * 2 * 384 * 32  # GIFT r=32 on query and value of MiniLM
    rows = (run / "predictions" / "STS-B.tsv").read_text().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 7
    assert all(0.0 <= float(row.split("\t")[1]) <= 5.0 for row in rows[1:])
    assert [
        json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines() if "val/pearson" in line
    ] == [1]  # validation after every epoch


def test_search_select_finals_table_and_submission(offline, tmp_path):
    sweep_file = tmp_path / "tiny-cola.yaml"
    sweep_file.write_text(
        yaml.safe_dump(
            {
                "sweep": {
                    "config": str(BASE_GIFT),
                    "overrides": [*offline("cola", **{"task.heldout_fraction": 0.25}), "experiment.name=tiny"],
                    "partition": {"task.protocol": ["paper", "clean"]},
                    "grid": {"train.lr": [1.0e-3, 1.0e-4]},
                    "seeds": [42],
                    "select": {"metric": "best_val/matthews_correlation", "mode": "max"},
                    "final": {"seeds": [42, 43]},
                }
            }
        )
    )
    assert sweep_cli.main(["run", str(sweep_file), "--in-process"]) == 0  # 2 protocols × 2 lr on seed 42
    assert sweep_cli.main(["select", str(sweep_file), "--run", "--in-process"]) == 0  # + seed 43 per protocol
    selection = json.loads(
        (tmp_path / "runs" / "glue" / "tiny" / "_sweeps" / "tiny-cola" / "selection.json").read_text()
    )
    assert len(selection) == 2 and all(s["metric"] == "best_val/matthews_correlation" for s in selection.values())
    runs = sorted(p.name for p in (tmp_path / "runs" / "glue" / "tiny").iterdir() if p.name != "_sweeps")
    assert len(runs) == 6 and sum(name.startswith("cola-clean_") for name in runs) == 3

    results, missing = table.final_runs([sweep_file])
    assert len(results) == 4 and not missing
    clean = next(r for r in results if r.config["task.protocol"] == "clean")
    assert "test/matthews_correlation" in clean.results["metrics"]  # validation reported once, as the test split
    glue = table.glue_table(results)
    assert sorted(glue.rows) == ["gift protocol=clean", "gift protocol=paper"]
    assert glue.columns == ["CoLA"] and all(len(glue.value(row, "CoLA").values) == 2 for row in glue.rows)
    paper = [r for r in results if r.config["task.protocol"] == "paper"]
    expected = 100 * sum(r.results["metrics"]["best_val/matthews_correlation"] for r in paper) / 2
    assert glue.value("gift protocol=paper", "CoLA").mean == pytest.approx(expected)
    assert table.main([str(sweep_file), "--out", str(tmp_path / "tables" / "glue")]) == 0
    assert "| gift protocol=clean |" in (tmp_path / "tables" / "glue.md").read_text()

    out = tmp_path / "submission"
    assert submit.main([str(sweep_file), "--protocol", "paper", "--out", str(out)]) == 0
    assert (out / "CoLA.tsv").read_text().splitlines()[0] == "index\tprediction"
    with zipfile.ZipFile(tmp_path / "submission.zip") as bundle:
        assert bundle.namelist() == ["CoLA.tsv"]
    assert "\t42\t" in (out / "SOURCES.tsv").read_text() or "\t43\t" in (out / "SOURCES.tsv").read_text()
