"""The single-node training product `GIFTProduct`: exact gradients, when it runs, and what it costs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from toy_models import literal_weight, randomise_theta
from transformers.pytorch_utils import Conv1D

from gift import GIFTConfig, GIFTLinear, GIFTWrapper
from gift.product import GIFTProduct, form_costs

FORMS = ["input_side", "generated_b"]


def single_layer(d_in: int = 12, d_out: int = 6, *, layer_cls=nn.Linear, bias: bool = True, **config) -> GIFTLinear:
    torch.manual_seed(0)
    base = Conv1D(d_out, d_in) if layer_cls is Conv1D else nn.Linear(d_in, d_out, bias=bias)
    if layer_cls is Conv1D:
        nn.init.normal_(base.weight, std=0.3)
    model = GIFTWrapper(GIFTConfig(rank=3, target_modules=["0"], **config), nn.Sequential(base)).double()
    randomise_theta(model)
    return next(iter(model.gift_layers.values()))


def literal(layer: GIFTLinear, x: torch.Tensor) -> torch.Tensor:
    return nn.functional.linear(x, literal_weight(layer), layer.base_layer.bias)


def gradients(output: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor | None]:
    return list(torch.autograd.grad(output.square().sum(), inputs, allow_unused=True))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("layer_cls", [nn.Linear, Conv1D])
@pytest.mark.parametrize("input_grad", [True, False])
@pytest.mark.parametrize("train_bias", [True, False])
def test_product_node_matches_literal_formula(form, layer_cls, input_grad, train_bias):
    layer = single_layer(layer_cls=layer_cls)
    layer.base_layer.bias.requires_grad_(train_bias)
    x = torch.randn(2, 5, 12, dtype=torch.float64, requires_grad=input_grad)
    out = layer(x, form=form)
    assert type(out.grad_fn).__name__ == "GIFTProductBackward"
    inputs = [t for t in (x, layer.base_layer.bias, *layer.generators[0].parameters()) if t.requires_grad]
    for got, want in zip(gradients(out, inputs), gradients(literal(layer, x), inputs), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(out, literal(layer, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("input_side", [True, False])
@pytest.mark.parametrize(("d_in", "d_out", "tokens"), [(6, 4, 3), (8, 2, 40)])  # 2nd: dφ through (dyᵀ c)ᵀ W
def test_gradcheck(input_side, d_in, d_out, tokens):
    torch.manual_seed(0)
    weight, bias = torch.randn(d_out, d_in, dtype=torch.float64), torch.randn(d_out, dtype=torch.float64)
    x, phi_t, psi_t = (torch.randn(*shape, dtype=torch.float64) for shape in ((tokens, d_in), (2, d_in), (d_in, 2)))
    for t in (x, bias, phi_t, psi_t):
        t.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda *a: GIFTProduct.apply(a[0], weight, *a[1:], input_side), (x, bias, phi_t, psi_t)
    )


def test_frozen_theta_gets_no_gradient_and_the_input_still_does():
    layer = single_layer()
    layer.generators[0].requires_grad_(False)
    x = torch.randn(4, 12, dtype=torch.float64, requires_grad=True)
    (got,) = gradients(layer(x), [x])
    (want,) = gradients(literal(layer, x), [x])
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def hooked(layer: GIFTLinear) -> GIFTLinear:
    layer.base_layer.register_forward_hook(lambda module, inputs, output: output * 2)
    return layer


def patched_forward(layer: GIFTLinear) -> GIFTLinear:
    base = layer.base_layer
    original = base.forward
    base.forward = lambda x: original(x) * 2  # what accelerate's hooks do to a module
    return layer


@pytest.mark.parametrize("modify", [hooked, patched_forward], ids=["forward-hook", "patched-forward"])
def test_base_layers_with_hooks_run_through_their_own_forward(modify):
    layer = modify(single_layer())
    x = torch.randn(4, 12, dtype=torch.float64, requires_grad=True)
    out = layer(x, form="input_side")
    assert type(out.grad_fn).__name__ != "GIFTProductBackward"
    torch.testing.assert_close(out, 2 * literal(layer, x), rtol=1e-10, atol=1e-10)


def test_trainable_base_weight_falls_back_to_autograd_with_the_same_math():
    layer = single_layer()
    layer.base_layer.weight.requires_grad_(True)
    x = torch.randn(4, 12, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    assert type(out.grad_fn).__name__ != "GIFTProductBackward"
    inputs = [x, *(p for p in layer.parameters() if p.requires_grad)]
    for got, want in zip(gradients(out, inputs), gradients(literal(layer, x), inputs), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_mixed_dtypes_fall_back_to_autograd():
    layer = single_layer()
    x = torch.randn(4, 12, dtype=torch.float64, requires_grad=True)
    want = gradients(literal(layer, x), [x])[0]
    layer.generators[0].float()  # fp32 θ on a float64 layer: θ's products stay in θ's dtype
    out = layer(x)
    assert type(out.grad_fn).__name__ != "GIFTProductBackward"
    torch.testing.assert_close(gradients(out, [x])[0], want, rtol=1e-5, atol=1e-5)


def test_generator_biases_fall_back_to_autograd():
    layer = single_layer(in_projection_bias=True, out_projection_bias=True)
    x = torch.randn(4, 12, dtype=torch.float64, requires_grad=True)
    assert type(layer(x).grad_fn).__name__ != "GIFTProductBackward"


def test_autocast_runs_the_product_node_in_the_autocast_dtype():
    layer = single_layer()
    x = torch.randn(2, 40, 12, dtype=torch.float64)
    expected = literal(layer, x)
    layer.float(), layer.generators[0].float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x.float())
    assert out.dtype == torch.bfloat16 and type(out.grad_fn).__name__ == "GIFTProductBackward"
    out.float().square().sum().backward()
    assert all(p.grad.dtype == torch.float32 for p in layer.generators[0].parameters())
    torch.testing.assert_close(out.double(), expected, rtol=0.05, atol=0.05)


def test_form_argument_is_checked():
    layer = single_layer()
    with pytest.raises(ValueError, match="form='input-side' is not a GIFT form"):
        layer(torch.randn(2, 12, dtype=torch.float64), form="input-side")
    sliced = GIFTWrapper(
        GIFTConfig(rank=2, target_modules=["0"], enable_gift={"0": [True, False]}), nn.Sequential(nn.Linear(4, 6))
    )
    with pytest.raises(ValueError, match="only has the generated-B form"):
        next(iter(sliced.gift_layers.values()))(torch.randn(2, 4), form="input_side")


class MultiplyAdds(TorchDispatchMode):
    """Counts the multiply-adds of every matrix product below autograd, in-place ones included."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in ("mm", "addmm", "addmm_"):
            left, right = args[-2:]
            self.total += left.shape[0] * left.shape[1] * right.shape[1]
        elif name in ("bmm", "baddbmm", "matmul", "dot", "mv", "addmv"):
            raise AssertionError(f"uncounted product {name}")
        return func(*args, **(kwargs or {}))


