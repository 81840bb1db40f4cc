"""The plug-in itself, no pretrained model needed: version gate, registration, config, and the core's
harder layouts (fused slices of a Conv1D, regex targets, one shared θ, a non-linear block) on a tiny GPT-2."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch
from peft import PeftConfig, PeftModel, get_peft_model, inject_adapter_in_model, mapping
from peft_helpers import randomise
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from gift import GIFTConfig, GIFTWrapper
from gift.config import CONFIG_KEYS, GIFTArguments
from gift.io import FORMAT_VERSION
from gift.peft import GIFTPeftConfig, GIFTPeftLayer, GIFTTuner, adapter_generators, load_core_adapter, save_core_adapter
from gift.peft import _peft_compat as compat

SETUP_PY = Path(__file__).parents[2] / "setup.py"


# ---------------------------------------------------------------------------------------------- version gate
def test_tested_range_matches_the_setup_py_extra():
    pinned = re.search(r'"peft": \["peft([^"]+)"\]', SETUP_PY.read_text())
    assert pinned and pinned.group(1) == compat.TESTED_PEFT


@pytest.mark.parametrize("version", ["0.21.0", "0.21.2", "0.21.9"])
def test_tested_versions_pass(version):
    compat.check_peft_version(version)


@pytest.mark.parametrize("version", ["0.20.0", "0.22.0", "1.0.0"])
def test_untested_version_fails_with_the_fix(version, monkeypatch):
    monkeypatch.delenv(compat.ALLOW_UNTESTED_ENV, raising=False)
    with pytest.raises(ImportError) as error:
        compat.check_peft_version(version)
    message = str(error.value)
    assert f"peft {version} is installed" in message and "pip install 'peft>=0.21.0,<0.22'" in message
    assert compat.ALLOW_UNTESTED_ENV in message


def test_untested_version_can_be_forced_with_a_warning(monkeypatch):
    monkeypatch.setenv(compat.ALLOW_UNTESTED_ENV, "1")
    with pytest.warns(UserWarning, match="peft 0.22.0 is installed"):
        compat.check_peft_version("0.22.0")


# ---------------------------------------------------------------------------------------------- registration
def test_registered_in_peft_tables_and_idempotent():
    assert mapping.PEFT_TYPE_TO_CONFIG_MAPPING["GIFT"] is GIFTPeftConfig
    assert mapping.PEFT_TYPE_TO_TUNER_MAPPING["GIFT"] is GIFTTuner
    assert mapping.PEFT_TYPE_TO_PREFIX_MAPPING["GIFT"] == GIFTTuner.prefix == "gift_"
    compat.register(GIFTPeftConfig, GIFTTuner)  # importing twice (or reloading) is harmless


def test_registration_refuses_to_overwrite_another_method(monkeypatch):
    monkeypatch.setitem(mapping.PEFT_TYPE_TO_TUNER_MAPPING, "GIFT", PeftModel)
    with pytest.raises(RuntimeError, match="already maps peft_type 'GIFT'"):
        compat.register(GIFTPeftConfig, GIFTTuner)


# ---------------------------------------------------------------------------------------------- config
def test_config_carries_every_core_argument():
    core_arguments = {item.name for item in dataclasses.fields(GIFTArguments)}  # the one argument list
    own_fields = {"modules_to_save", "gift_format_version"}
    peft_fields = set(GIFTPeftConfig.__dataclass_fields__) - set(PeftConfig.__dataclass_fields__) - own_fields
    assert peft_fields == core_arguments == set(CONFIG_KEYS)


def test_config_defaults_and_validation_are_the_core_s():
    config = GIFTPeftConfig(dtype=torch.bfloat16)
    core = GIFTConfig()
    assert (config.rank, config.gift_parameters, config.share_projections) == (
        core.rank,
        core.gift_parameters,
        core.share_projections,
    )
    assert config.dtype == "bfloat16" and config.peft_type == "GIFT" and config.target_modules is None
    with pytest.raises(ValueError, match="unknown key 'blocktype'.*Did you mean 'block_type'"):
        GIFTPeftConfig(gift_parameters={"blocktype": "mlp"})
    with pytest.raises(ValueError, match="rank must be an integer >= 1"):
        GIFTPeftConfig(rank=0)
    with pytest.raises(ValueError, match="resolved from the model type when the adapter is injected"):
        GIFTPeftConfig().to_gift_config()


def test_config_json_round_trip_and_core_conversion(tmp_path):
    config = GIFTPeftConfig(rank=4, target_modules=["attn:c_attn"], enable_gift={"attn:c_attn": [True, False, True]})
    config.save_pretrained(tmp_path)
    loaded = PeftConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, GIFTPeftConfig) and loaded.to_dict() == config.to_dict()
    core = config.to_gift_config()
    assert GIFTPeftConfig.from_gift_config(core).to_gift_config().to_dict() == core.to_dict()


def test_config_refuses_unknown_keys_and_non_booleans_in_code_and_in_adapter_config_json(tmp_path):
    with pytest.raises(ValueError, match="unknown key 'rnak'. Did you mean 'rank'"):
        GIFTPeftConfig(rnak=4)
    with pytest.raises(TypeError, match="share_projections must be True or False, got 'false'"):
        GIFTPeftConfig(share_projections="false")
    GIFTPeftConfig(rank=4, target_modules=["attn:c_attn"]).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    (tmp_path / "adapter_config.json").write_text(json.dumps({**saved, "target_module": ["attn:c_proj"]}))
    with pytest.raises(ValueError, match="unknown key 'target_module'. Did you mean 'target_modules'"):
        PeftConfig.from_pretrained(tmp_path)  # peft itself would drop the key with a warning


def test_config_refuses_a_newer_gift_format_version(tmp_path):
    config = GIFTPeftConfig(rank=4, target_modules=["attn:c_attn"])
    assert config.gift_format_version == FORMAT_VERSION
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    assert saved["gift_format_version"] == FORMAT_VERSION
    (tmp_path / "adapter_config.json").write_text(json.dumps({**saved, "gift_format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match="format version 2, but gift .* reads versions up to 1"):
        PeftConfig.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------------- tiny GPT-2
def tiny_gpt2() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=64, n_positions=16)
    return GPT2LMHeadModel(config).eval()


LAYOUTS = {
    # timm-style fused qkv with per-slice θ (q and v only) on transformers Conv1D, plus a plain target
    "fused_slices": dict(
        target_modules=["attn:c_attn", "attn:c_proj"], enable_gift={"attn:c_attn": [True, False, True]}
    ),
    # a regex over two layer types sharing one θ, with a non-linear generator block and a ψ bias
    "regex_shared_mlp": dict(
        target_modules=r".*\.(c_attn|c_fc)",
        share_projections=True,
        gift_parameters={"block_type": "mlp"},
        out_projection_bias=True,
    ),
}


@pytest.fixture(params=list(LAYOUTS))
def layout(request):
    return dict(rank=4, **LAYOUTS[request.param])


def ids() -> torch.Tensor:
    return torch.arange(12).reshape(2, 6) % 64


def test_layouts_match_the_core_key_for_key_and_output_for_output(layout, tmp_path):
    backbone = tiny_gpt2()
    torch.manual_seed(0)
    core = GIFTWrapper(GIFTConfig(**layout), copy.deepcopy(backbone)).eval()
    torch.manual_seed(0)
    model = get_peft_model(copy.deepcopy(backbone), GIFTPeftConfig(**layout))
    generators = adapter_generators(model, "default")
    core_theta = core.gift_generators.state_dict()
    assert generators.state_dict().keys() == core_theta.keys()
    assert all(torch.equal(v, core_theta[k]) for k, v in generators.state_dict().items())

    randomise(generators.parameters(), std=0.3)
    core.gift_generators.load_state_dict(generators.state_dict())
    expected = core(input_ids=ids()).logits
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids()).logits, expected, rtol=0, atol=0)
        model.merge_adapter()
        torch.testing.assert_close(model(input_ids=ids()).logits, expected, rtol=1e-5, atol=1e-5)
        model.unmerge_adapter()

        model.save_pretrained(tmp_path / "peft")
        save_core_adapter(model, tmp_path / "core")
        from_peft = PeftModel.from_pretrained(copy.deepcopy(backbone), tmp_path / "peft")
        from_core = GIFTWrapper.from_pretrained(copy.deepcopy(backbone), tmp_path / "core")
        core.save_pretrained(tmp_path / "core2")
        peft_from_core = load_core_adapter(copy.deepcopy(backbone), tmp_path / "core2")
        for reloaded in (from_peft, from_core, peft_from_core):
            torch.testing.assert_close(reloaded(input_ids=ids()).logits, expected, rtol=0, atol=0)


def test_trainer_resumes_exactly_from_a_peft_checkpoint(tmp_path):
    generator = torch.Generator().manual_seed(0)
    data = [{"input_ids": x, "labels": x} for x in torch.randint(0, 64, (16, 8), generator=generator)]
    config = GIFTPeftConfig(rank=4, target_modules=["attn:c_attn"], task_type="CAUSAL_LM")

    def train(output_dir, resume_from=None, **kwargs):
        torch.manual_seed(0)  # fresh θ: whatever resumes must come from the checkpoint
        model = get_peft_model(tiny_gpt2(), copy.deepcopy(config))
        args = TrainingArguments(
            str(output_dir), per_device_train_batch_size=4, max_steps=6, learning_rate=1e-2, report_to=[],
            use_cpu=True, seed=0, data_seed=0, **kwargs,
        )  # fmt: skip
        Trainer(model=model, args=args, train_dataset=data).train(resume_from_checkpoint=resume_from)
        return adapter_generators(model, "default").state_dict()

    uninterrupted = train(tmp_path / "full", save_strategy="no")
    train(tmp_path / "run", save_strategy="steps", save_steps=3)
    resumed = train(tmp_path / "run", str(tmp_path / "run" / "checkpoint-3"), save_strategy="steps", save_steps=3)
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=1e-6, atol=1e-7)


def test_a_deep_copy_shares_theta_within_itself_only():
    model = get_peft_model(tiny_gpt2(), GIFTPeftConfig(rank=2, target_modules=["attn:c_attn"]))
    clone = copy.deepcopy(model)  # what EMA helpers and some trainers do
    generator = adapter_generators(clone, "default")["attn:c_attn"]
    assert generator is not adapter_generators(model, "default")["attn:c_attn"]
    for layer in (m for m in clone.modules() if isinstance(m, GIFTPeftLayer)):
        gift_linear = layer.gift_linears["default"]
        assert gift_linear.generators == [generator] and gift_linear.base_layer is layer.base_layer


def test_deleting_the_active_adapter_activates_and_trains_another():
    model = get_peft_model(tiny_gpt2(), GIFTPeftConfig(rank=2, target_modules=["attn:c_attn"]))
    model.add_adapter("other", GIFTPeftConfig(rank=2, target_modules=["attn:c_proj"]))
    model.set_adapter("other")
    assert not any(p.requires_grad for p in adapter_generators(model, "default").parameters())
    with pytest.warns(UserWarning, match="Setting active adapter to default"):
        model.delete_adapter("other")
    assert model.active_adapters == ["default"] and list(model.base_model.gift_generators) == ["default"]
    assert all(p.requires_grad for p in adapter_generators(model, "default").parameters())
    assert model.base_model.model.transformer.h[0].attn.c_proj.gift_linears == {}  # only "other" targeted it


# ---------------------------------------------------------------------------------------------- refusals
def test_default_targets_for_an_unknown_model_type_are_refused():
    with pytest.raises(ValueError, match="no default for model_type 'gpt2'; pass target_modules"):
        get_peft_model(tiny_gpt2(), GIFTPeftConfig(rank=2))


def test_a_target_that_matches_nothing_is_the_core_s_error():
    with pytest.raises(ValueError, match="target_modules entry 'q_proj' matches no module of GPT2LMHeadModel"):
        get_peft_model(tiny_gpt2(), GIFTPeftConfig(rank=2, target_modules=["q_proj"]))


def test_adapter_names_that_would_collide_in_the_state_dict_are_refused():
    model = get_peft_model(tiny_gpt2(), GIFTPeftConfig(rank=2, target_modules=["attn:c_proj"]))
    for name in ("attn:c_proj", "in_proj", "weight"):
        with pytest.raises(ValueError, match=f"Adapter name '{name}' clashes"):
            model.add_adapter(name, GIFTPeftConfig(rank=2, target_modules=["attn:c_proj"]))
    assert list(model.peft_config) == ["default"]


def test_inject_adapter_in_model_is_refused_by_peft_because_theta_is_shared():
    with pytest.raises(ValueError, match="uses shared state"):
        inject_adapter_in_model(GIFTPeftConfig(rank=2, target_modules=["attn:c_proj"]), tiny_gpt2())


def test_loading_into_a_merged_adapter_is_refused_and_unmerge_restores_w(tmp_path):
    config = GIFTPeftConfig(rank=2, target_modules=["attn:c_attn"])
    other = get_peft_model(tiny_gpt2(), copy.deepcopy(config))
    randomise(adapter_generators(other, "default").parameters(), std=0.3, seed=2)
    other.save_pretrained(tmp_path)
    model = get_peft_model(tiny_gpt2(), copy.deepcopy(config))
    randomise(adapter_generators(model, "default").parameters(), std=0.3)
    original = {name: p.detach().clone() for name, p in model.get_base_model().named_parameters()}
    model.merge_adapter()
    with pytest.raises(ValueError, match=r"'default' is merged.*Call unmerge_adapter\(\) first"):
        model.load_adapter(tmp_path, adapter_name="default")
    model.unmerge_adapter()
    for name, parameter in model.get_base_model().named_parameters():
        torch.testing.assert_close(parameter, original[name], rtol=0, atol=1e-6)
    model.load_adapter(tmp_path, adapter_name="default")  # unmerged: allowed
    loaded = adapter_generators(model, "default").state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in adapter_generators(other, "default").state_dict().items())


@pytest.mark.parametrize(
    "kwargs",
    [dict(target_modules=["nothing"]), dict(target_modules=["attn:c_attn"], enable_gift={"attn:c_attn": [True] * 5})],
)
def test_failed_get_peft_model_leaves_the_model_as_it_was(kwargs):
    model = tiny_gpt2()
    model.transformer.h[0].attn.c_attn.weight.requires_grad_(False)  # a mix of flags, so a blanket reset would show
    modules = [(name, type(module), id(module)) for name, module in model.named_modules()]
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    with pytest.raises(ValueError):
        get_peft_model(model, GIFTPeftConfig(rank=2, **kwargs))
    assert [(name, type(module), id(module)) for name, module in model.named_modules()] == modules
    assert {name: p.requires_grad for name, p in model.named_parameters()} == flags
