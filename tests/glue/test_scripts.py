"""The GLUE launch scripts: usage, every sweep file they loop over exists, and what a dry run prints."""

from __future__ import annotations

import subprocess

import pytest
from glue_fixtures import REPO

from gift_experiment_utils.domains.glue import GLUE_TASKS

SCRIPTS = REPO / "scripts" / "language_understanding"


@pytest.mark.parametrize("backbone", ["base", "large"])
def test_scripts_usage_and_sweep_files(backbone):
    script = SCRIPTS / f"run_glue_{backbone}.sh"
    text = script.read_text()
    assert "set -euo pipefail" in text and "Usage:" in text
    done = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage:" in done.stdout.lower()
    done = subprocess.run(["bash", str(script), "gift", "wnli"], capture_output=True, text=True)
    assert done.returncode == 2 and f"roberta-{backbone}/sweeps/{backbone}-gift-wnli.yaml" in done.stderr
    for group in ("gift", "baselines"):
        for task in GLUE_TASKS:
            assert (REPO / f"configs/glue/roberta-{backbone}/sweeps/{backbone}-{group}-{task}.yaml").is_file()
    assert (REPO / f"configs/glue/roberta-{backbone}/sweeps/{backbone}-full.yaml").is_file()


def test_dry_run_from_another_directory_prints_the_sweeps_with_the_overrides(tmp_path):
    command = ["bash", str(SCRIPTS / "run_glue_base.sh"), "gift", "rte", "--dry-run", "--", "train.epochs=1"]
    done = subprocess.run([*command, "data.max_train_samples=64"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    cd, search, select, table = done.stdout.splitlines()
    sweep = REPO / "configs/glue/roberta-base/sweeps/base-gift-rte.yaml"
    assert cd == f"cd {REPO}" and not any(tmp_path.iterdir())
    launcher = f"'accelerate launch --config_file {REPO}/configs/accelerate/1gpu.yaml -m gift_experiment_utils.run'"
    overrides = "train.epochs=1 data.max_train_samples=64"
    assert search == f"python -m gift_experiment_utils.sweep run {sweep} --launcher {launcher} {overrides}"
    assert select == f"python -m gift_experiment_utils.sweep select {sweep} --run --launcher {launcher} {overrides}"
    assert table.endswith(f"{sweep} --out results/glue/roberta-base-gift-overridden --overrides {overrides}")
