"""GIFT inside HF Trainer: plain Trainer trains it; GIFTTrainer checkpoints θ only and resumes exactly."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

from gift import GIFTConfig, GIFTWrapperForCausalLM
from gift.trainer import GIFTTrainer


def tiny_llama_with_gift() -> GIFTWrapperForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=50,
        tie_word_embeddings=True,
    )
    return GIFTWrapperForCausalLM(GIFTConfig(rank=4, target_modules=["q_proj", "v_proj"]), LlamaForCausalLM(config))


def dataset() -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    # an extra column the model does not take: Trainer must drop it by the wrapper's forward signature
    return [
        {"input_ids": ids, "labels": ids, "source": torch.tensor(0)}
        for ids in torch.randint(0, 50, (16, 8), generator=generator)
    ]


def arguments(output_dir, **kwargs) -> TrainingArguments:
    return TrainingArguments(
        str(output_dir),
        per_device_train_batch_size=4,
        max_steps=6,
        learning_rate=1e-2,
        report_to=[],
        use_cpu=True,
        seed=0,
        data_seed=0,
        activation_checkpointing=True,
        **kwargs,
    )


def test_plain_trainer_trains_theta_only(tmp_path):
    model = tiny_llama_with_gift()
    frozen = {n: p.clone() for n, p in model.backbone.named_parameters()}
    before = [p.clone() for p in model.theta_parameters()]
    Trainer(model=model, args=arguments(tmp_path, save_strategy="no"), train_dataset=dataset()).train()
    assert all(torch.equal(p, frozen[n]) for n, p in model.backbone.named_parameters())
    assert not all(torch.equal(a, b) for a, b in zip(before, model.theta_parameters()))


def test_gift_trainer_checkpoints_adapter_and_resumes_exactly(tmp_path):
    full = tiny_llama_with_gift()
    GIFTTrainer(model=full, args=arguments(tmp_path / "full", save_strategy="no"), train_dataset=dataset()).train()

    interrupted = tiny_llama_with_gift()
    args = arguments(tmp_path / "resumed", save_strategy="steps", save_steps=3)
    GIFTTrainer(model=interrupted, args=args, train_dataset=dataset()).train()
    checkpoint = tmp_path / "resumed" / "checkpoint-3"
    assert (checkpoint / "gift_model.safetensors").is_file() and not (checkpoint / "model.safetensors").exists()

    resumed = tiny_llama_with_gift()  # fresh θ: everything must come from the checkpoint
    GIFTTrainer(model=resumed, args=args, train_dataset=dataset()).train(resume_from_checkpoint=str(checkpoint))
    for expected, actual in zip(full.theta_parameters(), resumed.theta_parameters()):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)
