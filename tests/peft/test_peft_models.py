"""GIFT through PEFT on the real SmolLM2-135M (causal LM) and all-MiniLM-L6-v2 (sequence classifier).

One case table, every item of the PEFT surface: get_peft_model, what trains, θ shared across depth,
parity with the core wrapper, disable_adapter, merge / unmerge / merge_and_unload, save_pretrained +
PeftModel.from_pretrained, several named adapters, mismatched checkpoints.
"""

from __future__ import annotations

import copy
import json

import pytest
import torch
from peft import PeftModel
from peft_helpers import CASES, gift_layers, head_copy, logits, peft_model, train_something
from safetensors.torch import load_file, save_file
from torch import nn

from gift import GIFTConfig
from gift.peft import GIFTPeftConfig, adapter_generators


# ---------------------------------------------------------------------------------------------- invariants
def test_identity_at_init_and_only_theta_trains(case):
    spec, model, batch = case
    expected = logits(model, batch)
    model = peft_model(spec, model)
    torch.testing.assert_close(logits(model, batch), expected, rtol=0, atol=0)
    assert model.peft_config["default"].target_modules == list(spec.targets)  # the model type's default

    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    theta = {f"base_model.gift_generators.default.{t}.{p}_proj.weight" for t in spec.targets for p in ("in", "out")}
    head = (
        {f"base_model.model.{spec.head}.modules_to_save.default.{p}" for p in ("weight", "bias")}
        if spec.head
        else set()
    )
    assert trainable == theta | head
    model(**batch).logits.float().pow(2).mean().backward()
    grads = {n: p.grad for n, p in model.named_parameters() if n in theta}
    assert all(g is not None for g in grads.values())
    assert all(g.abs().sum() > 0 for n, g in grads.items() if "out_proj" in n)  # ψ = 0 at init, so ∂L/∂φ = 0


def test_theta_is_shared_across_depth_and_counted_once(case):
    spec, model, _ = case
    d_in = {t: next(m for n, m in model.named_modules() if n.endswith(t)).in_features for t in spec.targets}
    model = peft_model(spec, model)

    generators = adapter_generators(model, "default")
    layers = gift_layers(model)
    for target in spec.targets:
        members = [layer for name, layer in layers.items() if name.endswith(target)]
        assert len(members) == model.config.num_hidden_layers
        assert all(layer.gift_linears["default"].generators == [generators[target]] for layer in members)
    theta_keys = [k for k in model.state_dict() if "_proj.weight" in k and "gift" in k]
    assert len(theta_keys) == 2 * len(spec.targets)  # registered once, on the tuner
    assert sum(p.numel() for p in generators.parameters()) == sum(2 * d_in[t] * spec.rank for t in spec.targets)


def test_outputs_equal_the_core_wrapper_given_the_same_theta(case):
    spec, model, batch = case
    torch.manual_seed(0)
    core = spec.core_cls(GIFTConfig(rank=spec.rank, target_modules=list(spec.targets)), copy.deepcopy(model)).eval()
    core_init = {k: v.clone() for k, v in core.gift_generators.state_dict().items()}
    model = peft_model(spec, model, seed=0)
    generators = adapter_generators(model, "default")
    assert generators.state_dict().keys() == core_init.keys()
    assert all(torch.equal(v, core_init[k]) for k, v in generators.state_dict().items())  # same seed, same θ
    assert sum(p.numel() for p in generators.parameters()) == core.num_trainable_parameters().gift

    train_something(model, spec)
    core.gift_generators.load_state_dict(generators.state_dict())
    if spec.head:
        core.backbone.get_submodule(spec.head).load_state_dict(head_copy(model, spec).state_dict())
    torch.testing.assert_close(logits(model.eval(), batch), logits(core, batch), rtol=0, atol=0)


