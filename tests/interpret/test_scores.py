"""A_l = X_l C_l from `gift.interpret` against a direct computation from W, φ and independently hooked tokens."""

from __future__ import annotations

import pytest
import torch

from gift import GIFTConfig
from gift.interpret import (
    capture_tokens,
    cluster_centers,
    cluster_scores,
    gift_layer_names,
    hard_segmentation,
    image_cluster_scores,
    soft_maps,
    to_patch_grid,
)

RANK = 8  # the default of the make_vit fixture (conftest.py)
CASES = {  # name: (timm kwargs, VPT prompts, input (H, W), tokens before the patches)
    "cls": ({}, 0, (224, 224), 1),
    "registers_non_square": ({"reg_tokens": 4, "dynamic_img_size": True}, 0, (160, 224), 5),
    "vpt_deep_prompts": ({}, 3, (224, 224), 1 + 3),
}


def direct_tokens(model, images, stage):
    """X_l per block, hooked here without gift.interpret: attn.proj output, or x + ls1(attn(norm1(x)))."""
    tokens, handles = {}, []
    for index, block in enumerate(model.backbone.blocks):
        if stage == "pre":
            hook = lambda m, args, out, i=index: tokens.__setitem__(i, out)  # noqa: E731
            handles.append(block.attn.proj.register_forward_hook(hook))
        else:

            def hook(m, args, i=index):  # registered after VPT's hook: sees the sequence with the prompts
                x = args[0]
                tokens[i] = x + m.ls1(m.attn(m.norm1(x)))

            handles.append(block.register_forward_pre_hook(hook))
    with torch.no_grad():
        logits = model(images)
    for handle in handles:
        handle.remove()
    return tokens, logits


@pytest.fixture(scope="module")
def case_models(make_vit):
    return {case: make_vit(prompts=prompts, **kwargs).double() for case, (kwargs, prompts, _, _) in CASES.items()}


