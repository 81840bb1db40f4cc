"""Configs: every shipped YAML loads; layers merge in order; bad keys, types and values fail early and say why."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from gift_experiment_utils.config import GIFTMethod, LoRAMethod
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.run import main

from .conftest import REPO, TOY

CONFIGS = REPO / "configs"


def _is_sweep(path: Path) -> bool:
    return "sweep" in (yaml.safe_load(path.read_text()) or {})


def _is_fragment(path: Path) -> bool:
    """`_base.yaml`, and anything in a folder starting with '_' (`_shared/`, `_methods/`), is merged, not run."""
    return any(part.startswith("_") for part in path.relative_to(CONFIGS).parts)


EXPERIMENTS = sorted(
    p for p in CONFIGS.rglob("*.yaml") if not _is_fragment(p) and "accelerate" not in p.parts and not _is_sweep(p)
)
SWEEPS = sorted(p for p in CONFIGS.rglob("*.yaml") if "accelerate" not in p.parts and _is_sweep(p))
ACCELERATE = sorted((CONFIGS / "accelerate").glob("*.yaml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_every_experiment_config_loads(path):
    config = load_config(path)
    assert config.experiment.domain and config.method.name


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_every_sweep_expands(path):
    from gift_experiment_utils.sweep import Sweep

    runs = Sweep(path).search_runs()
    assert runs and len({r.run.path for r in runs}) == len(runs)


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_configs_are_complete(path):
    data = yaml.safe_load(path.read_text())
    assert data["distributed_type"] in ("NO", "MULTI_GPU", "MULTI_CPU", "FSDP")
    assert data["num_processes"] >= 1 and data["num_machines"] >= 1
    assert path.read_text().startswith("#"), "every accelerate config says how to launch it"
    if data["distributed_type"] == "FSDP":
        assert data["fsdp_config"]["fsdp_version"] == 2


def test_accelerate_configs_cover_the_issue():
    names = {p.stem for p in ACCELERATE}
    assert {"cpu", "1gpu", "2gpu", "4gpu", "8gpu", "multinode", "fsdp_8gpu"} <= names


def test_layers_merge_defaults_base_yaml_then_overrides():
    config = load_config(TOY, ["train.lr=2e-4", "method.rank=7"])
    assert config.train.lr == 2e-4  # CLI beats the experiment YAML (1e-2 in _base.yaml)
    assert config.method.rank == 7  # CLI beats gift.yaml (4)
    assert config.train.head_lr == 2e-2  # gift.yaml
    assert config.train.batch_size == 16  # configs/toy/_base.yaml
    assert config.train.eps == 1e-8  # dataclass default
    assert config.method.gift_parameters == {"block_type": "simple_block", "act_layer": "identity"}  # include


def test_scientific_notation_without_dot_is_a_float():
    # YAML 1.1 reads `1e-4` as a string; the schema says float, so it becomes one.
    assert load_config(TOY, ["train.lr=1e-4"]).train.lr == 1e-4


def test_unquoted_no_is_the_string_no():
    assert load_config(TOY, ["train.mixed_precision=no"]).train.mixed_precision == "no"  # YAML 1.1: `no` is false


def test_changing_method_starts_its_section_afresh():
    config = load_config(TOY, ["method.name=lora", "method.rank=2", "method.target_modules=[query]"])
    assert isinstance(config.method, LoRAMethod)
    assert (config.method.rank, config.method.target_modules, config.method.alpha) == (2, ["query"], 16.0)


def test_unknown_key_names_it_as_typed_and_suggests_the_closest():
    with pytest.raises(ValueError, match=r"'train\.lrr' \(set in override 'train\.lrr=3'\)\. Did you mean 'train\.lr'"):
        load_config(TOY, ["train.lrr=3"])
    with pytest.raises(ValueError, match=r"Unknown config key 'lr'.*Did you mean 'train\.lr'"):
        load_config(TOY, ["lr=3"])
    with pytest.raises(ValueError, match=r"'method\.rnak'.*Did you mean 'method\.rank'"):
        load_config(TOY, ["method.rnak=3"])
    with pytest.raises(ValueError, match=r"'task\.vocab'.*Did you mean 'task\.vocab_size'"):
        load_config(TOY, ["task.vocab=3"])


def test_unknown_key_in_a_yaml_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("experiment: {domain: toy}\ntrain:\n  warmup_ration: 0.1\n")
    with pytest.raises(
        ValueError, match=r"'train\.warmup_ration' \(set in .*bad\.yaml\)\. Did you mean 'train\.warmup_ratio'"
    ):
        load_config(path)


def test_domain_is_required(tmp_path):
    path = tmp_path / "nodomain.yaml"
    path.write_text("train: {lr: 0.1}\n")
    with pytest.raises(ValueError, match=r"experiment.domain.*required"):
        load_config(path)


def test_wrong_type_and_bad_choice_fail_with_the_fix():
    with pytest.raises(ValueError, match=r"'train\.epochs'.*expected int, got 'two'"):
        load_config(TOY, ["train.epochs=two"])
    with pytest.raises(ValueError, match=r"'train\.scheduler'.*'cosin' is not one of .*Did you mean 'cosine'"):
        load_config(TOY, ["train.scheduler=cosin"])
    with pytest.raises(ValueError, match=r"unknown method 'gfit'.*Did you mean 'gift'"):
        load_config(TOY, ["method.name=gfit"])
    with pytest.raises(ValueError, match=r"no domain 'glu'"):
        load_config(TOY, ["experiment.domain=glu"])


def test_cross_field_checks():
    with pytest.raises(ValueError, match=r"only one of train.warmup_ratio"):
        load_config(TOY, ["train.warmup_steps=10"])  # the base sets warmup_ratio
    with pytest.raises(ValueError, match=r"train.effective_batch_size.*not both"):
        load_config(TOY, ["train.effective_batch_size=32", "train.grad_accum_steps=2"])
    with pytest.raises(ValueError, match=r"'model.dtype': a bfloat16 backbone needs train.mixed_precision=bf16"):
        load_config(TOY, ["model.dtype=bfloat16"])
    with pytest.raises(ValueError, match=r"task.num_heads"):
        load_config(TOY, ["task.num_heads=3"])


def test_malformed_override():
    with pytest.raises(ValueError, match=r"dotted.key=value"):
        load_config(TOY, ["train.lr"])


def test_base_files_and_includes_apply_by_folder(tmp_path):
    root = tmp_path / "configs"
    (root / "dom" / "sub").mkdir(parents=True)
    (root / "_base.yaml").write_text("train: {epochs: 5, lr: 0.5}\n")
    (root / "dom" / "_base.yaml").write_text("experiment: {domain: toy}\ntrain: {lr: 0.25}\n")
    (root / "frag.yaml").write_text("method: {name: lora, rank: 3}\n")
    (root / "dom" / "sub" / "exp.yaml").write_text("include: ../../frag.yaml\ntrain: {batch_size: 2}\n")
    config = load_config(root / "dom" / "sub" / "exp.yaml")
    assert (config.train.epochs, config.train.lr, config.train.batch_size) == (5, 0.25, 2)
    assert isinstance(config.method, LoRAMethod) and config.method.rank == 3


def test_print_config_prints_the_resolved_config_and_exits():
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--config", str(TOY), "--print-config", "method.rank=3"]) == 0
    printed = yaml.safe_load(out.getvalue())
    assert printed["method"]["rank"] == 3 and printed["train"]["lr"] == 1e-2
    assert load_config(TOY, ["method.rank=3"]).method == GIFTMethod(**printed["method"])


def test_entry_point_reports_a_bad_key_without_traceback(capsys):
    assert main(["--config", str(TOY), "train.lrr=1"]) == 2
    assert "Did you mean 'train.lr'" in capsys.readouterr().err
