"""Methods: the same backbone, only the trained parameters differ; counted one way for all of them."""

from __future__ import annotations

import pytest
import torch

from gift_experiment_utils.config import BitFitMethod, FullMethod, GIFTMethod, LinearMethod, LoRAMethod, VPTMethod
from gift_experiment_utils.domains.toy import ToyTask
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.methods import apply_method
from gift_experiment_utils.optim import build_optimizer, build_schedule, param_groups
from gift_experiment_utils.task import TaskModel

from .conftest import TOY

HIDDEN, LAYERS, HEAD = 16, 2, 16 * 2 + 2  # toy BERT; classifier 16 -> 2


def toy_model() -> TaskModel:
    return ToyTask(load_config(TOY)).build_model()


def backbone_count(task_model: TaskModel) -> int:
    return sum(p.numel() for n, p in task_model.module.named_parameters() if not n.startswith("classifier"))


def test_gift_counts_theta_once_for_all_layers():
    task_model = toy_model()
    backbone = backbone_count(task_model)
    adapted = apply_method(GIFTMethod(rank=4, target_modules=["query", "value"]), task_model)
    assert adapted.count.method == 2 * (2 * HIDDEN * 4)  # per target type: φ (d_in×r) + ψ (r×d_in)
    assert adapted.count.head == HEAD and adapted.count.backbone == backbone
    library = adapted.module.num_trainable_parameters()  # the library's own count agrees
    assert (library.gift, library.head, library.backbone) == (adapted.count.method, adapted.count.head, backbone)


def test_lora_counts_a_and_b_per_layer():
    adapted = apply_method(LoRAMethod(rank=2, target_modules=["query", "value"]), toy_model())
    assert adapted.count.method == LAYERS * 2 * (2 * HIDDEN * 2)  # per layer and target: A (r×d) + B (d×r)
    assert adapted.count.head == HEAD


def test_bitfit_full_and_linear():
    task_model = toy_model()
    biases = sum(
        p.numel() for n, p in task_model.module.named_parameters() if n.endswith("bias") and "classifier" not in n
    )
    assert apply_method(BitFitMethod(scope="all"), task_model).count.method == biases
    linear_biases = sum(
        m.bias.numel()
        for n, m in toy_model().module.named_modules()
        if isinstance(m, torch.nn.Linear) and "classifier" not in n
    )
    assert apply_method(BitFitMethod(scope="linear"), toy_model()).count.method == linear_biases
    full = apply_method(FullMethod(), toy_model()).count
    assert full.method == full.backbone and full.method_percent == 100.0
    linear = apply_method(LinearMethod(), toy_model()).count
    assert (linear.method, linear.head) == (0, HEAD)


def test_head_only_trains_with_every_method():
    for method in (
        GIFTMethod(rank=2, target_modules=["query"]),
        LoRAMethod(rank=2, target_modules=["query"]),
        BitFitMethod(),
        LinearMethod(),
    ):
        adapted = apply_method(method, toy_model())
        trained = {n for n, p in adapted.module.named_parameters() if p.requires_grad}
        assert any("classifier" in n for n in trained), method.name
        assert not any("word_embeddings" in n for n in trained), method.name


def test_vpt_on_a_timm_vit():
    timm = pytest.importorskip("timm")
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, depth=2, num_classes=3)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = vit(images)
    adapted = apply_method(VPTMethod(num_prompts=3), TaskModel(vit, head_modules=["head"]))
    assert adapted.count.method == 2 * 3 * vit.embed_dim  # deep: P prompts of width D per block
    trained = {n for n, p in vit.named_parameters() if p.requires_grad}
    assert trained == {"visual_prompts.prompts", "head.weight", "head.bias"}
    with torch.no_grad():
        after = vit(images)
    assert after.shape == before.shape and not torch.allclose(after, before)
    tokens = []
    vit.blocks[1].register_forward_hook(lambda m, a, out: tokens.append(a[0].shape[1]))
    vit(images)
    assert tokens == [1 + 3 + 4]  # cls + prompts + 2×2 patches inside the blocks


