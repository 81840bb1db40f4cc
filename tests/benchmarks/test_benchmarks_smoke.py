"""Every benchmark runs end to end at a tiny size; the naive variant and the FLOP formulas are checked.

Timings are never asserted: they belong in BENCHMARKS.md, not in a test on a shared CPU.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import gpu_throughput, head_to_head, layer_stack, single_layer, targets, whole_model  # noqa: E402
from benchmarks.adapters import StepFlops, attach  # noqa: E402
from gift import GIFTConfig, GIFTWrapper  # noqa: E402

TINY_STACK = "--layers 2 --tokens 16 --d-model 64 --d-kv 16 --rank 4 --rounds 1 --warmup 1 --steps 1 --threads 1"
TINY_MODEL = "--model tiny-llama --rank 4 --length 16 --infer-length 16 --new-tokens 4 --rounds 1 --warmup 1 --steps 1 --forward-repeats 1"


def run_module(module: str, flags: str, output: Path) -> dict:
    command = [sys.executable, "-m", module, *flags.split(), "--output", str(output)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(output.read_text())


def test_layer_stack_runs_each_variant_in_its_own_process(tmp_path):
    summary = run_module("benchmarks.layer_stack", TINY_STACK + " --variants gift", tmp_path / "stack.json")
    rows = summary["variants"]
    assert list(rows) == ["gift"] and rows["gift"]["step_s"] > 0
    assert [len(run["step_s"]) for run in summary["raw"]["gift"]] == [1]  # one round, one timed step
    if sys.platform == "linux":
        assert rows["gift"]["peak_mib"] is not None


def test_layer_stack_every_variant_in_process(tmp_path):
    settings, _ = layer_stack.harness.parse_settings(
        layer_stack.StackSettings, f"{TINY_STACK} --in-process --output {tmp_path / 's.json'}".split(), None
    )
    summary = layer_stack.run(settings)
    rows = summary["variants"]
    assert list(rows) == ["floor", "gift", "lora", "naive"]
    d, d_kv, r, layers = 64, 16, 4, 2
    assert rows["gift"]["trainable_parameters"] == 2 * (2 * d * r)  # one θ per type, independent of depth
    assert rows["lora"]["trainable_parameters"] == layers * r * ((d + d) + (d + d_kv))
    assert rows["naive"]["extra_gflop"] > rows["gift"]["extra_gflop"] > 0
    # one pair per variant at this size: each interval is its ratio itself; none for the floor or the reference
    assert rows["gift"]["vs_lora_ci"] == pytest.approx([rows["gift"]["vs_lora"]] * 2)
    assert rows["naive"]["vs_floor_ci"] == pytest.approx([rows["naive"]["vs_floor"]] * 2)
    assert rows["floor"]["vs_lora_ci"] is None and rows["lora"]["vs_lora_ci"] is None
    assert "| gift |" in layer_stack.report(summary)


def test_whole_model_trains_and_generates_with_every_variant(tmp_path):
    settings, _ = whole_model.harness.parse_settings(
        whole_model.ModelSettings, f"{TINY_MODEL} --threads 1 --in-process --output {tmp_path / 'w.json'}".split(), None
    )
    summary = whole_model.run(settings)
    assert list(summary["train"]["variants"]) == list(whole_model.TRAIN_VARIANTS)
    assert list(summary["infer"]["variants"]) == ["base", "gift-merged", "gift-unmerged", "lora", "naive"]
    infer = summary["infer"]["variants"]
    assert all(row["tokens_per_s"] > 0 for row in infer.values())
    assert infer["base"]["forward_vs_base_ci"] is None
    assert infer["gift-merged"]["forward_vs_base_ci"] == pytest.approx([infer["gift-merged"]["forward_vs_base"]] * 2)
    train = summary["train"]["variants"]
    assert train["gift"]["vs_lora_ci"] == pytest.approx([train["gift"]["vs_lora"]] * 2)
    assert "gift-merged" in whole_model.report(summary)


def test_targets_command_reports_every_target(tmp_path, capsys):
    flags = (
        "--layers 1 --tokens 16 --d-model 64 --d-kv 16 --rank 4 --model tiny-llama --infer-length 16 --new-tokens 4 "
        f"--rounds 1 --steps 1 --forward-repeats 1 --threads 1 --in-process --output {tmp_path / 't.json'}"
    )
    status = targets.main(flags.split())
    rows = json.loads((tmp_path / "t.json").read_text())["targets"]
    assert status in (0, 1)  # whether a toy size meets a target is not the question here
    assert [row["target"] for row in rows] == [target.name for target in targets.TARGETS]
    assert all(row["result"] in ("pass", "MISS", "n/a") for row in rows)  # n/a: a 0 MiB peak at toy size
    timed = [row for row in rows if not row["target"].startswith("GIFT peak")]
    assert all(row["interval95"] is not None for row in timed) and rows[2]["interval95"] is None
    for row in timed:  # one pair per variant at this size: the interval is the value itself
        assert row["interval95"] == pytest.approx([row["measured"]] * 2)
    assert "threshold" in capsys.readouterr().out


def test_whole_model_train_worker_leaves_no_weight_gradients(tmp_path, monkeypatch):
    """The warm-up floor step runs on the frozen backbone: no full-size weight gradient is computed and kept."""
    settings, _ = whole_model.harness.parse_settings(
        whole_model.ModelSettings, f"{TINY_MODEL} --threads 1 --in-process --output {tmp_path / 'w.json'}".split(), None
    )
    built = []
    load = whole_model.load_backbone
    monkeypatch.setattr(whole_model, "load_backbone", lambda s: built.append(load(s)) or built[-1])
    whole_model.train_worker("floor", settings)
    (backbone,) = built
    assert [name for name, p in backbone.named_parameters() if p.grad is not None] == []


def test_gpu_script_runs_on_the_cpu_at_a_tiny_size(tmp_path):
    flags = "--size tiny --device cpu --length 16 --rank 4 --warmup 1 --steps 1 --in-process"
    command = ["bash", "benchmarks/gpu.sh", *flags.split(), "--output", str(tmp_path / "gpu.json")]
    env = {**os.environ, "PYTHON": sys.executable}  # the interpreter running the tests, with or without .venv
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "gpu.json").read_text())
    assert list(summary["variants"]) == list(gpu_throughput.GPU_VARIANTS)
    assert summary["variants"]["gift"]["tokens_per_s"] > 0


def test_naive_variant_computes_the_same_function_as_gift():
    def backbone() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(12, 12), nn.Tanh(), nn.Linear(12, 8)).double()

    gift_model = GIFTWrapper(GIFTConfig(rank=3, target_modules=["0", "2"]), backbone()).double()
    naive_model = attach(backbone(), "naive", targets=["0", "2"], rank=3).double()
    with torch.no_grad():
        for key in ("0", "2"):
            theta, naive_theta = gift_model.gift_generators[key], naive_model.naive_generators[key]
            theta.out_proj.weight.normal_(std=0.3)  # ψ = 0 at init would make every variant the backbone
            naive_theta.in_proj.weight.copy_(theta.in_proj.weight)
            naive_theta.out_proj.weight.copy_(theta.out_proj.weight)
    x = torch.randn(5, 12, dtype=torch.float64)
    torch.testing.assert_close(naive_model(x), gift_model(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tokens", [16, 682, 683, 4096])
def test_flop_formula_picks_the_form_the_library_picks(tokens):
    """StepFlops.gift takes the cheaper form per layer; GIFTLinear must make the same choice when training."""
    shapes = [(4096, 4096), (4096, 1024)]  # Llama-3-8B q_proj, v_proj as (d_in, d_out)
    backbone = nn.Sequential(*(nn.Linear(i, o, bias=False, device="meta") for i, o in shapes))
    model = GIFTWrapper(GIFTConfig(rank=64, target_modules=["0", "1"]), backbone)
    for (d_in, d_out), layer in zip(shapes, model.gift_layers.values()):
        flops = StepFlops.of([(d_in, d_out)], tokens, 64)
        x = torch.empty(1, tokens, d_in, device="meta", requires_grad=True)
        with torch.enable_grad():
            library_input_side = layer._input_side_is_cheaper(x, single_node=layer._node_arguments(x) is not None)
        assert library_input_side == (flops.gift_input_side <= flops.gift_generated_b)
        assert flops.gift == min(flops.gift_input_side, flops.gift_generated_b)


def test_single_layer_times_every_form_against_the_floor(tmp_path):
    flags = "--d-in 64 --d-out 16 --tokens 32 --rank 4 --warmup 1 --repeats 2 --profile"
    summary = run_module("benchmarks.single_layer", flags, tmp_path / "layer.json")
    rows = summary["forms"]
    assert list(rows) == list(single_layer.FORMS)
    assert rows["floor"]["overhead_ms"] == 0 and all(row["step_ms"] > 0 for row in rows.values())
    assert "aten::mm" in summary["profiles"]["gift-input-side"]
    assert [len(times) for times in summary["raw"].values()] == [2] * len(single_layer.FORMS)


def test_single_layer_needs_the_floor():
    settings, _ = single_layer.harness.parse_settings(single_layer.LayerSettings, ["--forms", "gift"], None)
    with pytest.raises(ValueError, match="must include 'floor'"):
        single_layer.run(settings)


def test_head_to_head_steps_every_variant_on_copies_of_one_stack(tmp_path):
    flags = "--layers 2 --tokens 8 --rank 2 --d-model 16 --d-kv 8 --warmup 1 --repeats 3 --variants gift gift-autograd lora floor"
    summary = run_module("benchmarks.head_to_head", flags, tmp_path / "h2h.json")
    rows = summary["variants"]
    assert list(rows) == ["gift", "gift-autograd", "lora", "floor"]
    assert rows["lora"]["vs_baseline"] == 1 and all(row["step_s"] > 0 for row in rows.values())
    assert rows["lora"]["ci95_low"] == rows["lora"]["ci95_high"] == 1
    assert all(row["ci95_low"] <= row["vs_baseline"] <= row["ci95_high"] for row in rows.values())
    assert [len(times) for times in summary["raw"].values()] == [3] * 4


def test_head_to_head_control_is_a_second_copy_of_the_baseline(tmp_path):
    flags = "--layers 1 --tokens 8 --rank 2 --d-model 16 --d-kv 8 --warmup 1 --repeats 2 --variants gift lora --control"
    summary = run_module("benchmarks.head_to_head", flags, tmp_path / "h2h.json")
    assert list(summary["variants"]) == ["gift", "lora", "lora-control"]
    assert [len(times) for times in summary["raw"].values()] == [2] * 3


def test_head_to_head_needs_its_baseline():
    settings, _ = head_to_head.harness.parse_settings(head_to_head.HeadToHeadSettings, ["--variants", "gift"], None)
    with pytest.raises(ValueError, match="--baseline 'lora' must be one of"):
        head_to_head.run(settings)


def test_bootstrap_interval_brackets_the_median_and_narrows_with_more_samples():
    interval = head_to_head.harness.bootstrap_interval
    rng = random.Random(1)
    few = [1 + rng.gauss(0, 0.05) for _ in range(15)]
    many = [1 + rng.gauss(0, 0.05) for _ in range(500)]
    low, high = interval([few])
    assert min(few) <= low <= statistics.median(few) <= high <= max(few)
    assert interval([few]) == (low, high)  # seeded
    many_low, many_high = interval([many])
    assert many_high - many_low < (high - low) / 2
    assert interval([[2.0]]) == (2.0, 2.0)
    with pytest.raises(ValueError, match="at least one value in every group"):
        interval([few, []])


def test_bootstrap_interval_of_a_ratio_of_two_medians():
    interval = head_to_head.harness.bootstrap_interval
    rng = random.Random(2)
    slower = [1.2 + rng.gauss(0, 0.02) for _ in range(30)]
    faster = [1.0 + rng.gauss(0, 0.02) for _ in range(30)]
    low, high = interval([slower, faster])
    assert low <= statistics.median(slower) / statistics.median(faster) <= high
    assert 1.1 < low < high < 1.3
    inverse_low, inverse_high = interval([faster, slower])
    assert inverse_high < 1 < low