def step_macs(module: nn.Module, x: torch.Tensor, **kwargs) -> int:
    with MultiplyAdds() as counter:
        module(x, **kwargs).sum().backward()
    return counter.total


@pytest.mark.parametrize("single_node", [True, False])
@pytest.mark.parametrize("input_grad", [True, False])
@pytest.mark.parametrize(("d_in", "d_out", "tokens"), [(12, 18, 7), (64, 4, 100), (16, 16, 1)])
def test_form_costs_count_the_products_that_run(single_node, input_grad, d_in, d_out, tokens):
    layer = single_layer(d_in, d_out, bias=False)
    layer.single_node = single_node
    x = torch.randn(tokens, d_in, dtype=torch.float64, requires_grad=input_grad)
    floor = step_macs(layer.base_layer, x) if input_grad else tokens * d_in * d_out
    measured = [step_macs(layer, x, form=form) - floor for form in FORMS]
    rank = layer.generators[0].rank
    costs = form_costs(tokens, d_in, d_out, rank, backward=True, single_node=single_node, input_grad=input_grad)
    assert measured == list(costs)
    with torch.no_grad(), MultiplyAdds() as counter:
        layer(x, form="generated_b")
    assert counter.total - tokens * d_in * d_out == form_costs(tokens, d_in, d_out, rank, backward=False)[1]


@pytest.mark.parametrize("tokens", [1, 682, 683, 4096])
def test_training_takes_the_cheaper_form(tokens):
    # Llama-3-8B v_proj, r = 64: input-side up to 682 tokens, generated-B from 683 on (single node, input grad).
    backbone = nn.Sequential(nn.Linear(4096, 1024, bias=False, device="meta"))
    layer = next(iter(GIFTWrapper(GIFTConfig(rank=64, target_modules=["0"]), backbone).gift_layers.values()))
    x = torch.empty(tokens, 4096, device="meta", requires_grad=True)
    assert layer._input_side_is_cheaper(x, single_node=True) == (tokens <= 682)


def test_output_does_not_depend_on_what_needs_a_gradient():
    # 2 tokens, 64 → 8: input-side when the input needs a gradient, generated-B would be cheaper without.
    layer = single_layer(64, 8)
    x = torch.randn(2, 64, dtype=torch.float64)
    trained = layer(x.clone().requires_grad_())
    layer.generators[0].requires_grad_(False)
    assert torch.equal(layer(x), trained)