@pytest.mark.parametrize("stage", ["pre", "post"])
@pytest.mark.parametrize("case", list(CASES))
def test_scores_equal_direct_computation(case_models, case, stage):
    _, _, size, prefix = CASES[case]
    model = case_models[case]
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    tokens, logits = direct_tokens(model, images, stage)
    scores, output = image_cluster_scores(model, images, stage=stage)
    h, w = size[0] // 16, size[1] // 16
    assert list(scores) == [f"blocks.{i}.attn.proj" for i in range(2)]
    for index, block in enumerate(model.backbone.blocks):
        weight = block.attn.proj.base_layer.weight  # W: (d_out, d_in)
        phi = model.gift_generators["attn:proj"].in_proj.weight.T  # φ: (d_in, r)
        x = tokens[index]
        assert x.shape[1] == prefix + h * w
        expected = x[:, prefix:] @ (weight @ phi)  # (B, h·w, r), patches in row-major order
        expected = expected.reshape(2, h, w, RANK).permute(0, 3, 1, 2)
        torch.testing.assert_close(scores[f"blocks.{index}.attn.proj"], expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(output, logits)


def test_patch_grid_is_row_major_on_a_non_square_grid(make_vit):
    """Top half black, bottom half white, no position embedding: within each half every patch is the same
    token, so the maps are constant per half and the split lies between patch rows 4 and 5 of 10."""
    model = make_vit(dynamic_img_size=True)
    with torch.no_grad():
        model.backbone.pos_embed.zero_()
    images = torch.full((1, 3, 160, 224), -1.0)
    images[..., 80:, :] = 1.0
    scores, _ = image_cluster_scores(model, images, stage="post", layers=[0])
    grid = scores["blocks.0.attn.proj"][0]  # (r, 10, 14)
    assert grid.shape == (RANK, 10, 14)
    top, bottom = grid[:, :5], grid[:, 5:]
    for half in (top, bottom):
        torch.testing.assert_close(half, half[:, :1, :1].expand_as(half), rtol=1e-4, atol=1e-5)
    assert (top[:, 0, 0] - bottom[:, 0, 0]).abs().max() > 1e-3
    segment = hard_segmentation(scores["blocks.0.attn.proj"], (160, 224))[0]
    assert (segment[:70] == segment[0, 0]).all() and (segment[90:] == segment[-1, -1]).all()


def test_centers_and_fused_slices(make_vit):
    """enable_gift on timm's fused qkv: slice s scores its own output columns against W_s φ_s."""
    config = GIFTConfig(rank=RANK, target_modules=["attn:qkv"], enable_gift={"attn:qkv": [True, False, True]})
    model = make_vit(config=config)
    name = "blocks.1.attn.qkv"
    layer = model.backbone.get_submodule(name)
    captured, _ = capture_tokens(model, torch.randn(1, 3, 224, 224), [name])
    for slice_index, rows in ((0, slice(0, 192)), (1, slice(384, 576))):
        centers = cluster_centers(model, [name], slice_index=slice_index)
        generator = layer.generators[slice_index]
        torch.testing.assert_close(centers[name][1], layer.base_layer.weight[rows] @ generator.in_proj.weight.T)
        assert centers[name][0] == rows
    scores = cluster_scores(model, torch.randn(1, 3, 224, 224), layers=[name]).scores[name]
    assert scores.shape == (1, 197, RANK)
    with pytest.raises(ValueError, match="'post' needs a whole target"):
        cluster_scores(model, torch.randn(1, 3, 224, 224), layers=[name], stage="post")


def test_post_for_an_mlp_target_is_the_block_output(make_vit):
    model = make_vit(config=GIFTConfig(rank=RANK, target_modules=["mlp:fc2"]))
    outputs = {}
    handle = model.backbone.blocks[1].register_forward_hook(lambda m, args, out: outputs.__setitem__("block", out))
    tokens, _ = capture_tokens(model, torch.randn(1, 3, 224, 224), ["blocks.1.mlp.fc2"], stage="post")
    handle.remove()
    torch.testing.assert_close(tokens["blocks.1.mlp.fc2"], outputs["block"], rtol=0, atol=0)


def test_generated_centers_apply_the_block(make_vit):
    config = GIFTConfig(rank=RANK, target_modules=["attn:proj"], gift_parameters={"block_type": "mlp"})
    model = make_vit(config=config)
    layer = model.backbone.blocks[0].attn.proj
    generator = layer.generators[0]
    projection = cluster_centers(model, ["blocks.0.attn.proj"])["blocks.0.attn.proj"][1]
    generated = cluster_centers(model, ["blocks.0.attn.proj"], centers="generated")["blocks.0.attn.proj"][1]
    torch.testing.assert_close(projection, layer.base_layer.weight @ generator.in_proj.weight.T)
    torch.testing.assert_close(generated, generator.generated_b(layer.base_layer.weight))


def test_layer_selection_and_errors(vit):
    names = gift_layer_names(vit)
    assert names == ["blocks.0.attn.proj", "blocks.1.attn.proj"]
    assert gift_layer_names(vit, [-1]) == ["blocks.1.attn.proj"]
    assert gift_layer_names(vit, ["blocks.0.attn.proj", 1]) == names
    with pytest.raises(ValueError, match="Wrapped depths: \\[0, 1\\]"):
        gift_layer_names(vit, [7])
    with pytest.raises(ValueError, match="stage='middle' is not one of"):
        cluster_scores(vit, torch.randn(1, 3, 224, 224), stage="middle")
    vit.merge()
    try:
        with pytest.raises(ValueError, match="is merged"):
            cluster_scores(vit, torch.randn(1, 3, 224, 224))
    finally:
        vit.unmerge()


def test_maps_and_segmentation_of_a_photograph(vit):
    """Real photograph (scikit-image's chelsea): maps at the image size, in [0, 1], none constant."""
    from skimage import data

    from gift.interpret import prepare_image

    normalised, shown = prepare_image(data.chelsea(), size=(224, 224), mean=(0.5,) * 3, std=(0.5,) * 3)
    assert normalised.shape == (3, 224, 224) and shown.shape == (224, 224, 3) and shown.dtype == torch.uint8
    torch.testing.assert_close(normalised, (shown.permute(2, 0, 1).float() / 255 - 0.5) / 0.5)
    for stage in ("pre", "post"):
        scores, _ = image_cluster_scores(vit, normalised[None], stage=stage)
        for name, layer_scores in scores.items():
            maps = soft_maps(layer_scores, (224, 224))
            assert maps.shape == (1, RANK, 224, 224)
            assert torch.allclose(maps.amin(dim=(-2, -1)), torch.zeros(1, RANK))
            assert torch.allclose(maps.amax(dim=(-2, -1)), torch.ones(1, RANK))
            assert (maps.flatten(2).std(dim=-1) > 0.05).all(), f"a flat map at {name} ({stage})"
            kept = soft_maps(layer_scores, (224, 224), threshold=0.5)
            assert ((kept == 0) | (kept > 0.5)).all() and torch.equal(kept > 0, maps > 0.5)
            segment = hard_segmentation(layer_scores, (224, 224))
            assert segment.shape == (1, 224, 224) and segment.min() >= 0 and segment.max() < RANK
    post, _ = image_cluster_scores(vit, normalised[None], stage="post", layers=[0])
    assert hard_segmentation(post["blocks.0.attn.proj"], (224, 224)).unique().numel() >= 2


def test_to_patch_grid_drops_leading_tokens():
    scores = torch.arange(2 * 7 * 3, dtype=torch.float32).reshape(2, 7, 3)  # 1 prefix + a 2×3 grid, r = 3
    grid = to_patch_grid(scores, (2, 3))
    assert grid.shape == (2, 3, 2, 3)
    torch.testing.assert_close(grid[0, 1], scores[0, 1:, 1].reshape(2, 3))


def test_import_gift_stays_light():
    """`import gift` loads neither timm nor matplotlib, and gift.interpret adds no image library."""
    import subprocess
    import sys

    code = (
        "import sys, gift; before = set(sys.modules); import gift.interpret; "
        "added = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "heavy = {'timm', 'matplotlib', 'PIL', 'skimage'}; "
        "assert not heavy & ({m.split('.')[0] for m in sys.modules} & {'timm', 'matplotlib'} | added), added"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
