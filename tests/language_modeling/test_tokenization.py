"""Label masks are −100 on exactly the prompt tokens of the tokenised full sequence; left padding is exact."""

from __future__ import annotations

import pytest
import torch

from gift_experiment_utils.domains.language_modeling.arithmetic import ArithmeticConfig, make_splits
from gift_experiment_utils.domains.language_modeling.prompts import PROMPTS, TARGETS, Record
from gift_experiment_utils.domains.language_modeling.tokenization import (
    IGNORE_INDEX,
    causal_lm_loss,
    collate_prompts,
    collate_train,
    encode_example,
    encode_prompt,
    pad_id,
)

RECORDS = {
    "commonsense": Record(
        instruction="Please answer the following question with true or false, question: is it "
        "cold?\n\nAnswer format: true/false",
        answer="true",
    ),
    "alpaca": Record(instruction="Translate to French.", input="Good morning.", output="Bonjour."),
    "gsm8k": make_splits(ArithmeticConfig(num_train=1, num_test=1))[0][0],
}
TARGET_OF = {"commonsense": "trigger_answer", "alpaca": "output", "gsm8k": "gsm8k"}


def pairs(tokenizer) -> list[tuple[str, str]]:
    out = [(PROMPTS[name](record), TARGETS[TARGET_OF[name]](record)) for name, record in RECORDS.items()]
    if getattr(tokenizer, "chat_template", None):
        chat = tokenizer.apply_chat_template(
            [{"role": "user", "content": out[-1][0]}], tokenize=False, add_generation_prompt=True
        )
        out.append((chat, out[-1][1]))
    return out


@pytest.fixture(params=["smollm2", "gpt2_style_bpe"])
def tokenizer(request, smollm2_tokenizer, bpe_tokenizer):
    return smollm2_tokenizer if request.param == "smollm2" else bpe_tokenizer


def test_prompt_tokens_are_masked_exactly(tokenizer) -> None:
    for prompt, target in pairs(tokenizer):
        encoded = encode_example(tokenizer, prompt, target, max_length=1024)
        k = encoded.num_prompt_tokens
        ids, labels = encoded.input_ids, encoded.labels
        assert labels[:k] == [IGNORE_INDEX] * k
        assert labels[k:] == ids[k:]  # every other token, EOS included, is a label
        assert ids[-1] == tokenizer.eos_token_id
        # The templates end in "\n", so no token crosses the boundary: the masked tokens are the prompt.
        assert tokenizer.decode(ids[:k]) == prompt
        assert tokenizer.decode(ids[k:-1]) == target
        # and the ids are those of the full text, not of a separately tokenised prompt
        assert ids[:-1] == tokenizer(prompt + target)["input_ids"]


def test_train_on_inputs_labels_the_prompt_too(tokenizer) -> None:
    """LLM-Adapters' baselines train with the loss on prompt and answer; the ids are the same either way."""
    for prompt, target in pairs(tokenizer):
        masked = encode_example(tokenizer, prompt, target, max_length=1024)
        full = encode_example(tokenizer, prompt, target, max_length=1024, train_on_inputs=True)
        assert full.input_ids == masked.input_ids and full.labels == full.input_ids
        cut = encode_example(tokenizer, prompt, target, max_length=5, train_on_inputs=True)
        assert cut.labels == cut.input_ids == masked.input_ids[:5]


def test_merge_across_the_boundary_is_a_label(bpe_tokenizer) -> None:
    """'answer is ' + 'true': byte-level BPE merges ' true'; that token holds target characters, so it is a label."""
    prompt, target = "the correct answer is ", "true"
    full = bpe_tokenizer(prompt + target)["input_ids"]
    separate = bpe_tokenizer(prompt)["input_ids"]
    assert full[: len(separate)] != separate  # the original recipe would mask the wrong number of tokens
    encoded = encode_example(bpe_tokenizer, prompt, target, max_length=64)
    k = encoded.num_prompt_tokens
    assert bpe_tokenizer.decode(encoded.input_ids[:k]) == "the correct answer is"
    assert bpe_tokenizer.decode(encoded.input_ids[k:-1]) == " true"


