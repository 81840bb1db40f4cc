"""`GIFTConfig.from_pretrained` on the two folders gift writes: an adapter folder (`gift_config.json`, from
`GIFTWrapper.save_pretrained`) and a config folder (`config.json`, from `GIFTConfig.save_pretrained`)."""

from __future__ import annotations

import json

import pytest
from toy_models import RANK, build

from gift import GIFTConfig
from gift.io import CONFIG_NAME, FORMAT_VERSION, VERSION_KEY, WEIGHTS_NAME

SAVED = {"rank": RANK, "target_modules": ["up"], "gift_parameters": {"block_type": "mlp", "mlp_ratio": 2.0}}


@pytest.fixture
def adapter(tmp_path):
    build(GIFTConfig(**SAVED)).save_pretrained(tmp_path)
    return tmp_path


def test_an_adapter_folder_gives_its_saved_config_not_the_defaults(adapter):
    config = GIFTConfig.from_pretrained(adapter)
    assert config.to_dict() == GIFTConfig(**SAVED).to_dict()
    assert config.rank == RANK != GIFTConfig().rank


def test_the_adapter_json_file_itself_and_the_weights_are_not_needed(adapter):
    (adapter / WEIGHTS_NAME).unlink()  # the config alone describes the adapter
    assert GIFTConfig.from_pretrained(adapter / CONFIG_NAME).to_dict() == GIFTConfig(**SAVED).to_dict()


def test_overrides_on_an_adapter_folder_are_checked_like_arguments(adapter):
    assert GIFTConfig.from_pretrained(adapter, rank=2).rank == 2
    config, unused = GIFTConfig.from_pretrained(adapter, rank=2, return_unused_kwargs=True)
    assert (config.rank, config.target_modules, unused) == (2, ["up"], {})
    assert GIFTConfig.from_pretrained(adapter, local_files_only=True).rank == RANK  # loader arguments pass
    with pytest.raises(ValueError, match=r"unknown key 'rnak'\. Did you mean 'rank'"):
        GIFTConfig.from_pretrained(adapter, rnak=2)
    with pytest.raises(ValueError, match="rank must be an integer"):
        GIFTConfig.from_pretrained(adapter, rank="2")


def test_a_bad_adapter_config_names_the_file(adapter):
    path = adapter / CONFIG_NAME
    path.write_text(json.dumps({**json.loads(path.read_text()), "rnak": 2}))
    with pytest.raises(ValueError, match=rf"{CONFIG_NAME}: GIFTConfig got an unknown key 'rnak'"):
        GIFTConfig.from_pretrained(adapter)
    path.write_text(json.dumps({**json.loads(path.read_text()), VERSION_KEY: FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match=rf"{CONFIG_NAME} was written in GIFT adapter format version"):
        GIFTConfig.from_pretrained(adapter)


def test_a_config_folder_still_reads_config_json(tmp_path):
    GIFTConfig(**SAVED).save_pretrained(tmp_path)
    assert not (tmp_path / CONFIG_NAME).exists()
    assert GIFTConfig.from_pretrained(tmp_path).to_dict() == GIFTConfig(**SAVED).to_dict()


def test_a_folder_with_neither_file_is_an_error_not_the_defaults(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"neither {CONFIG_NAME} .* nor config\.json"):
        GIFTConfig.from_pretrained(tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="PEFT adapter: read it with gift.peft.GIFTPeftConfig"):
        GIFTConfig.from_pretrained(tmp_path)
