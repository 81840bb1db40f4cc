"""The backbone builder (fresh head, local weights file, errors) and the image sources for figures."""

from __future__ import annotations

import pytest
import torch
from vision_data import TINY_VIT

from gift_experiment_utils.domains.vision.backbone import BackboneOptions, build_vit, normalization
from gift_experiment_utils.domains.vision.sources import config_images, split_images, split_pairs
from gift_experiment_utils.loading import config_to_yaml, load_config

TINY = {"patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2}


def test_local_weights_file_loads_everything_but_the_head(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    source = build_vit(
        "vit_tiny_patch16_224",
        num_classes=1000,
        options=BackboneOptions(pretrained=False, image_size=32, model_kwargs=TINY),
    )
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    options = BackboneOptions(pretrained=True, weights_file=str(path), image_size=32, model_kwargs=TINY)
    model = build_vit("vit_tiny_patch16_224", num_classes=7, options=options)
    loaded, original = model.state_dict(), source.state_dict()
    assert all(torch.equal(loaded[k], original[k]) for k in original if not k.startswith("head."))
    assert model.head.weight.shape == (7, 32)


def test_backbone_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="task.weights_file"):
        build_vit("vit_tiny_patch16_224", num_classes=3, options=BackboneOptions(weights_file=str(tmp_path / "no.npz")))
    with pytest.raises(ValueError, match="task.pretrained=false"):
        load_config("configs/vision/fgvc/gift.yaml", ["task.pretrained=false", "task.weights_file=w.safetensors"])
    with pytest.raises(ValueError, match="'model.name'.*not a timm model"):
        load_config("configs/vision/fgvc/gift.yaml", ["model.name=vit_bass_patch16_224"])
    with pytest.raises(ValueError, match="task.tfds_versions"):
        load_config("configs/vision/vtab/gift.yaml", ["task.tfds_versions={cifar10: 3.0.2}"])
    assert normalization("vit_base_patch16_224.augreg_in21k") == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def test_drop_path_reaches_the_blocks():
    model = build_vit(
        "vit_tiny_patch16_224",
        num_classes=3,
        options=BackboneOptions(pretrained=False, image_size=32, model_kwargs=TINY),
    )
    assert model.blocks[-1].drop_path1.drop_prob == pytest.approx(0.1)  # stochastic depth, 0 → 0.1 over depth


def test_split_images_filter_and_limit(fgvc_cub):
    records = list(split_images("fgvc", "cub", "train", root=str(fgvc_cub), classes=[3, 17]))
    assert {r.label for r in records} == {3, 17} and all(r.image.mode == "RGB" for r in records)
    assert len(list(split_images("fgvc", "cub", "test", root=str(fgvc_cub), limit=2))) == 2
    image, label = next(iter(split_pairs(benchmark="fgvc", name="cub", split="val", root=str(fgvc_cub))))
    assert image.mode == "RGB" and isinstance(label, int)
    with pytest.raises(ValueError, match="choose one of"):
        next(split_images("fgvc", "cub", "train800", root=str(fgvc_cub)))


def test_split_images_vtab(mock_vtab, vtab_folder):
    tfds_records = list(split_images("vtab", "smallnorb_azi", "val200", root="/nowhere", limit=3))
    assert len(tfds_records) == 3 and tfds_records[0].identifier == "smallnorb_azi/val200/0"
    folder = list(split_images("vtab", "dtd", "test", root=str(vtab_folder), source="folder"))
    assert len(folder) == 6 and folder[0].identifier.startswith("images/test/")


def test_config_images_reads_a_runs_data(fgvc_cub, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        config_to_yaml(load_config("configs/vision/fgvc/gift.yaml", [*TINY_VIT, f"task.root={fgvc_cub}"]))
    )
    records = list(config_images(str(config), "test", classes=[0, 1, 2, 3, 4, 5, 6, 7]))
    assert records and all(r.label < 8 for r in records)