def test_eos_stays_a_label_when_the_tokenizer_pads_with_eos(smollm2_tokenizer) -> None:
    assert smollm2_tokenizer.pad_token_id == smollm2_tokenizer.eos_token_id  # SmolLM2 (like Llama-3 set-ups)
    a = encode_example(smollm2_tokenizer, "Q: 1+1?\n", "2", max_length=64)
    b = encode_example(smollm2_tokenizer, "Q: what is one plus one, in words?\n", "two", max_length=64)
    batch = collate_train([a, b], pad_id(smollm2_tokenizer))
    eos = smollm2_tokenizer.eos_token_id
    # the last position of each row is its EOS, a label; padding (also the EOS id) is masked by attention only
    assert batch["labels"][:, -1].tolist() == [eos, eos]
    padded = batch["attention_mask"] == 0
    assert padded[0].any() and (batch["labels"][padded] == IGNORE_INDEX).all()
    assert batch["position_ids"][0, padded[0].sum()].item() == 0  # positions restart at each real sequence


def test_truncation_and_tokenizer_without_pad(bpe_tokenizer) -> None:
    assert bpe_tokenizer.pad_token_id is None and pad_id(bpe_tokenizer) == bpe_tokenizer.eos_token_id
    encoded = encode_example(bpe_tokenizer, "Question?\n", "a long answer " * 20, max_length=12)
    assert len(encoded.input_ids) == len(encoded.labels) == 12
    assert encode_prompt(bpe_tokenizer, "Question?\n") == bpe_tokenizer("Question?\n")["input_ids"]


def _model(kind: str, vocab: int):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    if kind == "llama":  # rotary positions
        return LlamaForCausalLM(
            LlamaConfig(
                vocab_size=vocab,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
            )
        ).eval()
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4)).eval()  # absolute positions


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_left_padded_loss_equals_per_example_loss(kind: str, bpe_tokenizer) -> None:
    model = _model(kind, len(bpe_tokenizer))
    examples = [
        encode_example(bpe_tokenizer, PROMPTS["gsm8k"](r), TARGETS["gsm8k"](r), max_length=256)
        for r in make_splits(ArithmeticConfig(num_train=3, num_test=1))[0]
    ]
    batch = collate_train(examples, pad_id(bpe_tokenizer))
    with torch.no_grad():
        loss = causal_lm_loss(model, batch)
        total, count = 0.0, 0
        for e in examples:
            n = sum(label != IGNORE_INDEX for label in e.labels)
            out = model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels]))
            total, count = total + out.loss.item() * n, count + n
    assert loss.item() == pytest.approx(total / count, rel=1e-5)


def test_left_padded_generation_equals_unpadded(bpe_tokenizer) -> None:
    from gift_experiment_utils.domains.language_modeling.generation import generate, generation_config

    model = _model("llama", len(bpe_tokenizer))
    prompts = [
        encode_prompt(bpe_tokenizer, p)
        for p in ("Tom has 3 apples.\n", "How many?\n", "A farm has 7 cows and 2 more sheep.\n")
    ]
    config = generation_config("greedy", max_new_tokens=6, pad_token_id=pad_id(bpe_tokenizer), eos_token_ids=[])
    batched = generate(model, collate_prompts(prompts, pad_id(bpe_tokenizer)), config)
    for row, prompt in zip(batched, prompts):
        alone = generate(model, collate_prompts([prompt], pad_id(bpe_tokenizer)), config)
        assert row.tolist() == alone[0].tolist()


def test_llama_style_bos_is_a_prompt_token_and_not_doubled(bpe_tokenizer) -> None:
    """A tokenizer that prepends BOS (LLaMA): BOS is masked, and a chat text that already starts with it loses it."""
    import copy

    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    from gift_experiment_utils.domains.language_modeling.task import adds_bos

    backend = copy.deepcopy(bpe_tokenizer.backend_tokenizer)
    bos_id = backend.token_to_id("<|endoftext|>")
    backend.post_processor = TemplateProcessing(single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos_id)])
    llama_like = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    assert adds_bos(llama_like) and not adds_bos(bpe_tokenizer)
    encoded = encode_example(llama_like, "Q?\n", "A.", max_length=32)
    assert encoded.input_ids[0] == bos_id and encoded.labels[0] == IGNORE_INDEX
    assert llama_like.decode(encoded.input_ids[1 : encoded.num_prompt_tokens]) == "Q?\n"
