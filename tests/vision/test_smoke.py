"""Every method end to end through the real entry script (`gift_experiment_utils.run`) on a tiny random ViT,
and the paper's parameter counts on the real ViT-B/16 (built on the meta device: no weights, no download)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from vision_data import FAST_LOOP, TINY_VIT

from gift_experiment_utils.domains.vision.backbone import build_vit
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.methods import apply_method
from gift_experiment_utils.run import main
from gift_experiment_utils.task import TaskModel

REPO = Path(__file__).resolve().parents[2]
# Trainable parameters outside the head on the tiny ViT (width D = 32, 2 blocks, MLP 4D).
D, DEPTH = 32, 2
TINY_COUNTS = {
    "gift": 2 * D * 16,  # φ and ψ of the one shared attn.proj θ, r = 16
    "lora": DEPTH * 8 * (D + D),  # A and B per attn.proj, r = 8
    "lora_qkv": DEPTH * 8 * (D + 3 * D),
    "bitfit": DEPTH * (3 * D + D + 4 * D + D),  # qkv, proj, fc1, fc2 biases
    "vpt": DEPTH * 5 * D,
    "linear": 0,
}
# The paper's "Params %" on ViT-B/16 (85,798,656 parameters without head).
PAPER_COUNTS = {"gift": (24_576, 0.029), "lora": (147_456, 0.172), "bitfit": (82_944, 0.097), "vpt": (46_080, 0.054)}
METHODS = ["gift", "lora", "lora_qkv", "bitfit", "vpt", "full", "linear"]


def _run(config: str, overrides: list[str], output_root: Path) -> dict:
    assert main(["--config", config, *TINY_VIT, *FAST_LOOP, f"experiment.output_root={output_root}", *overrides]) == 0
    results = list(output_root.rglob("results.json"))
    assert len(results) == 1, results
    return json.loads(results[0].read_text())


@pytest.mark.parametrize("method", METHODS)
def test_fgvc_every_method(method, fgvc_cub, tmp_path):
    results = _run(f"configs/vision/fgvc/{method}.yaml", [f"task.root={fgvc_cub}"], tmp_path)
    metrics, params = results["metrics"], results["params"]
    assert {"val/accuracy", "test/accuracy", "best_val/accuracy"} <= set(metrics)
    assert metrics["test/num_examples"] == 6
    assert params["head"] == D * 200 + 200  # a fresh 200-way head
    assert params["method"] == TINY_COUNTS.get(method, params["backbone"])  # full: the whole backbone
    assert params["trainable"] == params["method"] + params["head"]
    assert results["peak_memory_mb"] > 0 and results["effective_batch_size"] == 8


@pytest.mark.parametrize("protocol", ["tune", "final"])
def test_vtab_tfds_mocked(protocol, mock_vtab, tmp_path):
    results = _run("configs/vision/vtab/gift.yaml", ["task.name=kitti", f"task.protocol={protocol}"], tmp_path)
    assert ("val/accuracy" in results["metrics"]) == (protocol == "tune")
    assert ("test/accuracy" in results["metrics"]) == (protocol == "final")
    assert results["run"]["name"].startswith("kitti_" if protocol == "tune" else "kitti-final_")
    assert results["params"]["head"] == D * 4 + 4


def test_vtab_folder_layout(vtab_folder, tmp_path):
    overrides = ["task.name=dtd", "task.source=folder", f"task.data_dir={vtab_folder}", "task.protocol=final"]
    results = _run("configs/vision/vtab/vpt.yaml", overrides, tmp_path)
    assert results["metrics"]["test/num_examples"] == 6 and results["params"]["method"] == TINY_COUNTS["vpt"]


@pytest.mark.slow
def test_run_script_with_accelerate_launch(fgvc_cub, tmp_path):
    """scripts/visual_classification/fgvc/run_fgvc.sh: its `accelerate launch` of the entry script, in a subprocess."""
    script = REPO / "scripts/visual_classification/fgvc/run_fgvc.sh"
    overrides = [*TINY_VIT, *FAST_LOOP, f"task.root={fgvc_cub}", f"experiment.output_root={tmp_path}"]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the venv's python, accelerate
        "ACCELERATE_CONFIG": "configs/accelerate/cpu.yaml",
        "DATASETS": "cub",
        "WANDB_MODE": "disabled",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        ["bash", str(script), "gift", "7", "--", *overrides], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (results,) = tmp_path.rglob("results.json")
    assert re.fullmatch(r"cub_gift_r16_lr0\.001_wd0\.0001_[0-9a-f]{8}_seed7", results.parent.name)
    assert json.loads(results.read_text())["params"]["method"] == TINY_COUNTS["gift"]


@pytest.mark.parametrize("method", ["gift", "lora", "bitfit", "vpt"])
def test_paper_parameter_counts_on_vit_b16(method):
    config = load_config(f"configs/vision/fgvc/{method}.yaml", ["task.pretrained=false"])
    with torch.device("meta"):
        model = build_vit(config.model.name, num_classes=200, options=config.task)
        count = apply_method(config.method, TaskModel(model, head_modules=["head"], gift_wrapper="image_cls")).count
    assert count.backbone == 85_798_656
    assert (count.method, round(count.method_percent, 3)) == PAPER_COUNTS[method]
    assert count.head == 768 * 200 + 200