def test_vpt_refuses_a_model_without_vit_blocks():
    with pytest.raises(ValueError, match=r"vpt needs a timm VisionTransformer"):
        apply_method(VPTMethod(), toy_model())


def test_no_weight_decay_on_biases_and_1d_parameters_and_own_head_lr():
    config = load_config(
        TOY, ["train.weight_decay=0.1", "train.head_lr=0.5", "train.head_weight_decay=0.2", "method.name=full"]
    )
    adapted = apply_method(config.method, toy_model())
    groups = {g["name"]: g for g in param_groups(adapted.module, adapted.head_param_ids, config.train)}
    assert set(groups) == {"method_decay", "method_no_decay", "head_decay", "head_no_decay"}
    assert all(p.ndim >= 2 for p in groups["method_decay"]["params"])
    assert all(p.ndim < 2 for p in groups["method_no_decay"]["params"])  # biases and LayerNorm scales
    assert (groups["method_decay"]["weight_decay"], groups["method_no_decay"]["weight_decay"]) == (0.1, 0.0)
    assert (groups["head_decay"]["lr"], groups["head_decay"]["weight_decay"]) == (0.5, 0.2)
    assert groups["head_no_decay"]["weight_decay"] == 0.0
    optimizer = build_optimizer(adapted.module, adapted.head_param_ids, config.train)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == sum(1 for _ in adapted.module.parameters())


def test_vision_schedule_per_epoch_with_warmup_from_1e7_to_min_1e6():
    config = load_config(
        TOY,
        [
            "train.scheduler=cosine",
            "train.schedule_unit=epoch",
            "train.warmup_ratio=0",
            "train.warmup_epochs=10",
            "train.warmup_start_lr=1e-7",
            "train.min_lr=1e-6",
            "train.lr=1e-3",
            "train.epochs=100",
        ],
    )
    schedule = build_schedule(config.train, updates_per_epoch=25, total_updates=2500)
    assert (schedule.total, schedule.warmup) == (100, 10)
    assert schedule.lr(1e-3, 0) == 1e-7
    assert schedule.lr(1e-3, 5) == pytest.approx(1e-7 + (1e-3 - 1e-7) / 2)
    assert schedule.lr(1e-3, 10) == pytest.approx(1e-3)
    assert schedule.lr(1e-3, 55) == pytest.approx(1e-6 + (1e-3 - 1e-6) / 2)
    assert schedule.lr(1e-3, 100) == pytest.approx(1e-6)


def test_step_schedule_warmup_ratio_rounds_up_like_transformers():
    config = load_config(TOY, ["train.warmup_ratio=0.06", "train.scheduler=linear"])
    schedule = build_schedule(config.train, updates_per_epoch=10, total_updates=100)
    assert schedule.warmup == 6 and schedule.lr(1.0, 3) == 0.5 and schedule.lr(1.0, 53) == pytest.approx(0.5)
    config = load_config(TOY, ["train.warmup_ratio=0", "train.warmup_epochs=2"])
    assert build_schedule(config.train, updates_per_epoch=10, total_updates=100).warmup == 20


def test_params_percent_in_both_conventions():
    from gift_experiment_utils.methods import ParamCount

    # LLM-Adapters' LoRA (r = 32 on q, k, v, up, down) on LLaMA-7B: printed as 0.826 %, adapter / (backbone + adapter)
    count = ParamCount(method=56_098_816, head=0, backbone=6_738_415_616)
    assert round(count.method_percent_of_total, 3) == 0.826 and round(count.method_percent, 3) == 0.833
    assert count.to_dict()["method_percent_of_total"] == count.method_percent_of_total


def test_the_engine_hands_the_task_its_run_folder(tmp_path):
    from gift_experiment_utils.task import Task

    task = Task(load_config(TOY))
    with pytest.raises(RuntimeError, match="run_folder is not set"):
        task.output_folder("predictions")
    task.run_folder = tmp_path / "run"
    assert task.output_folder("predictions") == tmp_path / "run" / "predictions" and (tmp_path / "run").is_dir()
