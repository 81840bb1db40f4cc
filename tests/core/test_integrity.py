"""Input integrity: a config or adapter file that is wrong fails loudly and early, a wrap or load that fails
leaves the caller's model as it was, a merged wrapper cannot be loaded into, and a failed save keeps the old files."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from toy_models import D_IN, RANK, Stack, build, randomise_theta

import gift.io
from gift import GIFTConfig, GIFTWrapper
from gift.config import CONFIG_KEYS
from gift.io import CONFIG_NAME, FORMAT_VERSION, VERSION_KEY, WEIGHTS_NAME


# ---------------------------------------------------------------------------------------------- GIFTConfig
@pytest.mark.parametrize(
    "typo, meant",
    [("target_module", "target_modules"), ("rnak", "rank"), ("layer_to_transform", "layers_to_transform")],
)
def test_unknown_key_is_named_with_the_closest_valid_one(typo, meant):
    with pytest.raises(ValueError, match=rf"unknown key '{typo}'\. Did you mean '{meant}'\?.*fix or remove"):
        GIFTConfig(**{typo: ["up"] if "module" in typo else 2})


def test_transformers_own_keys_and_the_original_misspelling_are_still_accepted(tmp_path):
    config = GIFTConfig(rank=RANK, target_modules=["up"], output_hidden_states=True, return_dict=False)
    config.save_pretrained(tmp_path)
    assert GIFTConfig.from_pretrained(tmp_path).to_dict() == config.to_dict()
    with pytest.warns(UserWarning, match="gift_paramters"):
        assert GIFTConfig(gift_paramters={"block_type": "mlp"}).gift_parameters["block_type"] == "mlp"


def test_from_pretrained_overrides_are_checked_like_arguments(tmp_path):
    GIFTConfig(rank=RANK, target_modules=["up"]).save_pretrained(tmp_path)
    assert GIFTConfig.from_pretrained(tmp_path, rank=8).rank == 8
    with pytest.raises(ValueError, match="unknown key 'rnak'. Did you mean 'rank'"):
        GIFTConfig.from_pretrained(tmp_path, rnak=8)
    with pytest.raises(ValueError, match="rank must be an integer >= 1, got '8'"):
        GIFTConfig.from_pretrained(tmp_path, rank="8")


@pytest.mark.parametrize("name", ["in_projection_bias", "out_projection_bias", "share_projections"])
@pytest.mark.parametrize("value", ["false", 1, None])
def test_boolean_fields_take_only_booleans(name, value):
    with pytest.raises(TypeError, match=rf"{name} must be True or False, got {value!r}"):
        GIFTConfig(**{name: value})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(gift_parameters={"num_heads": True}), r"'num_heads'\] must be a positive integer, got True"),
        (dict(gift_parameters={"mlp_ratio": True}), r"'mlp_ratio'\] must be a positive number, got True"),
        (dict(layers_to_transform=["1"]), r"layers_to_transform=\['1'\]: give a layer index"),
        (dict(layers_to_transform=-1), r"layers_to_transform=-1: give a layer index"),
        (dict(layers_pattern=["layers"]), r"layers_pattern=\['layers'\]: give the name"),
    ],
)
def test_typed_fields_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GIFTConfig(**kwargs)


def test_bad_regex_fails_when_the_config_is_built():
    with pytest.raises(ValueError, match=r"target_modules='q_proj\(' is not a valid regular expression"):
        GIFTConfig(target_modules="q_proj(")


# ---------------------------------------------------------------------------------------------- failed wraps
def _snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "modules": [(name, type(m), id(m)) for name, m in model.named_modules()],
        "requires_grad": {name: p.requires_grad for name, p in model.named_parameters()},
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()),
    }


def _assert_unchanged(model: nn.Module, before: dict) -> None:
    after = _snapshot(model)
    assert after["modules"] == before["modules"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["hooks"] == before["hooks"]
    assert after["state"].keys() == before["state"].keys()
    assert all(torch.equal(after["state"][k], v) for k, v in before["state"].items())


def _mixed_shapes() -> Stack:
    backbone = Stack()
    backbone.layers[2]["up"] = nn.Linear(D_IN, 24)
    return backbone


FAILED_WRAPS = {
    "target_matches_nothing": (dict(target_modules=["up", "q_proj"]), Stack, "matches no module"),
    "share_projections_shapes": (
        dict(target_modules=["up", "down"], share_projections=True),
        Stack,
        "needs one input size",
    ),
    "enable_gift_slices": (
        dict(target_modules=["up"], enable_gift={"up": [True, False, True, True]}),
        Stack,
        "does not divide",
    ),
    "mixed_shapes": (dict(target_modules=["up"]), _mixed_shapes, "different shapes"),
    "generator_block": (
        dict(target_modules=["up"], gift_parameters={"block_type": "transformer", "num_heads": 3}),
        Stack,
        "must divide rank",
    ),
}


@pytest.mark.parametrize("case", list(FAILED_WRAPS))
def test_failed_wrap_leaves_the_model_exactly_as_it_was(case):
    kwargs, make, message = FAILED_WRAPS[case]
    backbone = make()
    backbone.layers[0]["up"].weight.requires_grad_(False)  # a mix of flags, so a blanket reset would show
    before = _snapshot(backbone)
    with pytest.raises(ValueError, match=message):
        GIFTWrapper(GIFTConfig(rank=RANK, **kwargs), backbone, head_modules=["head"])
    _assert_unchanged(backbone, before)


def test_failed_load_in_from_pretrained_leaves_the_backbone_as_it_was(tmp_path):
    build(GIFTConfig(rank=RANK, target_modules=["up", "down"])).save_pretrained(tmp_path)
    state = load_file(tmp_path / WEIGHTS_NAME)
    state.pop("gift_generators.up.in_proj.weight")
    save_file(state, tmp_path / WEIGHTS_NAME)
    backbone = Stack()
    before = _snapshot(backbone)
    with pytest.raises(ValueError, match="missing keys"):
        GIFTWrapper.from_pretrained(backbone, tmp_path)
    _assert_unchanged(backbone, before)


# ---------------------------------------------------------------------------------------------- adapter files
def test_adapter_files_carry_the_format_version_and_only_gift_keys(tmp_path):
    build(GIFTConfig(rank=RANK, target_modules=["up"])).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / CONFIG_NAME).read_text())
    assert saved[VERSION_KEY] == FORMAT_VERSION
    assert set(saved) == {*CONFIG_KEYS, VERSION_KEY, "gift_wrapper"}
    with safe_open(str(tmp_path / WEIGHTS_NAME), framework="pt") as handle:
        assert handle.metadata()[VERSION_KEY] == str(FORMAT_VERSION)


def _edit_config(directory, edit) -> None:
    path = directory / CONFIG_NAME
    saved = json.loads(path.read_text())
    edit(saved)
    path.write_text(json.dumps(saved))


def _edit_weights_metadata(directory, metadata) -> None:
    path = directory / WEIGHTS_NAME
    save_file(load_file(path), path, metadata=metadata)


@pytest.mark.parametrize("file", [CONFIG_NAME, WEIGHTS_NAME])
@pytest.mark.parametrize(
    "version, message",
    [(FORMAT_VERSION + 1, "format version 2, but gift .* reads versions up to 1"), ("one", "not a GIFT format")],
)
def test_a_newer_or_invalid_format_version_is_refused(file, version, message, tmp_path):
    build(GIFTConfig(rank=RANK, target_modules=["up"])).save_pretrained(tmp_path)
    if file == CONFIG_NAME:
        _edit_config(tmp_path, lambda saved: saved.update({VERSION_KEY: version}))
    else:
        _edit_weights_metadata(tmp_path, {"format": "pt", VERSION_KEY: str(version)})
    with pytest.raises(ValueError, match=rf"{file}.*{message}"):
        GIFTWrapper.from_pretrained(Stack(), tmp_path)


def test_files_written_before_versions_load_as_version_1(tmp_path):
    model = build(GIFTConfig(rank=RANK, target_modules=["up"]))
    model.save_pretrained(tmp_path)
    _edit_config(tmp_path, lambda saved: saved.pop(VERSION_KEY))
    _edit_weights_metadata(tmp_path, {"format": "pt"})
    loaded = GIFTWrapper.from_pretrained(Stack(), tmp_path).double()  # θ is float32, as its config says
    for key, value in model.adapter_state_dict().items():
        torch.testing.assert_close(loaded.adapter_state_dict()[key], value, rtol=1e-6, atol=1e-7)


def test_unknown_key_in_gift_config_json_names_the_file_and_the_key(tmp_path):
    build(GIFTConfig(rank=RANK, target_modules=["up"])).save_pretrained(tmp_path)
    _edit_config(tmp_path, lambda saved: saved.update(rnak=8))
    with pytest.raises(ValueError, match=rf"{CONFIG_NAME}: GIFTConfig got an unknown key 'rnak'. Did you mean 'rank'"):
        GIFTWrapper.from_pretrained(Stack(), tmp_path)


# ---------------------------------------------------------------------------------------------- merged wrappers
def test_loading_into_a_merged_wrapper_is_refused_and_unmerge_restores_w(tmp_path):
    config = GIFTConfig(rank=RANK, target_modules=["up", "down"])
    other = build(config)
    with torch.no_grad():
        for p in other.theta_parameters():
            p.mul_(-2.0)  # another θ
    other.save_pretrained(tmp_path)
    model = build(config)
    original = {name: layer.base_layer.weight.clone() for name, layer in model.gift_layers.items()}
    model.merge()
    with pytest.raises(ValueError, match=r"Call unmerge\(\) first"):
        gift.io.load_adapter(model, tmp_path)
    with pytest.raises(ValueError, match=r"is merged .*Call unmerge\(\) first"):
        model.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match=r"Call unmerge\(\) first"):
        nn.Sequential(model).load_state_dict(nn.Sequential(other).state_dict())  # a parent loading it
    assert model.is_merged
    model.unmerge()
    assert not model.is_merged
    for name, layer in model.gift_layers.items():
        torch.testing.assert_close(layer.base_layer.weight, original[name], rtol=0, atol=1e-12)
    gift.io.load_adapter(model, tmp_path)  # unmerged: allowed
    assert all(torch.equal(a, b) for a, b in zip(model.theta_parameters(), other.theta_parameters()))


# ---------------------------------------------------------------------------------------------- atomic saves
class _HalfWriter:
    """A file that writes half of what it is given, then fails as a full disk or a killed process would."""

    def __init__(self, path, mode):
        self.handle = open(path, mode)  # noqa: SIM115 (closed in __exit__)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        raise OSError("No space left on device")


def _fail_replace(*args):
    raise OSError("killed before the rename")


@pytest.mark.parametrize("failure", ["mid_write", "before_rename"])
def test_a_failed_save_keeps_the_previous_files_and_leaves_no_temporary(failure, tmp_path, monkeypatch):
    model = build(GIFTConfig(rank=RANK, target_modules=["up"]))
    model.save_pretrained(tmp_path)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    randomise_theta(model, std=1.0)
    if failure == "mid_write":
        monkeypatch.setattr(gift.io, "open", _HalfWriter, raising=False)
    else:
        monkeypatch.setattr(gift.io.os, "replace", _fail_replace)
    with pytest.raises(OSError):
        model.save_pretrained(tmp_path)
    monkeypatch.undo()
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    GIFTWrapper.from_pretrained(Stack(), tmp_path)  # the old adapter still loads
