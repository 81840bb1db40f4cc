"""Identity at init, what trains, shared θ, parameter counts, config round trip."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from toy_models import D_IN, RANK, Stack, build

from gift import GIFTConfig, GIFTWrapper
from gift.gift import GIFTConfig as LegacyConfig  # the original release's import path
from gift.gift import GIFTWrapperForCausalLM as LegacyCausalLM


def test_legacy_import_path():
    assert LegacyConfig is GIFTConfig and LegacyCausalLM.__name__ == "GIFTWrapperForCausalLM"


@pytest.mark.parametrize("block", ["simple_block", "mlp", "transformer", "mlp_mixer"])
def test_identity_at_init(block):
    torch.manual_seed(0)
    backbone = Stack().double()
    x = torch.randn(2, 5, D_IN, dtype=torch.float64)
    expected = backbone(x)
    config = GIFTConfig(
        rank=RANK, target_modules=["up", "down"], gift_parameters={"block_type": block}, out_projection_bias=True
    )
    model = GIFTWrapper(config, backbone).double()
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


def test_gradients_reach_only_theta_and_head():
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"]))
    model(torch.randn(2, 3, D_IN, dtype=torch.float64)).sum().backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert trainable == with_grad
    assert all(n.startswith("gift_generators.") or n.startswith("backbone.head.") for n in trainable)
    assert any(n.startswith("backbone.head.") for n in trainable)
    assert {n.split(".")[1] for n in trainable if n.startswith("gift_")} == {"up", "down"}


def test_theta_is_one_object_across_depth():
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"]))
    for key in ("up", "down"):
        layers = [layer for name, layer in model.gift_layers.items() if name.endswith(key)]
        assert len(layers) == 3
        assert all(layer.generators[0] is model.gift_generators[key] for layer in layers)
    # registered once: state_dict and parameters() hold θ a single time
    theta_keys = [k for k in model.state_dict() if "in_proj" in k or "out_proj" in k]
    assert sorted(theta_keys) == sorted(
        f"gift_generators.{k}.{p}_proj.weight" for k in ("up", "down") for p in ("in", "out")
    )


@pytest.mark.parametrize("layers", [1, 3])
def test_count_is_closed_form_and_independent_of_depth(layers):
    backbone = Stack()
    backbone.layers = backbone.layers[:layers]
    model = GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up", "down"]), backbone, head_modules=["head"])
    count = model.num_trainable_parameters()
    d_in_up, d_in_down = D_IN, 18
    assert count.gift == 2 * d_in_up * RANK + 2 * d_in_down * RANK
    assert count.head == D_IN * 9 + 9
    assert count.backbone == sum(p.numel() for p in backbone.parameters()) - count.head
    assert count.gift_percent == pytest.approx(100 * count.gift / count.backbone)


def test_layers_to_transform():
    model = GIFTWrapper(
        GIFTConfig(rank=RANK, target_modules=["up"], layers_to_transform=[0, 2], layers_pattern="layers"), Stack()
    )
    assert sorted(model.gift_layers) == ["layers.0.up", "layers.2.up"]


def test_regex_targets_share_theta_by_type():
    model = GIFTWrapper(GIFTConfig(rank=RANK, target_modules=r"layers\.\d+\.(up|down)"), Stack())
    assert sorted(model.gift_generators) == ["down", "up"]
    assert len(model.gift_layers) == 6


def test_config_json_round_trip_and_dtypes(tmp_path):
    config = GIFTConfig(
        rank=8,
        target_modules=["attn:proj"],
        dtype=torch.bfloat16,
        gift_parameters={"block_type": "mlp", "mlp_ratio": 2},
        enable_gift={"attn:qkv": [True, False, True]},
        layers_to_transform=3,
    )
    assert config.dtype == "bfloat16"
    config.save_pretrained(tmp_path)
    loaded = GIFTConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.dtype == "bfloat16" and loaded.layers_to_transform == [3]
    assert GIFTConfig(dtype="float16").torch_dtype_of_theta == torch.float16


def test_misspelt_gift_paramters_is_honoured_with_a_warning():
    with pytest.warns(UserWarning, match="gift_paramters"):
        config = GIFTConfig(gift_paramters={"block_type": "mlp"})
    assert config.gift_parameters["block_type"] == "mlp"


def test_theta_follows_device_and_config_dtype():
    model = GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up"], dtype="bfloat16"), Stack())
    assert all(p.dtype == torch.bfloat16 for p in model.theta_parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model(torch.randn(2, D_IN))
    assert out.dtype == torch.float32
    with torch.device("meta"):
        meta_backbone = Stack()
    meta = GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up"]), meta_backbone)
    assert all(p.is_meta for p in meta.theta_parameters())


def test_wrapper_delegates_attributes():
    backbone = Stack()
    backbone.some_attribute = "x"
    model = GIFTWrapper(GIFTConfig(rank=RANK, target_modules=["up"]), backbone)
    assert model.some_attribute == "x"
    assert isinstance(model.layers, nn.ModuleList)


def test_theta_parameters_has_one_name():
    """`gift_parameters` is the generator-block config key; the wrapper's θ is `theta_parameters()`."""
    import warnings

    from gift import GIFTConfig, GIFTWrapper

    model = GIFTWrapper(GIFTConfig(rank=2, target_modules=["0"]), torch.nn.Sequential(torch.nn.Linear(4, 4)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = list(model.gift_parameters())
    assert [p is q for p, q in zip(old, model.theta_parameters())] == [True] * len(old) and len(old) == 2
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
