"""Every computational form of GIFT against the literal Ŵ = W + out(block(in(W))) in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from toy_models import D_HIDDEN, D_IN, RANK, Stack, build, literal_weight, randomise_theta, reference_forward
from transformers.pytorch_utils import Conv1D

from gift import GIFTConfig, GIFTLinear, GIFTWrapper

BLOCKS = [
    {"block_type": "simple_block"},
    {"block_type": "simple_block", "act_layer": "gelu"},
    {"block_type": "simple_block", "norm_layer": "l2"},
    {"block_type": "mlp", "norm_layer": "ln"},
    {"block_type": "transformer", "num_heads": 2, "norm_layer": "ln"},
    {"block_type": "mlp_mixer", "num_mixed_tokens": 5},
]


@pytest.mark.parametrize("tokens", [1, 7, 300])  # few tokens → input-side form; many → generated-B for `down`
@pytest.mark.parametrize("biases", [(False, False), (True, False), (False, True), (True, True)])
def test_linear_generator_matches_literal_formula(tokens, biases):
    config = GIFTConfig(
        rank=RANK, target_modules=["up", "down"], in_projection_bias=biases[0], out_projection_bias=biases[1]
    )
    model = build(config)
    x = torch.randn(2, tokens, D_IN, dtype=torch.float64)
    torch.testing.assert_close(model(x), reference_forward(model, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tokens", [1, 300])  # `up` always input-side; `down` generated-B from 24 tokens on
@pytest.mark.parametrize("biases", [(False, False), (True, True)])
def test_gradients_match_literal_formula(tokens, biases):
    config = GIFTConfig(
        rank=RANK, target_modules=["up", "down"], in_projection_bias=biases[0], out_projection_bias=biases[1]
    )
    model = build(config)
    x = torch.randn(2, tokens, D_IN, dtype=torch.float64, requires_grad=True)
    inputs = [x, *model.theta_parameters()]
    grads = torch.autograd.grad(model(x).square().sum(), inputs)
    expected = torch.autograd.grad(reference_forward(model, x).square().sum(), inputs)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tokens", [1, 300])
@pytest.mark.parametrize(("backbone_dtype", "theta_dtype"), [("bfloat16", "float32"), ("float32", "bfloat16")])
def test_mixed_dtypes_follow_the_literal_formula(tokens, backbone_dtype, theta_dtype):
    # A bf16 model with fp32 θ (the LLM recipe) and the converse: the output keeps the backbone's dtype.
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"], out_projection_bias=True))
    x = torch.randn(2, tokens, D_IN, dtype=torch.float64)
    expected = reference_forward(model, x)
    model.backbone.to(getattr(torch, backbone_dtype))
    model.gift_generators.to(getattr(torch, theta_dtype))
    out = model(x.to(getattr(torch, backbone_dtype)))
    assert out.dtype == getattr(torch, backbone_dtype)
    torch.testing.assert_close(out.double(), expected, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("tokens", [1, 300])
def test_bf16_autocast_follows_the_literal_formula(tokens):
    # The engine's mixed precision: fp32 θ and weights, matmuls under bf16 autocast (one fused addmm per form).
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"], out_projection_bias=True))
    x = torch.randn(2, tokens, D_IN, dtype=torch.float64)
    expected = reference_forward(model, x)
    model.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x.float())
        out.float().square().mean().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in model.theta_parameters())
    torch.testing.assert_close(out.double(), expected, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("form", ["_forward_input_side", "_forward_generated_b"])
def test_both_forms_agree_on_every_layer(form):
    config = GIFTConfig(rank=RANK, target_modules=["up", "down"], in_projection_bias=True, out_projection_bias=True)
    model = build(config)
    for layer in model.gift_layers.values():
        x = torch.randn(5, layer.d_in, dtype=torch.float64)
        expected = nn.functional.linear(x, literal_weight(layer), layer.base_layer.bias)
        torch.testing.assert_close(getattr(layer, form)(x), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("options", BLOCKS, ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("with_grad", [True, False])
def test_every_block_matches_literal_formula(options, with_grad):
    model = build(
        GIFTConfig(rank=RANK, target_modules=["up", "down"], gift_parameters=options, out_projection_bias=True)
    )
    x = torch.randn(3, 4, D_IN, dtype=torch.float64)
    with torch.set_grad_enabled(with_grad):
        torch.testing.assert_close(model(x), reference_forward(model, x), rtol=1e-9, atol=1e-9)


def test_fused_slices_get_their_own_theta_and_match_literal():
    # `up` is a fused projection of three 6-wide slices; GIFT on slices 0 and 2 only.
    config = GIFTConfig(rank=RANK, target_modules=["up"], enable_gift={"up": [True, False, True]})
    model = build(config)
    assert sorted(model.gift_generators) == ["up:slice0", "up:slice2"]
    layer = next(iter(model.gift_layers.values()))
    x = torch.randn(2, 5, D_IN, dtype=torch.float64)
    torch.testing.assert_close(model(x), reference_forward(model, x), rtol=1e-10, atol=1e-10)
    # the disabled slice is exactly the base layer's output
    base = layer.base_layer(x)
    torch.testing.assert_close(layer(x)[..., 6:12], base[..., 6:12], rtol=0, atol=0)


def test_shared_projections_one_theta_for_all_targets():
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "layers.0.down"], share_projections=False), bias=False)
    assert set(model.gift_generators) == {"up", "layers:0:down"}
    shared = GIFTWrapper(
        GIFTConfig(rank=RANK, target_modules=["up", "head"], share_projections=True), Stack(), head_modules=[]
    ).double()
    assert list(shared.gift_generators) == ["shared"]
    generators = {id(g) for layer in shared.gift_layers.values() for g in layer.generators}
    assert generators == {id(shared.gift_generators["shared"])}
    randomise_theta(shared)
    x = torch.randn(2, 3, D_IN, dtype=torch.float64)
    torch.testing.assert_close(shared(x), reference_forward(shared, x), rtol=1e-10, atol=1e-10)


def test_conv1d_matches_literal_formula_and_merges():
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"], gift_parameters={"act_layer": "tanh"}), Conv1D)
    x = torch.randn(2, 6, D_IN, dtype=torch.float64)
    expected = reference_forward(model, x)
    torch.testing.assert_close(model(x), expected, rtol=1e-10, atol=1e-10)
    originals = {name: layer.base_layer.weight.clone() for name, layer in model.gift_layers.items()}
    model.merge()
    torch.testing.assert_close(model(x), expected, rtol=1e-10, atol=1e-10)
    model.unmerge()
    for name, layer in model.gift_layers.items():
        torch.testing.assert_close(layer.base_layer.weight, originals[name], rtol=0, atol=0)


@pytest.mark.parametrize(
    "config_kwargs",
    [
        {},
        {"in_projection_bias": True, "out_projection_bias": True},
        {"gift_parameters": {"block_type": "mlp"}},
        {"enable_gift": {"up": [False, True, True]}},
    ],
    ids=["linear", "linear-biased", "mlp-block", "fused"],
)
def test_merge_equals_unmerged_and_unmerge_restores(config_kwargs):
    model = build(
        GIFTConfig(
            rank=RANK, target_modules=["up", "down"][: 1 if "enable_gift" in config_kwargs else 2], **config_kwargs
        )
    )
    x = torch.randn(2, 4, D_IN, dtype=torch.float64)
    unmerged = model(x)
    originals = {name: layer.base_layer.weight.clone() for name, layer in model.gift_layers.items()}
    model.merge()
    assert all(layer.merged for layer in model.gift_layers.values())
    torch.testing.assert_close(model(x), unmerged, rtol=1e-10, atol=1e-10)
    model.unmerge()
    for name, layer in model.gift_layers.items():
        torch.testing.assert_close(layer.base_layer.weight, originals[name], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(model(x), unmerged, rtol=1e-10, atol=1e-10)


def test_merge_and_unload_returns_plain_backbone():
    model = build(GIFTConfig(rank=RANK, target_modules=["up", "down"]))
    x = torch.randn(2, 4, D_IN, dtype=torch.float64)
    expected = model(x)
    backbone = model.merge_and_unload()
    assert not any(isinstance(m, GIFTLinear) for m in backbone.modules())
    torch.testing.assert_close(backbone(x), expected, rtol=1e-10, atol=1e-10)


def test_generated_b_is_cached_without_grad_and_refreshed_after_an_update():
    model = build(GIFTConfig(rank=RANK, target_modules=["down"], gift_parameters={"act_layer": "gelu"}))
    layer = next(iter(model.gift_layers.values()))
    x = torch.randn(1, 1, D_HIDDEN, dtype=torch.float64)
    calls = []
    generator = layer.generators[0]
    handle = generator.in_proj.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        layer(x)
        layer(x)
    assert len(calls) == 1, "G must be computed once while θ and W are unchanged"
    with torch.no_grad():
        generator.out_proj.weight.add_(0.1)
        generator.in_proj.weight.add_(0.1)
        expected = nn.functional.linear(x, literal_weight(layer), layer.base_layer.bias)
        torch.testing.assert_close(layer(x), expected, rtol=1e-10, atol=1e-10)
    assert len(calls) == 3  # one for `literal_weight`, one recompute after the update
    handle.remove()
