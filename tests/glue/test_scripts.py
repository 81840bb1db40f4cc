"""The GLUE launch scripts: usage, and every sweep file they loop over exists."""

from __future__ import annotations

import subprocess

import pytest
from glue_fixtures import REPO

from gift_experiment_utils.glue import GLUE_TASKS

SCRIPTS = REPO / "scripts" / "language_understanding"


@pytest.mark.parametrize("backbone", ["base", "large"])
def test_scripts_usage_and_sweep_files(backbone):
    script = SCRIPTS / f"run_glue_{backbone}.sh"
    text = script.read_text()
    assert "set -euo pipefail" in text and "Usage:" in text
    done = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage:" in done.stdout
    done = subprocess.run(["bash", str(script), "gift", "wnli"], capture_output=True, text=True)
    assert done.returncode == 2 and f"roberta-{backbone}/sweeps/{backbone}-gift-wnli.yaml" in done.stderr
    for group in ("gift", "baselines"):
        for task in GLUE_TASKS:
            assert (REPO / f"configs/glue/roberta-{backbone}/sweeps/{backbone}-{group}-{task}.yaml").is_file()
    assert (REPO / f"configs/glue/roberta-{backbone}/sweeps/{backbone}-full.yaml").is_file()
    assert "accelerate launch --config_file" in (SCRIPTS / "run_glue.sh").read_text()