def test_disable_adapter_gives_the_backbone(case):
    spec, model, batch = case
    base = logits(model, batch)
    model = peft_model(spec, model)
    train_something(model, spec)
    adapted = logits(model, batch)
    assert not torch.allclose(adapted, base)
    with model.disable_adapter():
        torch.testing.assert_close(logits(model, batch), base, rtol=0, atol=0)
    torch.testing.assert_close(logits(model, batch), adapted, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------- merging
def test_merge_unmerge_and_merge_and_unload(case):
    spec, model, batch = case
    model = peft_model(spec, model)
    train_something(model, spec)
    adapted = logits(model, batch)
    layers = gift_layers(model)
    originals = {name: layer.base_layer.weight.detach().clone() for name, layer in layers.items()}

    model.add_adapter("other", GIFTPeftConfig(rank=2, target_modules=list(spec.targets), task_type=spec.task_type))
    model.merge_adapter(safe_merge=True)
    assert all(layer.merged_adapters == ["default"] for layer in layers.values())
    assert not any(torch.equal(layer.base_layer.weight, originals[name]) for name, layer in layers.items())
    torch.testing.assert_close(logits(model, batch), adapted, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="one adapter at a time"):
        model.merge_adapter(["other"])

    model.unmerge_adapter()
    for name, layer in layers.items():
        torch.testing.assert_close(layer.base_layer.weight, originals[name], rtol=1e-5, atol=1e-6)

    plain = model.merge_and_unload()
    first_target = next(iter(layers)).removeprefix("base_model.model.")
    assert not gift_layers(plain) and type(plain.get_submodule(first_target)) is nn.Linear
    assert "PeftModel" not in type(plain).__name__
    torch.testing.assert_close(logits(plain, batch), adapted, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------- save / load
def test_save_pretrained_and_from_pretrained(case, tmp_path):
    spec, model, batch = case
    fresh = copy.deepcopy(model)
    model = peft_model(spec, model)
    train_something(model, spec)
    expected = logits(model.eval(), batch)
    model.save_pretrained(tmp_path)

    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert (
        config["peft_type"] == "GIFT" and config["rank"] == spec.rank and config["target_modules"] == list(spec.targets)
    )
    saved = load_file(tmp_path / "adapter_model.safetensors")
    theta = {f"base_model.gift_generators.{t}.{p}_proj.weight" for t in spec.targets for p in ("in", "out")}
    head = {f"base_model.model.{spec.head}.{p}" for p in ("weight", "bias")} if spec.head else set()
    assert set(saved) == theta | head and not (tmp_path / "adapter_model.bin").exists()

    loaded = PeftModel.from_pretrained(fresh, tmp_path)
    torch.testing.assert_close(logits(loaded, batch), expected, rtol=0, atol=0)
    assert not any(p.requires_grad for p in loaded.parameters())  # is_trainable=False: inference only


def test_from_pretrained_is_trainable(minilm, cls_batch, tmp_path):
    model, _ = minilm
    spec = CASES["minilm"]
    fresh = copy.deepcopy(model)
    peft_model(spec, model).save_pretrained(tmp_path)
    loaded = PeftModel.from_pretrained(fresh, tmp_path, is_trainable=True)
    assert all(p.requires_grad for p in adapter_generators(loaded, "default").parameters())


def test_mismatched_checkpoint_is_refused(minilm, tmp_path):
    model, _ = minilm
    spec = CASES["minilm"]
    peft_model(spec, copy.deepcopy(model)).save_pretrained(tmp_path)
    config_path, weights_path = tmp_path / "adapter_config.json", tmp_path / "adapter_model.safetensors"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "rank": spec.rank * 2}))
    with pytest.raises(ValueError, match=r"has shape \(4, 384\); adapter 'default' expects \(8, 384\)"):
        PeftModel.from_pretrained(copy.deepcopy(model), tmp_path)

    config_path.write_text(json.dumps(config))
    weights = load_file(weights_path)
    del weights["base_model.gift_generators.value.out_proj.weight"]
    save_file(weights, weights_path)
    with pytest.raises(ValueError, match=r"missing keys \['base_model.gift_generators.value.out_proj.weight'\]"):
        PeftModel.from_pretrained(copy.deepcopy(model), tmp_path)


# ---------------------------------------------------------------------------------------------- named adapters
def test_several_named_adapters(case, tmp_path):
    spec, model, batch = case
    fresh = copy.deepcopy(model)
    model = peft_model(spec, model)
    train_something(model, spec, seed=1)
    first = logits(model, batch)

    # a second adapter of another shape: only its first target, a smaller rank, its own head copy
    model.add_adapter("second", GIFTPeftConfig(rank=2, target_modules=list(spec.targets[:1]), task_type=spec.task_type))
    second_theta = list(adapter_generators(model, "second").parameters())
    assert not any(p.requires_grad for p in second_theta)  # added, not active: frozen
    torch.testing.assert_close(logits(model, batch), first, rtol=0, atol=0)  # still the active one
    train_something(model, spec, adapter="second", seed=2)

    model.set_adapter("second")
    assert all(p.requires_grad for p in second_theta)
    assert not any(p.requires_grad for p in adapter_generators(model, "default").parameters())
    second = logits(model, batch)
    assert not torch.allclose(second, first)
    with pytest.raises(ValueError, match="one adapter at a time"):
        model.base_model.set_adapter(["default", "second"])

    model.save_pretrained(tmp_path)  # default in the folder, second in its subfolder
    assert (tmp_path / "second" / "adapter_model.safetensors").is_file()
    loaded = PeftModel.from_pretrained(fresh, tmp_path)
    loaded.load_adapter(tmp_path / "second", adapter_name="second")
    torch.testing.assert_close(logits(loaded, batch), first, rtol=0, atol=0)
    loaded.set_adapter("second")
    torch.testing.assert_close(logits(loaded, batch), second, rtol=0, atol=0)

    model.set_adapter("default")
    model.delete_adapter("second")
    assert list(model.base_model.gift_generators) == ["default"] and list(model.peft_config) == ["default"]
    assert all(list(layer.gift_linears) == ["default"] for layer in gift_layers(model).values())
