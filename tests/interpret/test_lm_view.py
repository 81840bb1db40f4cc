"""The language-model view: per-token argmax clusters as coloured HTML, on a tiny Llama and on SmolLM2."""

from __future__ import annotations

import re

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from gift import GIFTConfig, GIFTWrapperForCausalLM
from gift.interpret import cluster_scores, token_cluster_html


class CharTokenizer:
    """Enough of a tokenizer for the view: one token per printable ASCII character, 95 for a newline."""

    def __call__(self, text: str, return_tensors: str = "pt") -> dict[str, torch.Tensor]:
        return {"input_ids": torch.tensor([[95 if c == "\n" else ord(c) - 32 for c in text]])}

    def decode(self, ids: list[int]) -> str:
        return "".join("\n" if i == 95 else chr(i + 32) for i in ids)


@pytest.fixture(scope="module")
def tiny_llama():
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=96,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = GIFTWrapperForCausalLM(
        GIFTConfig(rank=6, target_modules=["q_proj", "v_proj", "o_proj"]), LlamaForCausalLM(config)
    )
    with torch.no_grad():
        for parameter in model.theta_parameters():
            parameter.normal_(std=0.1)
    return model.eval()


def test_tiny_llama_page(tiny_llama):
    text = "a <b> & c\nd"
    page = token_cluster_html(tiny_llama, CharTokenizer(), text, layers=[0, "o_proj"])
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    names = re.findall(r"<h3>(.*?)</h3>", page)
    assert names == [
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
        "model.layers.0.self_attn.o_proj",
        "model.layers.1.self_attn.o_proj",
        "model.layers.2.self_attn.o_proj",
    ]
    section = page.split("<h3>")[1]
    tokens = re.findall(
        r'<span style="background:#[0-9a-f]{6}" title="cluster (\d), score [^"]+">(.*?)</span>', section
    )
    assert "".join(t for _, t in tokens) == "a &lt;b&gt; &amp; c↵<br>d"  # every character, escaped, in order
    scores = cluster_scores(tiny_llama, CharTokenizer()(text), layers=["layers.0.self_attn.q_proj"]).scores
    assert [int(k) for k, _ in tokens] == scores["model.layers.0.self_attn.q_proj"][0].argmax(-1).tolist()


def test_post_residual_on_o_proj_and_its_limits(tiny_llama):
    inputs = CharTokenizer()("hello")
    post = cluster_scores(tiny_llama, inputs, layers=["o_proj"], stage="post").scores
    assert all(s.shape == (1, 5, 6) for s in post.values())
    with pytest.raises(ValueError, match="stage='post'"):  # v_proj is 16 wide (2 KV heads), the residual 32
        cluster_scores(tiny_llama, inputs, layers=["v_proj"], stage="post")


@pytest.mark.slow
def test_smollm2_page(smollm2):
    model, tokenizer = smollm2
    wrapped = GIFTWrapperForCausalLM(GIFTConfig(rank=8, target_modules=["q_proj", "v_proj"]), model).eval()
    page = token_cluster_html(wrapped, tokenizer, "The cat sat on the mat.", layers=[-1], stage="pre")
    assert page.count("<h3>") == 2 and page.count("<span style") >= 2 * 7 + 8
