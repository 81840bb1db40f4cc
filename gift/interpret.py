"""Look inside GIFT: its first projection as an r-way token-clustering head (docs/design.md#interpretability).

For a GIFT layer l with frozen weight W_l ∈ R^{d_out×d_in} and first projection φ ∈ R^{d_in×r}
(`generator.in_proj`), the r columns of

    C_l = W_l φ (+ b_in) ∈ R^{d_out×r}       (`centers="projection"`, the default: the paper's object)

score the tokens the layer produces, X_l ∈ R^{T×d_out}:  A_l = X_l C_l ∈ R^{T×r}. With a non-linear
generator block, `centers="generated"` uses G_l = block(W_l φ + b_in) instead (the matrix that multiplies
ψ x in the forward); the paper's claim is about W_l φ, so that stays the default.

Two token streams, `stage`:
    "pre"   the target layer's own output. For a ViT's `attn.proj`: the attention branch, before the residual.
    "post"  the residual stream once that branch is added, x + branch(x). timm blocks: block input +
            `drop_path1` output (so LayerScale is included); a target under a timm block's `mlp`: the block
            output; any other model: block input + target output (right for o_proj / c_proj style targets).
            The "block" is the module at the layer index in the target's name (`blocks.3`, `model.layers.3`).

Images: the patch tokens are the last h·w tokens of the sequence (h×w the patch grid of the input size);
CLS, register and prompt tokens (timm `num_prefix_tokens`, VPT prompts after CLS) come before them and are
dropped. Per layer, scores (B, r, h, w) → bilinear upsampling to the image → per-map min-max → optional
threshold (`soft_maps`); the hard segmentation is the argmax over the r clusters (`hard_segmentation`).
Text: per-token argmax at chosen layers, as coloured HTML (`token_cluster_html`) — a tool to look with.

Nothing here imports more than torch; PIL is imported by `prepare_image` only.
"""

from __future__ import annotations

import colorsys
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .layer import GIFTLinear, weight_out_in
from .targets import layer_index

STAGES = ("pre", "post")
CENTERS = ("projection", "generated")


# ---------------------------------------------------------------------------------------------- layers
def _root(model: nn.Module) -> nn.Module:
    """The module GIFT layer names are relative to: the backbone of a GIFTWrapper, else the model."""
    from .wrapper import GIFTWrapper

    return model.backbone if isinstance(model, GIFTWrapper) else model


def gift_layer_names(model: nn.Module, layers: Sequence[int | str] | None = None) -> list[str]:
    """Names of the GIFT layers to look at, in model order.

    `layers`: None for all; ints are layer (depth) indices as they appear in module names, negative ones count
    back from the deepest wrapped layer (-1 = last); strings are full names or name suffixes (`attn.proj`).
    """
    names = [name for name, module in _root(model).named_modules() if isinstance(module, GIFTLinear)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no GIFT layers; wrap it with a GIFTWrapper first.")
    if layers is None:
        return names
    depth_of = {name: layer_index(name, None) for name in names}
    depths = sorted({d for d in depth_of.values() if d is not None})
    chosen: set[str] = set()
    for wanted in layers:
        if isinstance(wanted, int):
            if wanted < 0 and -wanted <= len(depths):
                wanted = depths[wanted]
            hits = [n for n in names if depth_of[n] == wanted]
        else:
            hits = [n for n in names if n == wanted or n.endswith("." + wanted)]
        if not hits:
            raise ValueError(
                f"layers entry {wanted!r} matches no GIFT layer. Wrapped depths: {depths}; names such as {names[:3]}."
            )
        chosen.update(hits)
    return [n for n in names if n in chosen]


def cluster_centers(
    model: nn.Module, names: Sequence[str], *, centers: str = "projection", slice_index: int = 0
) -> dict[str, tuple[slice, torch.Tensor]]:
    """Per layer (output rows, C_l ∈ R^{d_out_s×r}), at least float32; rows select the slice of a fused layer.

    `slice_index` picks one enabled slice of a fused projection (timm `attn.qkv` with enable_gift);
    a plain target has exactly one, covering all outputs.
    """
    if centers not in CENTERS:
        raise ValueError(f"centers={centers!r} is not one of {list(CENTERS)}.")
    root, result = _root(model), {}
    for name in names:
        layer = root.get_submodule(name)
        if layer.merged:
            raise ValueError(
                f"GIFT layer {name!r} is merged, so its weight is Ŵ, not the pretrained W of C = W φ. "
                "Call model.unmerge() first."
            )
        if not 0 <= slice_index < len(layer._slices):
            raise ValueError(f"slice_index={slice_index}, but {name!r} has {len(layer._slices)} GIFT slice(s).")
        rows, generator = layer._slices[slice_index]
        weight = weight_out_in(layer.base_layer)[rows]  # W_l: (d_out_s, d_in)
        with torch.no_grad():
            first = generator.in_proj(weight.to(generator.dtype))  # W_l φ + b_in: (d_out_s, r)
            center = first if centers == "projection" else generator.block(first)
        result[name] = (rows, center.to(torch.promote_types(center.dtype, torch.float32)))
    return result


# ---------------------------------------------------------------------------------------------- tokens
def _block_name(name: str) -> str:
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[: i + 1])
    raise ValueError(
        f"stage='post' needs the block around {name!r}, found by a layer index in the name (blocks.3, layers.3); "
        "this name has none. Use stage='pre'."
    )


