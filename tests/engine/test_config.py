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


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["train.lr=inf"], "train.lr"),
        (["train.lr=.inf"], "train.lr"),
        (["train.lr=nan"], "train.lr"),
        (["train.head_lr=.nan"], "train.head_lr"),
        (["train.head_lr=0"], "train.head_lr"),
        (["train.min_lr=0.5"], "train.min_lr"),  # above train.lr=1e-2
        (["train.head_lr=1e-3", "train.min_lr=5e-3"], "train.min_lr"),  # above the head's lr
        (["train.min_lr=-1e-6"], "train.min_lr"),
        (["train.warmup_start_lr=-1e-7"], "train.warmup_start_lr"),
        (["train.warmup_start_lr=inf"], "train.warmup_start_lr"),
        (["train.max_grad_norm=0"], "train.max_grad_norm"),
        (["train.max_grad_norm=-1"], "train.max_grad_norm"),
        (["train.max_grad_norm=.nan"], "train.max_grad_norm"),
        (["train.eps=0"], "train.eps"),
        (["train.betas=[0.9,1.0]"], "train.betas"),
        (["train.betas=[-0.1,0.999]"], "train.betas"),
        (["train.weight_decay=-0.1"], "train.weight_decay"),
        (["train.weight_decay=.inf"], "train.weight_decay"),
        (["train.head_weight_decay=-1"], "train.head_weight_decay"),
        (["train.warmup_steps=-5", "train.warmup_ratio=0"], "train.warmup_steps"),
        (["train.warmup_epochs=-1", "train.warmup_ratio=0"], "train.warmup_epochs"),
        (["data.eval_batch_size=0"], "data.eval_batch_size"),
        (["data.max_train_samples=0"], "data.max_train_samples"),
        (["checkpoint.every_epochs=0"], "checkpoint.every_epochs"),
        (["method.name=vpt", "method.dropout=1.5"], "method.dropout"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_nonsensical_engine_settings_are_refused_naming_the_key(overrides, key):
    with pytest.raises(ValueError, match=rf"Config key '{key}': .*got"):
        load_config(TOY, overrides)


def test_limits_themselves_are_allowed():
    config = load_config(TOY, ["train.max_grad_norm=null", "train.min_lr=1e-2", "train.betas=[0,0.5]"])
    assert config.train.max_grad_norm is None and config.train.min_lr == config.train.lr == 1e-2
    assert load_config(TOY, ["train.max_grad_norm=1.0"]).train.max_grad_norm == 1.0


@pytest.mark.parametrize(
    "override",
    [
        "experiment.name=../x",
        "experiment.name=a/../../b",
        "experiment.name=..",
        "experiment.name=.",
        "experiment.name=/tmp/x",
        "experiment.name=a//b",
        "experiment.name=a/",
        "experiment.run_name=..",
        "experiment.run_name=.",
    ],
)
def test_names_that_leave_the_output_root_are_refused(override):
    key = override.partition("=")[0]
    with pytest.raises(ValueError, match=rf"'{key}': .* outside <experiment.output_root>/<experiment.domain>/"):
        load_config(TOY, [override])


def test_nested_experiment_names_stay_inside_the_domain_folder(tmp_path):
    from gift_experiment_utils.tracking import run_dir

    config = load_config(TOY, [f"experiment.output_root={tmp_path}", "experiment.name=sweeps/a.b"])
    assert (tmp_path / "toy").resolve() in run_dir(config, "toy").path.resolve().parents


@pytest.mark.parametrize("domain", ["vision/vtab", "../toy", "toy;x", "os.path:join()", ".toy"])
def test_domain_syntax_is_checked_before_any_import(domain):
    with pytest.raises(ValueError, match=r"'experiment.domain': .* is not a domain"):
        load_config(TOY, [f"experiment.domain={domain}"])


def test_a_plain_domain_must_be_one_of_the_package_domains():
    with pytest.raises(ValueError, match=r"no domain 'train' in gift_experiment_utils\.domains\. Available: \[.*'toy'"):
        load_config(TOY, ["experiment.domain=train"])  # an engine module, not a domain


def test_module_colon_class_inside_the_package_works():
    config = load_config(TOY, ["experiment.domain=gift_experiment_utils.domains.toy:ToyTask"])
    assert config.experiment.domain == "gift_experiment_utils.domains.toy:ToyTask" and config.task.seq_len


OUTSIDE_TASKS = """
from pathlib import Path

from gift_experiment_utils.domains.toy import ToyTask

Path(__file__).with_name("imported.txt").write_text("imported")  # proves the module ran


class OutsideTask(ToyTask):
    pass
"""


def test_module_colon_class_outside_the_package_needs_the_allow_list(tmp_path, monkeypatch):
    import sys

    from gift_experiment_utils.task import get_task_class

    name = "gift_test_outside_tasks"
    (tmp_path / f"{name}.py").write_text(OUTSIDE_TASKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GIFT_TASK_MODULES", raising=False)
    try:
        with pytest.raises(ValueError, match=rf"outside gift_experiment_utils .*GIFT_TASK_MODULES={name}"):
            load_config(TOY, [f"experiment.domain={name}:OutsideTask"])
        assert name not in sys.modules and not (tmp_path / "imported.txt").exists()

        monkeypatch.setenv("GIFT_TASK_MODULES", f"otherpkg, {name}")
        config = load_config(TOY, [f"experiment.domain={name}:OutsideTask"])
        assert get_task_class(config.experiment.domain).__name__ == "OutsideTask"
        assert (tmp_path / "imported.txt").exists()
    finally:
        sys.modules.pop(name, None)


def test_yaml_syntax_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("experiment: {domain: toy}\ntrain:\n  lr: 1\n    epochs: 3\n")
    with pytest.raises(ValueError, match=r"broken\.yaml line 4, column 11: mapping values are not allowed"):
        load_config(path)
    with pytest.raises(ValueError, match=r"Override 'train\.betas=\[0\.9,0\.99': the value is not valid YAML \(line 1"):
        load_config(TOY, ["train.betas=[0.9,0.99"])


def test_the_gift_method_section_is_the_library_argument_list():
    import dataclasses

    from gift.config import CONFIG_KEYS, GIFTArguments

    engine = {f.name: f for f in dataclasses.fields(GIFTMethod)}
    assert set(engine) == {"name", *CONFIG_KEYS}
    assert GIFTMethod().to_kwargs() == GIFTArguments().to_kwargs()  # one set of defaults (rank 64)
    config = load_config(TOY, ["method.rank=3", "method.share_projections=true"])
    assert config.method.gift_config().rank == 3 and config.method.gift_config().share_projections
    # values the library refuses fail when the config loads, before any model
    with pytest.raises(ValueError, match=r"'method' \(gift\).*gift_parameters.*'mlpp'.*Did you mean 'mlp'"):
        load_config(TOY, ["method.gift_parameters={block_type: mlpp}"])
    with pytest.raises(ValueError, match=r"'method' \(gift\).*regular expression"):
        load_config(TOY, ["method.target_modules=q_proj("])


def test_domains_are_the_domains_package_and_nothing_else():
    from gift_experiment_utils.task import available_domains

    assert available_domains() == ["glue", "language_modeling", "toy", "vision"]
    with pytest.raises(ValueError, match=r"no domain 'model_source'"):
        load_config(TOY, ["experiment.domain=model_source"])  # an engine module is not a domain
