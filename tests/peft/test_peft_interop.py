"""Saving in one API and loading in the other, on the real models: PEFT adapter ↔ core GIFTWrapper folder."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import PeftModel
from peft_helpers import CASES, logits, peft_model, randomise, train_something

from gift import GIFTConfig, GIFTWrapperForSeqClassification
from gift.peft import adapter_generators, load_core_adapter, save_core_adapter


def test_core_folder_to_peft_and_peft_adapter_to_core_folder(case, tmp_path):
    spec, model, batch = case
    core = spec.core_cls(GIFTConfig(rank=spec.rank, target_modules=list(spec.targets)), copy.deepcopy(model)).eval()
    randomise(core.theta_parameters(), seed=3)
    randomise(core.head_parameters(), std=0.5, seed=3)
    expected = logits(core, batch)
    core.save_pretrained(tmp_path / "core")
    fresh = copy.deepcopy(model)

    loaded = load_core_adapter(model, tmp_path / "core", task_type=spec.task_type)  # core → PEFT
    modules_to_save = loaded.peft_config["default"].modules_to_save
    assert isinstance(loaded, PeftModel)
    assert set(modules_to_save or ()) == ({spec.head, "score"} if spec.head else set())  # + PEFT's SEQ_CLS names
    assert not any(p.requires_grad for p in loaded.parameters())
    torch.testing.assert_close(logits(loaded, batch), expected, rtol=0, atol=0)

    save_core_adapter(loaded, tmp_path / "back")  # PEFT → core
    reloaded = spec.core_cls.from_pretrained(fresh, tmp_path / "back").eval()
    torch.testing.assert_close(logits(reloaded, batch), expected, rtol=0, atol=0)
    assert reloaded.head_modules == ((spec.head,) if spec.head else ())


def test_core_folder_as_a_second_named_adapter(minilm, cls_batch, tmp_path):
    model, _ = minilm
    spec = CASES["minilm"]
    core = GIFTWrapperForSeqClassification(GIFTConfig(rank=2, target_modules=["value"]), copy.deepcopy(model)).eval()
    randomise(core.theta_parameters(), seed=4)
    randomise(core.head_parameters(), std=0.5, seed=4)
    core.save_pretrained(tmp_path)

    model = peft_model(spec, model)
    train_something(model, spec)
    first = logits(model.eval(), cls_batch)
    load_core_adapter(model, tmp_path, adapter_name="from_core", task_type="SEQ_CLS")
    torch.testing.assert_close(logits(model, cls_batch), first, rtol=0, atol=0)  # added, not active
    model.set_adapter("from_core")
    torch.testing.assert_close(logits(model, cls_batch), logits(core, cls_batch), rtol=0, atol=0)
    assert sorted(adapter_generators(model, "from_core").state_dict()) == sorted(core.gift_generators.state_dict())


def test_each_api_refuses_the_other_format_naming_the_way_out(minilm, tmp_path):
    model, _ = minilm
    spec = CASES["minilm"]
    core = GIFTWrapperForSeqClassification(GIFTConfig(rank=2, target_modules=["value"]), copy.deepcopy(model))
    core.save_pretrained(tmp_path / "core")
    peft_model(spec, copy.deepcopy(model)).save_pretrained(tmp_path / "peft")

    with pytest.raises(FileNotFoundError, match="it holds a PEFT adapter: load it with PeftModel.from_pretrained"):
        GIFTWrapperForSeqClassification.from_pretrained(copy.deepcopy(model), tmp_path / "peft")
    with pytest.raises(ValueError, match="Can't find 'adapter_config.json'"):  # peft's own message
        PeftModel.from_pretrained(copy.deepcopy(model), tmp_path / "core")
    with pytest.raises(FileNotFoundError, match="gift_config.json does not exist"):
        load_core_adapter(model, tmp_path / "peft")