def _store(records: dict, key: tuple, module: nn.Module, args: tuple, kwargs_or_output: Any) -> None:
    """Hook body: keep the block input (a pre-hook with kwargs) or the module output (a forward hook)."""
    if key[1] == "input":  # the first positional argument, else the first tensor passed by keyword
        value = args[0] if args else next(v for v in kwargs_or_output.values() if isinstance(v, torch.Tensor))
    else:
        value = kwargs_or_output
    value = value[0] if isinstance(value, tuple) else value
    records.setdefault(key, []).append(value.detach())


def _hooks(root: nn.Module, name: str, stage: str, records: dict) -> list:
    """Hooks whose records sum to the tokens of `stage` (see the module docstring): the output of a branch and,
    for "post", the input of the block around it (none where the branch is the whole block)."""
    branch, block = root.get_submodule(name), None
    if stage == "post":
        block_name = _block_name(name)
        block = root.get_submodule(block_name)
        child = name[len(block_name) + 1 :].split(".")[0]
        if hasattr(block, "drop_path1") and child == "mlp":  # timm: x + mlp branch is the block output
            branch, block = block, None
        elif hasattr(block, "drop_path1") and child == "attn":
            branch = block.drop_path1
    handles = [branch.register_forward_hook(partial(_store, records, (name, "branch")))]
    if block is not None:
        handles.append(block.register_forward_pre_hook(partial(_store, records, (name, "input")), with_kwargs=True))
    return handles


def capture_tokens(
    model: nn.Module, inputs: Any, names: Sequence[str], *, stage: str = "pre"
) -> tuple[dict[str, torch.Tensor], Any]:
    """Run `model(inputs)` (`model(**inputs)` for a mapping) once and return ({name: (B, T, d)}, output)."""
    if stage not in STAGES:
        raise ValueError(
            f"stage={stage!r} is not one of {list(STAGES)}: 'pre' (the layer output) or 'post' (after the residual)."
        )
    root, records, handles = _root(model), {}, []
    try:
        for name in names:
            handles.extend(_hooks(root, name, stage, records))
        with torch.no_grad():
            output = model(**inputs) if isinstance(inputs, Mapping) else model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    tokens = {}
    for name in names:
        parts = [records.get((name, kind), []) for kind in ("input", "branch")]
        if any(len(p) > 1 for p in parts) or not parts[1]:
            raise ValueError(f"GIFT layer {name!r} ran {len(parts[1])} times in one forward; expected once.")
        if parts[0] and parts[0][0].shape != parts[1][0].shape:
            raise ValueError(
                f"stage='post': the block around {name!r} takes tokens of shape {tuple(parts[0][0].shape)} but the "
                f"target outputs {tuple(parts[1][0].shape)}, so there is no residual sum. 'post' is for targets that "
                "end a residual branch (timm attn.proj, o_proj, c_proj); use stage='pre'."
            )
        tokens[name] = parts[1][0] if not parts[0] else parts[0][0] + parts[1][0]
    return tokens, output


@dataclass
class ClusterScores:
    """A_l = X_l C_l for every chosen layer: `scores[name]` is (B, T, r) over all T tokens of the sequence."""

    stage: str
    scores: dict[str, torch.Tensor]
    output: Any  # what the model returned (logits)


