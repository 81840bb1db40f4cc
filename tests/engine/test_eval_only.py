"""Evaluate-only runs (`run --eval-only [--adapter DIR]`): no update, the same task code, a saved adapter of any
method reproduces its run's metrics exactly, zero-shot is the untrained model, a mismatching adapter is named."""

from __future__ import annotations

import shutil

import pytest

from gift_experiment_utils.loading import load_config
from gift_experiment_utils.run import main, parse_args
from gift_experiment_utils.tracking import config_hash, read_metrics

from .conftest import TOY, results, run_args, run_in_process


def test_the_flags_are_config_keys_and_give_the_run_its_own_identity():
    args = parse_args(["--config", str(TOY), "--adapter", "runs/x y/adapter", "train.lr=1e-3"])
    assert args.overrides == ["train.lr=1e-3", "eval.only=true", 'eval.adapter="runs/x y/adapter"']
    adapter = load_config(TOY, args.overrides)
    assert (adapter.eval.only, adapter.eval.adapter) == (True, "runs/x y/adapter")
    zero_shot = load_config(TOY, parse_args(["--config", str(TOY), "--eval-only"]).overrides)
    trained = load_config(TOY)
    assert len({config_hash(c) for c in (adapter, zero_shot, trained)}) == 3
    with pytest.raises(ValueError, match=r"'eval.adapter'.*only by an evaluate-only run; add --eval-only"):
        load_config(TOY, ["eval.adapter=runs/x"])


def test_the_adapter_of_a_finished_run_reproduces_its_metrics_without_training(tmp_path):
    trained = run_in_process(tmp_path)
    folder = run_in_process(tmp_path, f"eval.adapter={trained}", "eval.only=true")  # = --adapter <run>
    assert folder != trained and "_eval_" in folder.name
    out, reference = results(folder), results(trained)
    assert out["steps"] == 0 and out["eval_only"] is True and reference["eval_only"] is False
    assert out["adapter"]["path"] == str((trained / "adapter").resolve()) and len(out["adapter"]["sha256"]) == 64
    # the last weights were tested and exported; the final validation ran on them too
    for key in ("test/accuracy", "test/num_examples", "val/accuracy"):
        assert out["metrics"][key] == reference["metrics"][key], key
    assert not any(k.startswith("best_val/") for k in out["metrics"])
    assert out["params"] == reference["params"]
    assert [row["step"] for row in read_metrics(folder / "metrics.jsonl")] == [0, 0]  # val, then test
    assert not (folder / "adapter").exists() and not (folder / "checkpoints" / "last.pt").exists()
    # the adapter/ folder itself works as well
    direct = run_in_process(tmp_path, f"eval.adapter={trained / 'adapter'}", "eval.only=true")
    assert results(direct)["metrics"]["test/accuracy"] == reference["metrics"]["test/accuracy"]


def test_zero_shot_is_the_model_as_initialised(tmp_path):
    trained = run_in_process(tmp_path, "eval.at_start=true", "train.max_steps=1")
    step0 = next(r for r in read_metrics(trained / "metrics.jsonl") if r["step"] == 0)
    folder = run_in_process(tmp_path, "eval.only=true")
    assert "_zeroshot_" in folder.name
    out = results(folder)
    assert out["steps"] == 0 and out["adapter"] is None
    assert out["metrics"]["val/accuracy"] == step0["val/accuracy"]  # ψ = 0: the backbone (and the fresh head)


@pytest.mark.parametrize("method", ["lora", "bitfit", "full", "linear"])
def test_every_method_loads_back_what_it_exported(tmp_path, method):
    overrides = [f"method.name={method}", "train.epochs=1", "eval.every_epochs=null"]
    if method == "lora":
        overrides += ["method.rank=2", "method.alpha=4", "method.target_modules=[query,value]"]
    trained = run_in_process(tmp_path, *overrides)
    folder = run_in_process(tmp_path, *overrides, f"eval.adapter={trained}", "eval.only=true")
    assert results(folder)["steps"] == 0
    assert results(folder)["metrics"]["test/accuracy"] == results(trained)["metrics"]["test/accuracy"]


def test_an_adapter_of_another_method_or_backbone_is_a_named_error(tmp_path):
    gift = run_in_process(tmp_path)

    def fails(adapter, *overrides: str) -> str:
        with pytest.raises(ValueError) as error:
            main(run_args(tmp_path, *overrides, f"eval.adapter={adapter}", "eval.only=true"))
        return str(error.value)

    assert "holds a gift adapter, but method.name='lora' loads a lora one" in fails(gift, "method.name=lora")
    assert "method.rank: 4 saved, 8 here" in fails(gift, "method.rank=8")
    assert "saved for another backbone" in fails(gift, "task.hidden_size=32")  # same model.name, other shapes
    bitfit = run_in_process(tmp_path, "method.name=bitfit", "train.epochs=1")
    assert "method.name: 'bitfit' there, 'full' here" in fails(bitfit, "method.name=full")
    loose = tmp_path / "loose"  # a copied adapter, without its run's config.yaml: the tensors tell
    shutil.copytree(bitfit / "adapter", loose)
    assert "does not fit this model and method: missing" in fails(loose, "method.name=linear")
    (tmp_path / "empty").mkdir()
    assert "holds no exported adapter" in fails(tmp_path / "empty")
    assert len(list((tmp_path / "toy" / "toy").iterdir())) == 2  # the failed starts left no folder
