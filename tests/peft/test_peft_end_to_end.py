"""End to end: HF Trainer trains a GIFT PeftModel and checkpoints a PEFT adapter; a new Python process
loads saved adapters with PeftModel.from_pretrained and reproduces the logits."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from peft import PeftModel
from peft_helpers import CASES, drop_gguf_marker, gift_layers, logits, peft_model, train_something
from safetensors.torch import load_file
from transformers import Trainer, TrainingArguments

from gift.peft import adapter_generators


def examples(spec, batch, count: int = 2) -> list[dict[str, torch.Tensor]]:
    rows = []
    for i in range(count):
        row = {key: value[i % len(value)] for key, value in batch.items()}
        if spec.task_type == "CAUSAL_LM":
            row["labels"] = row["input_ids"].masked_fill(row["attention_mask"] == 0, -100)  # no loss on padding
        else:
            row["labels"] = torch.tensor(i % 2)
        rows.append(row)
    return rows


def test_hf_trainer_trains_theta_only_and_checkpoints_a_peft_adapter(case, tmp_path):
    spec, model, batch = case
    model = peft_model(spec, drop_gguf_marker(model))
    theta_before = [p.detach().clone() for p in adapter_generators(model, "default").parameters()]
    base_before = {name: layer.base_layer.weight.detach().clone() for name, layer in gift_layers(model).items()}
    args = TrainingArguments(
        str(tmp_path),
        per_device_train_batch_size=2,  # one step on two examples
        max_steps=1,
        learning_rate=1e-2,
        save_strategy="steps",
        save_steps=1,
        save_only_model=True,
        report_to=[],
        use_cpu=True,
        seed=0,
        activation_checkpointing=spec.task_type == "CAUSAL_LM",  # θ is used by every layer: must still work
    )
    Trainer(model=model, args=args, train_dataset=examples(spec, batch)).train()

    theta_after = list(adapter_generators(model, "default").parameters())
    assert all(torch.isfinite(p).all() for p in theta_after)
    assert not all(torch.equal(a, b) for a, b in zip(theta_before, theta_after))
    assert all(torch.equal(layer.base_layer.weight, base_before[n]) for n, layer in gift_layers(model).items())

    checkpoint = tmp_path / "checkpoint-1"
    assert (checkpoint / "adapter_config.json").is_file() and not (checkpoint / "model.safetensors").exists()
    assert any("gift_generators" in key for key in load_file(checkpoint / "adapter_model.safetensors"))
    expected = logits(model.eval(), batch)
    reloaded = PeftModel.from_pretrained(model.unload(), checkpoint)  # unload(): the untouched backbone
    torch.testing.assert_close(logits(reloaded, batch), expected, rtol=0, atol=0)


CHILD = textwrap.dedent(
    """
    import sys
    import torch
    import gift
    assert "peft" not in sys.modules, "import gift must not import peft"
    import gift.peft  # registers "GIFT" with peft: needed before PeftModel.from_pretrained
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    from gift_experiment_utils.offline_models import minilm_dir

    out, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)  # the parent's: CPU reductions, hence the last bits, depend on it
    inputs = torch.load(f"{out}/inputs.pt")
    backbones = {
        "smollm2": lambda: AutoModelForCausalLM.from_pretrained(f"{out}/smollm2-backbone"),
        "minilm": lambda: AutoModelForSequenceClassification.from_pretrained(minilm_dir(), num_labels=2),
    }
    for name, load in backbones.items():
        model = PeftModel.from_pretrained(load(), f"{out}/{name}-adapter").eval()
        with torch.no_grad():
            torch.save(model(**inputs[name]).logits, f"{out}/{name}-logits.pt")
    """
)


@pytest.mark.slow
def test_from_pretrained_in_a_fresh_process(smollm2, minilm, lm_batch, cls_batch, tmp_path):
    # the child loads SmolLM2 from safetensors written here: seconds, instead of de-quantising the GGUF again
    drop_gguf_marker(smollm2[0]).save_pretrained(tmp_path / "smollm2-backbone")
    expected, inputs = {}, {"smollm2": lm_batch, "minilm": cls_batch}
    for name, (model, _) in {"smollm2": smollm2, "minilm": minilm}.items():
        spec = CASES[name]
        model = peft_model(spec, model)
        train_something(model, spec)
        model.save_pretrained(tmp_path / f"{name}-adapter")
        expected[name] = logits(model.eval(), inputs[name])
    torch.save(inputs, tmp_path / "inputs.pt")

    command = [sys.executable, "-c", CHILD, str(tmp_path), str(torch.get_num_threads())]
    child = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    for name in expected:
        torch.testing.assert_close(torch.load(tmp_path / f"{name}-logits.pt"), expected[name], rtol=0, atol=0)