def cluster_scores(
    model: nn.Module,
    inputs: Any,
    *,
    layers: Sequence[int | str] | None = None,
    stage: str = "pre",
    centers: str = "projection",
    slice_index: int = 0,
) -> ClusterScores:
    """Run the model once and score every token of each chosen GIFT layer against its r cluster centres."""
    names = gift_layer_names(model, layers)
    heads = cluster_centers(model, names, centers=centers, slice_index=slice_index)
    tokens, output = capture_tokens(model, inputs, names, stage=stage)
    scores = {}
    for name in names:
        rows, center = heads[name]
        x = tokens[name]  # (B, T, d)
        dtype = torch.promote_types(x.dtype, center.dtype)  # at least float32; float64 stays float64
        if stage == "pre":
            x = x[..., rows]  # a fused layer's slice: its own output columns
        elif x.shape[-1] != center.shape[0] or center.shape[0] != _root(model).get_submodule(name).d_out:
            raise ValueError(
                f"stage='post': the residual stream around {name!r} is {x.shape[-1]} wide, but C has "
                f"{center.shape[0]} rows of the layer's {_root(model).get_submodule(name).d_out} outputs. 'post' needs "
                "a whole target whose output joins the residual (attn.proj, o_proj); use stage='pre'."
            )
        scores[name] = x.to(dtype) @ center.to(dtype)  # (B, T, d) @ (d, r) -> (B, T, r)
    return ClusterScores(stage=stage, scores=scores, output=output)


# ---------------------------------------------------------------------------------------------- images
def patch_grid(model: nn.Module, image_size: tuple[int, int]) -> tuple[int, int]:
    """(h, w) patch grid of a timm ViT for an input of `image_size` = (H, W)."""
    patch_embed = getattr(_root(model), "patch_embed", None)
    if patch_embed is None:
        raise ValueError(f"{type(_root(model)).__name__} has no patch_embed; pass grid=(h, w) explicitly.")
    if hasattr(patch_embed, "dynamic_feat_size"):
        return tuple(patch_embed.dynamic_feat_size(image_size))
    return tuple(patch_embed.grid_size)


