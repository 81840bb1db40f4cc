"""GIFT on real architectures: SmolLM2 (Llama), MiniLM (BERT), timm ViT-B/16, GPT-2 (Conv1D), Llama-3-8B on meta."""

from __future__ import annotations

import pytest
import torch
from toy_models import randomise_theta
from transformers import AutoModelForSequenceClassification, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from gift import (
    GIFTConfig,
    GIFTLinear,
    GIFTWrapperForCausalLM,
    GIFTWrapperForImageClassification,
    GIFTWrapperForSeqClassification,
)


def test_llama3_8b_count_on_meta_device():
    """The paper's Params % for Llama-3-8B, q_proj+v_proj, r=64, without any weights in memory."""
    config = LlamaConfig(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128256,
    )
    with torch.device("meta"):
        backbone = LlamaForCausalLM(config)
    model = GIFTWrapperForCausalLM(GIFTConfig(rank=64, target_modules=["q_proj", "v_proj"]), backbone)
    count = model.num_trainable_parameters()
    assert count.gift == 1_048_576
    assert count.backbone == 8_030_261_248
    assert round(count.gift_percent, 3) == 0.013


def test_smollm2_identity_then_training_moves_only_theta(smollm2):
    model, tokenizer = smollm2
    batch = tokenizer(["GIFT generates weights from weights."], return_tensors="pt")
    with torch.no_grad():
        reference = model(**batch).logits
    wrapped = GIFTWrapperForCausalLM(GIFTConfig(rank=8, target_modules=["q_proj", "v_proj"]), model)
    assert len(wrapped.gift_layers) == 2 * model.config.num_hidden_layers
    count = wrapped.num_trainable_parameters()
    assert count.gift == 2 * (2 * model.config.hidden_size * 8)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(**batch).logits, reference, rtol=0, atol=0)
    frozen = {n: p.clone() for n, p in wrapped.backbone.named_parameters()}
    optimizer = torch.optim.AdamW(wrapped.theta_parameters(), lr=1e-2)
    loss = wrapped(**batch, labels=batch["input_ids"]).loss
    loss.backward()
    optimizer.step()
    assert all(torch.equal(p, frozen[n]) for n, p in wrapped.backbone.named_parameters())
    with torch.no_grad():
        assert not torch.allclose(wrapped(**batch).logits, reference)


def test_smollm2_generate_merged_equals_unmerged(smollm2):
    model, tokenizer = smollm2
    wrapped = GIFTWrapperForCausalLM(GIFTConfig(rank=4, target_modules=["q_proj", "v_proj"]), model).eval()
    randomise_theta(wrapped, std=0.05)
    batch = tokenizer(["The sky is"], return_tensors="pt")
    unmerged = wrapped.generate(**batch, max_new_tokens=6, do_sample=False)
    wrapped.merge()
    merged = wrapped.generate(**batch, max_new_tokens=6, do_sample=False)
    assert torch.equal(unmerged, merged)


def test_smollm2_gradient_checkpointing(smollm2):
    model, tokenizer = smollm2
    # float64: checkpointing makes the first block's input require a gradient, which changes the order of
    # the (exact) products in GIFT's backward; only rounding may differ.
    wrapped = GIFTWrapperForCausalLM(GIFTConfig(rank=4, target_modules=["q_proj", "v_proj"]), model).double()
    batch = tokenizer(["Checkpointing recomputes activations."], return_tensors="pt")
    wrapped.train()
    randomise_theta(wrapped, std=0.05)
    wrapped(**batch, labels=batch["input_ids"]).loss.backward()
    plain = [p.grad.clone() for p in wrapped.theta_parameters()]
    wrapped.zero_grad()
    wrapped.gradient_checkpointing_enable()
    wrapped(**batch, labels=batch["input_ids"]).loss.backward()
    for expected, p in zip(plain, wrapped.theta_parameters()):
        torch.testing.assert_close(p.grad, expected, rtol=1e-9, atol=1e-12)


def test_minilm_bert_query_value(minilm_dir):
    backbone = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=3)
    model = GIFTWrapperForSeqClassification(GIFTConfig(rank=8, target_modules=["query", "value"]), backbone)
    assert model.head_modules == ("classifier",)
    assert len(model.gift_layers) == 2 * backbone.config.num_hidden_layers
    count = model.num_trainable_parameters()
    assert count.gift == 2 * 2 * 384 * 8 and count.head == 384 * 3 + 3
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"gift_generators", "backbone"}
    assert all("classifier" in n for n, p in model.backbone.named_parameters() if p.requires_grad)


def test_timm_vit_attn_proj_and_fused_qkv():
    timm = pytest.importorskip("timm")
    vit = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=10)
    x = torch.randn(1, 3, 224, 224)
    model = GIFTWrapperForImageClassification(GIFTConfig(rank=16, target_modules=["attn:proj"]), vit).eval()
    assert model.head_modules == ("head",)
    assert model.num_trainable_parameters().gift == 24_576  # 2 · 768 · 16, the paper's ViT count
    vit2 = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=10).eval()
    with torch.no_grad():
        expected = vit2(x)
    fused = GIFTWrapperForImageClassification(
        GIFTConfig(rank=4, target_modules=["attn:qkv"], enable_gift={"attn:qkv": [True, False, True]}), vit2
    ).eval()
    assert sorted(fused.gift_generators) == ["attn:qkv:slice0", "attn:qkv:slice2"]
    with torch.no_grad():
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=0)
        randomise_theta(fused, std=0.02)
        unmerged = fused(x)
        fused.merge()
        torch.testing.assert_close(fused(x), unmerged, rtol=1e-4, atol=1e-4)


def test_gpt2_conv1d():
    torch.manual_seed(0)
    backbone = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=100, n_positions=32)).eval()
    model = GIFTWrapperForCausalLM(
        GIFTConfig(
            rank=4, target_modules=["attn:c_attn", "attn:c_proj"], enable_gift={"attn:c_attn": [True, False, True]}
        ),
        backbone,
    ).eval()
    assert all(isinstance(layer, GIFTLinear) for layer in model.gift_layers.values())
    ids = torch.randint(0, 100, (2, 10))
    randomise_theta(model, std=0.1)
    with torch.no_grad():
        unmerged = model(ids).logits
        model.merge()
        torch.testing.assert_close(model(ids).logits, unmerged, rtol=1e-4, atol=1e-4)
        model.unmerge()
        torch.testing.assert_close(model(ids).logits, unmerged, rtol=1e-4, atol=1e-4)
