"""Bad input gets a clear error; save → load round trips exactly, in a fresh process, with every key checked."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from toy_models import D_IN, RANK, Stack, build, randomise_theta

from gift import GIFTConfig, GIFTWrapper
from gift.io import CONFIG_NAME, WEIGHTS_NAME


def test_target_matching_nothing_names_pattern_and_lists_modules():
    with pytest.raises(ValueError, match=r"'q_proj' matches no module of Stack.*layers\.0\.up"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up", "q_proj"]), Stack())
    with pytest.raises(ValueError, match="matches no module"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=r"nothing\..*"), Stack())


def test_non_linear_target_is_rejected():
    with pytest.raises(TypeError, match=r"'act' matched 'layers\.0\.act', a Tanh"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["act"]), Stack())


def test_layers_of_one_target_with_different_shapes_are_named():
    backbone = Stack()
    backbone.layers[2]["up"] = nn.Linear(D_IN, 24)
    with pytest.raises(ValueError, match=r"'up' matches layers of different shapes.*layers\.2\.up"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up"]), backbone)


@pytest.mark.parametrize("rank", [0, -3, 2.5])
def test_bad_rank(rank):
    with pytest.raises(ValueError, match="rank must be an integer >= 1"):
        GIFTConfig(rank=rank)


def test_enable_gift_must_divide_outputs():
    with pytest.raises(ValueError, match="4 slices, which does not divide the layer's 18 outputs"):
        GIFTWrapper(
            GIFTConfig(rank=RANK, target_modules=["up"], enable_gift={"up": [True, False, True, True]}), Stack()
        )
    with pytest.raises(ValueError, match="not a matched target"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up"], enable_gift={"qkv": [True]}), Stack())


def test_share_projections_with_different_d_in():
    with pytest.raises(ValueError, match="share_projections=True needs one input size.*'up': 12.*'down': 18"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up", "down"], share_projections=True), Stack())


def test_bad_config_values():
    with pytest.raises(ValueError, match="unknown key 'blok_type'.*Did you mean 'block_type'"):
        GIFTConfig(gift_parameters={"blok_type": "mlp"})
    with pytest.raises(ValueError, match="'act_layer'\\]='gleu'.*Did you mean 'gelu'"):
        GIFTConfig(gift_parameters={"act_layer": "gleu"})
    with pytest.raises(ValueError, match="dtype='float64' is not supported"):
        GIFTConfig(dtype="float64")
    with pytest.raises(ValueError, match="head_modules entry 'classifier'"):
        GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up"]), Stack(), head_modules=["classifier"])


def test_save_writes_only_json_and_safetensors(tmp_path):
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"]))
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]
    saved = load_file(tmp_path / WEIGHTS_NAME)
    assert sorted(saved) == sorted(model.adapter_state_dict())
    assert {k.split(".")[0] for k in saved} == {"gift_generators", "head"}
    assert json.loads((tmp_path / CONFIG_NAME).read_text())["gift_wrapper"]["head_modules"] == ["head"]


def test_load_in_fresh_process_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    config = GIFTConfig(rank=RANK, target_modules=["up", "down"], gift_parameters={"block_type": "mlp"})
    model = GIFTWrapper(config, Stack(), head_modules=["head"])  # float32 throughout, as θ's config dtype
    randomise_theta(model)
    x = torch.randn(2, 3, D_IN)
    torch.save(x, tmp_path / "x.pt")
    torch.save(model(x).detach(), tmp_path / "expected.pt")
    model.save_pretrained(tmp_path / "adapter")
    script = textwrap.dedent(
        f"""
        import torch
        from toy_models import Stack
        from gift import GIFTWrapper
        torch.set_num_threads({torch.get_num_threads()})  # GEMM summation order may depend on the thread count
        torch.manual_seed(0)
        model = GIFTWrapper.from_pretrained(Stack(), {str(tmp_path / "adapter")!r})
        out = model(torch.load({str(tmp_path / "x.pt")!r}))
        assert torch.equal(out, torch.load({str(tmp_path / "expected.pt")!r})), (out - torch.load({str(tmp_path / "expected.pt")!r})).abs().max()
        """
    )
    tests_dir = str(__import__("pathlib").Path(__file__).parents[1])
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tests_dir)


def _tamper(directory, edit):
    path = directory / WEIGHTS_NAME
    state = load_file(path)
    edit(state)
    save_file(state, path)


def test_load_rejects_missing_extra_and_misshaped_keys(tmp_path):
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"]))
    for case, edit, message in [
        (
            "missing",
            lambda s: s.pop("gift_generators.up.in_proj.weight"),
            "missing keys \\['gift_generators.up.in_proj.weight'\\]",
        ),
        ("extra", lambda s: s.update(extra=torch.zeros(1)), "extra keys \\['extra'\\]"),
        ("shape", lambda s: s.update({"head.head.bias": torch.zeros(4)}), "'head.head.bias' has shape \\(4,\\)"),
    ]:
        directory = tmp_path / case
        model.save_pretrained(directory)
        _tamper(directory, edit)
        with pytest.raises(ValueError, match=message):
            GIFTWrapper.from_pretrained(Stack(), directory)


def test_load_onto_another_backbone_shape_names_the_layer(tmp_path):
    build(GIFTConfig(rank=RANK, target_modules=["up"])).save_pretrained(tmp_path)
    other = Stack()
    for layer in other.layers:
        layer["up"] = nn.Linear(D_IN, 24)
    with pytest.raises(ValueError, match=r"layer 'layers\.0\.up' is \[18, 12\].*and \[24, 12\] here"):
        GIFTWrapper.from_pretrained(other, tmp_path)


def test_load_from_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="gift_config.json does not exist"):
        GIFTWrapper.from_pretrained(Stack(), tmp_path)