def to_patch_grid(scores: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(B, T, r) token scores → (B, r, h, w): the last h·w tokens are the patches, any before them are dropped."""
    h, w = grid
    if scores.shape[1] < h * w:
        raise ValueError(f"{scores.shape[1]} tokens cannot hold a {h}×{w} patch grid.")
    patches = scores[:, scores.shape[1] - h * w :]  # CLS / registers / prompts come first
    return patches.transpose(1, 2).reshape(scores.shape[0], -1, h, w)


def image_cluster_scores(
    model: nn.Module,
    images: torch.Tensor,
    *,
    layers: Sequence[int | str] | None = None,
    stage: str = "pre",
    centers: str = "projection",
    grid: tuple[int, int] | None = None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """({layer name: (B, r, h, w) patch scores}, logits) for a batch of normalised images (B, 3, H, W)."""
    result = cluster_scores(model, images, layers=layers, stage=stage, centers=centers)
    grid = grid or patch_grid(model, tuple(images.shape[-2:]))
    return {name: to_patch_grid(s, grid) for name, s in result.scores.items()}, result.output


def soft_maps(scores: torch.Tensor, size: tuple[int, int], *, threshold: float | None = None) -> torch.Tensor:
    """(B, r, h, w) scores → (B, r, H, W) in [0, 1]: bilinear upsampling, min-max per map, then values
    at or below `threshold` set to 0 (the original figures used 0.5). A constant map becomes all zeros."""
    maps = F.interpolate(scores.float(), size=size, mode="bilinear", align_corners=False)
    low = maps.amin(dim=(-2, -1), keepdim=True)
    span = maps.amax(dim=(-2, -1), keepdim=True) - low
    maps = torch.where(span > 0, (maps - low) / span.clamp_min(torch.finfo(maps.dtype).tiny), torch.zeros_like(maps))
    if threshold is not None:
        maps = maps.where(maps > threshold, torch.zeros_like(maps))
    return maps


def hard_segmentation(scores: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, r, h, w) scores → (B, H, W) cluster index: argmax over r of the bilinearly upsampled raw scores.

    Raw, not min-max normalised: normalising each map on its own would change which cluster wins."""
    return F.interpolate(scores.float(), size=size, mode="bilinear", align_corners=False).argmax(dim=1)


def prepare_image(
    image: Any,
    *,
    size: tuple[int, int],
    mean: Sequence[float],
    std: Sequence[float],
    resize: int | tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(normalised (3, H, W) float tensor, (H, W, 3) uint8 image as shown) for an input of `size` = (H, W).

    `image`: a PIL image, an (H, W[, C]) uint8 array or a (3, H, W) tensor in [0, 1]. `resize`: the shorter side
    to this many pixels (int), or exactly (H, W) (a tuple), or None for the smallest resize that covers `size`;
    then a centre crop to `size` (bicubic, like timm's and torchvision's evaluation transforms)."""
    import numpy as np
    from PIL import Image

    if isinstance(image, torch.Tensor):
        if image.is_floating_point():
            image = (image.clamp(0, 1) * 255).round().byte()
        image = image.permute(1, 2, 0).cpu().numpy()
    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image))
    image = image.convert("RGB")
    height, width = size
    if isinstance(resize, tuple):
        new_height, new_width = resize
    else:
        scale = max(height / image.height, width / image.width) if resize is None else resize / min(image.size)
        new_height, new_width = round(image.height * scale), round(image.width * scale)
    if new_height < height or new_width < width:
        raise ValueError(
            f"resize={resize} gives {new_height}×{new_width} pixels, smaller than the crop {height}×{width}."
        )
    resized = image.resize((new_width, new_height), Image.BICUBIC)
    top, left = (new_height - height) // 2, (new_width - width) // 2
    shown = torch.from_numpy(np.array(resized.crop((left, top, left + width, top + height))))  # (H, W, 3) uint8
    pixels = shown.permute(2, 0, 1).float() / 255  # (3, H, W) in [0, 1]
    normalised = (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    return normalised, shown


# ---------------------------------------------------------------------------------------------- colours and text
def cluster_colors(
    count: int, *, lightness: float = 0.55, saturation: float = 0.75
) -> list[tuple[float, float, float]]:
    """`count` distinct RGB colours in [0, 1], hues a golden angle apart so neighbouring indices differ."""
    return [colorsys.hls_to_rgb((k * 0.381966) % 1.0, lightness, saturation) for k in range(count)]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def token_cluster_html(
    model: nn.Module,
    tokenizer: Any,
    text: str,
    *,
    layers: Sequence[int | str] | None = None,
    stage: str = "pre",
    centers: str = "projection",
) -> str:
    """A standalone HTML page: `text` once per chosen layer, each token coloured by its argmax cluster over
    A_l = X_l C_l (hover for the cluster and its score). For language models; no claim attached."""
    inputs = tokenizer(text, return_tensors="pt")
    device = next(model.parameters()).device
    inputs = {key: value.to(device) for key, value in inputs.items()}
    result = cluster_scores(model, inputs, layers=layers, stage=stage, centers=centers)
    ids = inputs["input_ids"][0].tolist()
    pieces = [tokenizer.decode([i]) for i in ids]
    rank = next(iter(result.scores.values())).shape[-1]
    colors = [_hex(c) for c in cluster_colors(rank, lightness=0.8, saturation=0.7)]
    sections = []
    for name, scores in result.scores.items():
        best = scores[0].max(dim=-1)  # per token: (score, cluster)
        spans = "".join(
            f'<span style="background:{colors[k]}" title="cluster {k}, score {s:.3g}">'
            f"{html.escape(piece).replace(chr(10), '↵<br>')}</span>"
            for piece, s, k in zip(pieces, best.values.tolist(), best.indices.tolist())
        )
        sections.append(f"<h3>{html.escape(name)}</h3>\n<p class=tokens>{spans}</p>")
    legend = "".join(f'<span style="background:{c}">{k}</span> ' for k, c in enumerate(colors))
    return (
        "<!doctype html>\n<html><head><meta charset=utf-8><title>GIFT token clusters</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        ".tokens{font-family:monospace;white-space:pre-wrap;line-height:1.8}"
        ".tokens span{border-radius:3px;padding:1px 0;margin-right:1px}</style></head><body>\n"
        f"<h2>GIFT token clusters (stage={stage}, centers={centers}, r={rank})</h2>\n"
        "<p>Each token is coloured by argmax<sub>k</sub> (X<sub>l</sub> C<sub>l</sub>)<sub>k</sub>. "
        f"Clusters: {legend}</p>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
