"""Token-clustering figures for a GIFT-tuned timm ViT: where each column of C_l = W_l φ fires on an image.

    python scripts/visual_classification/visualize.py ADAPTER_OR_RUN_DIR --out DIR    (or: python -m gift_experiment_utils.domains.vision.visualize)
        (--images DIR [--labels SPLIT.json] | --split test | --dataset MODULE:FUNCTION [--dataset-arg KEY=VALUE ...])
        [--classes 3,17] [--only all|correct|incorrect] [--max-images 20] [--transform crop|fgvc|vtab]
        [--model NAME] [--backbone-weights hub|random|FILE] [--layers all|0,5,-1] [--clusters all|0-7]
        [--stage pre|post|both] [--threshold 0.5] [--colormap jet] [--centers projection|generated]

ADAPTER_OR_RUN_DIR: a `GIFTWrapper.save_pretrained` directory (gift_config.json + gift_model.safetensors),
or a run directory with one below it (`<run>/adapter/`; `best` then `last` preferred when there are several).
The backbone is rebuilt from the run's config.yaml where there is one (`load_config`, then the vision tasks'
own builder `vision.backbone.build_vit` with the run's `model.name` and `task:` options), else from --model;
--backbone-weights overrides (hub = timm pretrained, random = seeded random init, or a local weights file). The class count is the saved
head's. Per image and stage, `figures/<name>_<stage>.png` has one row per layer: the image, one overlay per
cluster (scores upsampled, min-max normalised, optionally thresholded) and the argmax segmentation over all r
clusters, coloured like the cluster titles; `index.html` lists them with label, prediction and correctness.
The math is in `gift.interpret`.

Image sources. An image is a PIL image, an (H, W[, 3]) uint8 array or a (3, H, W) float tensor in [0, 1],
*as stored* (this tool resizes, crops and normalises it, so the overlays line up with what is shown):
  * --images DIR: every image below DIR; with --labels, the entries of a {relative path: class id} JSON split
    file (the VPT/TOAST FGVC format), labelled, so --classes and --only apply.
  * --split SPLIT (a run directory only): that split of the data the run trained on, read through
    `gift_experiment_utils.domains.vision.sources.config_images(<run>/config.yaml, SPLIT, classes=...)`.
  * --dataset MODULE:FUNCTION: FUNCTION(**dataset-args) returns either an image source (`len(source)` and
    `source.record(i)` → (image, label, identifier), as gift_experiment_utils.domains.vision sources do) or any
    iterable of (image, label) or (image, label, identifier) tuples, e.g.
    `--dataset gift_experiment_utils.domains.vision.sources:split_images --dataset-arg benchmark=fgvc
    --dataset-arg name=cub --dataset-arg split=test --dataset-arg root=data/fgvc/CUB_200_2011`.
    `records_source` turns either into `Sample`s; this is the one place a dataset plugs in.
--transform is the resize before the centre crop to the model's S×S input: fgvc = resize to 256/224·S then
crop (the FGVC evaluation), vtab = resize to S×S, crop = shorter side to S. By default a run's own (from
experiment.domain), else crop; correctness filters are only meaningful with the transform the run evaluated with.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import importlib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from gift import GIFTWrapperForImageClassification
from gift.interpret import (
    CENTERS,
    STAGES,
    cluster_colors,
    gift_layer_names,
    hard_segmentation,
    image_cluster_scores,
    prepare_image,
    soft_maps,
)
from gift.io import CONFIG_NAME, WEIGHTS_NAME, read_config
from gift.targets import layer_index

from ...config import Config
from ...loading import load_config
from .backbone import BackboneOptions, build_vit
from .common import resize_for

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
PANEL_PX, LEFT_PX, TOP_PX, DPI = 112, 28, 52, 100  # a panel (default); room for row labels; for title + column titles
OVERLAY_ALPHA, SEGMENT_ALPHA = 0.5, 0.6
TRANSFORMS = {  # name -> the `resize` argument of prepare_image for an S×S input (then a centre crop to S×S)
    "crop": lambda size: None,  # shorter side to S: the most of the image a square crop can show
    "fgvc": resize_for,  # the paper's FGVC evaluation: Resize 256 → CenterCrop 224 (256/224 × S)
    "vtab": lambda size: (size, size),  # VTAB: resize to S×S, aspect not kept
}


# ---------------------------------------------------------------------------------------------- image sources
@dataclass(frozen=True)
class Sample:
    name: str  # names the figure files
    image: Any  # PIL image, (H, W[, 3]) uint8 array or (3, H, W) float tensor in [0, 1]
    label: int | None = None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "image"


class FolderImages:
    """An image source over a folder: every image below `root`, or the entries of a split JSON file."""

    def __init__(self, root: str | Path, labels_file: str | Path | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"--images {self.root} is not a directory.")
        if labels_file is not None:
            entries = json.loads(Path(labels_file).read_text())
            if not isinstance(entries, dict):
                raise ValueError(f"--labels {labels_file} must hold a JSON object {{relative image path: class id}}.")
            self.items = [(path, int(label)) for path, label in entries.items()]
        else:
            paths = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not paths:
                raise FileNotFoundError(f"--images {self.root} holds no image ({', '.join(sorted(IMAGE_SUFFIXES))}).")
            self.items = [(p.relative_to(self.root).as_posix(), None) for p in paths]

    def __len__(self) -> int:
        return len(self.items)

    def record(self, index: int) -> tuple[Any, int | None, str]:
        from PIL import Image

        relative, label = self.items[index]
        if not (self.root / relative).is_file():
            raise FileNotFoundError(f"{self.root / relative} (listed in --labels) does not exist.")
        with Image.open(self.root / relative) as image:
            return image.convert("RGB"), label, relative


def records_source(records: Any) -> Iterator[Sample]:
    """Samples from an image source (`len` + `record(i)`) or an iterable of (image, label[, identifier])."""
    if hasattr(records, "record") and hasattr(records, "__len__"):
        records = map(records.record, range(len(records)))
    for index, (image, label, *identifier) in enumerate(records):
        name = _safe(str(Path(str(identifier[0])).with_suffix(""))) if identifier else f"sample_{index:05d}"
        yield Sample(name, image, None if label is None else int(label))


def dataset_records(spec: str, arguments: Sequence[str]) -> Any:
    """Call "package.module:function" with the KEY=VALUE `arguments` (values parsed as JSON where they parse)."""
    module_name, _, function_name = spec.partition(":")
    if not function_name:
        raise ValueError(f"--dataset {spec!r}: give MODULE:FUNCTION, e.g. mypackage.data:test_split.")
    function = getattr(importlib.import_module(module_name), function_name)
    kwargs = {}
    for argument in arguments:
        key, sep, value = argument.partition("=")
        if not sep:
            raise ValueError(f"--dataset-arg {argument!r}: write KEY=VALUE.")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return function(**kwargs)


# ---------------------------------------------------------------------------------------------- the model
def find_adapter_dir(path: str | Path) -> Path:
    """`path` itself when it holds a saved adapter, else the one adapter below it (best, then last, preferred)."""
    path = Path(path)
    if (path / CONFIG_NAME).is_file():
        return path
    found = sorted(p.parent for p in path.rglob(CONFIG_NAME) if (p.parent / WEIGHTS_NAME).is_file())
    for preferred in ("best", "last"):
        matching = [p for p in found if preferred in p.relative_to(path).parts]
        if len(matching) == 1:
            return matching[0]
    if len(found) == 1:
        return found[0]
    listing = ", ".join(str(p) for p in found[:6]) or "none"
    raise FileNotFoundError(
        f"{path} is not a saved GIFT adapter ({CONFIG_NAME} + {WEIGHTS_NAME}) and holds no single one below it "
        f"(found: {listing}). Pass the adapter directory itself."
    )


def run_config_file(path: Path, adapter_dir: Path) -> Path | None:
    """The nearest config.yaml from the adapter up to `path`: the run's resolved config, if this is a run."""
    for folder in [adapter_dir, *adapter_dir.parents]:
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
        if folder == path:
            break
    return None


def saved_num_classes(adapter_dir: Path) -> int | None:
    """Output size of the saved classifier head (`head.<module>.weight`), None when no head was saved."""
    from safetensors import safe_open

    _, heads = read_config(adapter_dir)
    with safe_open(str(adapter_dir / WEIGHTS_NAME), framework="pt") as tensors:
        saved = set(tensors.keys())
        for head in heads:
            if f"head.{head}.weight" in saved:
                return tensors.get_slice(f"head.{head}.weight").get_shape()[0]
    return None


def load_model(args: argparse.Namespace, adapter_dir: Path, config: Config | None) -> GIFTWrapperForImageClassification:
    """The timm backbone (the run's config and the flags) with the saved adapter loaded, in eval mode."""
    name = args.model or (config.model.name if config is not None else None)
    if not name:
        raise ValueError(f"No config.yaml with model.name above {adapter_dir}; pass --model (a timm model name).")
    options = backbone_options(config, args.backbone_weights)
    num_classes = args.num_classes or saved_num_classes(adapter_dir) or _pretrained_classes(name)
    torch.manual_seed(0)  # `random` gives the same backbone on every call
    backbone = build_vit(name, num_classes=num_classes, options=options)
    model = GIFTWrapperForImageClassification.from_pretrained(backbone, adapter_dir)
    return model.to(args.device).eval()


def _pretrained_classes(name: str) -> int:
    """The head size of the pretrained model (no head was saved with the adapter)."""
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    return getattr(cfg, "num_classes", None) or 1000


def backbone_options(config: Config | None, weights: str | None) -> BackboneOptions:
    """The run's backbone options (its `task:` section), or the defaults; `weights` (hub | random | a file)
    overrides where the pretrained weights come from."""
    options = config.task if isinstance(getattr(config, "task", None), BackboneOptions) else BackboneOptions()
    options = dataclasses.replace(options, drop_path_rate=0.0)  # evaluation only
    if weights is None:
        return options
    if weights in ("hub", "random"):
        return dataclasses.replace(options, pretrained=weights == "hub", weights_file=None)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--backbone-weights {path} does not exist; give hub, random or a weights file.")
    return dataclasses.replace(options, pretrained=True, weights_file=str(path))


def input_size(backbone: torch.nn.Module, data_config: dict[str, Any]) -> tuple[int, int]:
    """(H, W) the trained backbone takes: its patch embedding's size (what `task.image_size` built it with),
    else the pretrained config's. The pretrained config keeps saying 224 for a model made at another size."""
    size = getattr(getattr(backbone, "patch_embed", None), "img_size", None)  # timm keeps it as an (H, W) tuple
    return tuple(size) if size is not None else tuple(data_config["input_size"][1:])


# ---------------------------------------------------------------------------------------------- figures
def figure_size(num_rows: int, num_columns: int, panel: int = PANEL_PX) -> tuple[int, int]:
    """(width, height) of a figure PNG in pixels."""
    return LEFT_PX + num_columns * panel, TOP_PX + num_rows * panel


def _label_sheet(
    *, width: int, height: int, panel: int, title: str, columns: list[tuple[str, Any]], rows: list[str]
) -> Any:
    """A white (height, width, 3) uint8 picture holding only the title, column titles and row labels."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    figure.text(0.5, 1 - 8 / height, title, ha="center", va="top", fontsize=10)
    for column, (text, colour) in enumerate(columns):
        x, y = (LEFT_PX + (column + 0.5) * panel) / width, (panel * len(rows) + 4) / height
        figure.text(x, y, text, ha="center", va="bottom", fontsize=9, color=colour, fontweight="bold")
    for row, text in enumerate(rows):
        x, y = 0.5 * LEFT_PX / width, panel * (len(rows) - row - 0.5) / height
        figure.text(x, y, text, rotation=90, ha="center", va="center", fontsize=9)
    figure.canvas.draw()
    return np.array(figure.canvas.buffer_rgba())[..., :3]


def render_figure(
    shown: torch.Tensor,
    scores: dict[str, torch.Tensor],
    *,
    clusters: Sequence[int],
    colormap: str,
    threshold: float | None,
    title: str,
    path: Path,
    panel: int = PANEL_PX,
) -> None:
    """Rows = layers; columns = the image, one overlay per cluster in `clusters`, the argmax segmentation.

    shown: (H, W, 3) uint8; scores[layer]: (1, r, h, w) patch scores, drawn as `soft_maps` (thresholded at
    `threshold`) and `hard_segmentation` at H×W. The panels are composed as pixels (fast); matplotlib draws only
    the labels."""
    import torch.nn.functional as F
    from matplotlib import colormaps
    from PIL import Image

    def shrink(t: torch.Tensor, mode: str) -> torch.Tensor:  # (..., H, W) -> (..., P, P): the panel size
        extra = {"antialias": True, "align_corners": False} if mode == "bilinear" else {}
        return F.interpolate(t[None].float(), size=(panel, panel), mode=mode, **extra)[0]

    size = tuple(shown.shape[:2])
    image = shrink(shown.permute(2, 0, 1), "bilinear").permute(1, 2, 0).clamp(0, 255) / 255  # (P, P, 3)
    rank = next(iter(scores.values())).shape[1]
    palette, cmap = torch.tensor(cluster_colors(rank)), colormaps[colormap]  # palette (r, 3): also the column titles
    rows = []
    for layer_scores in scores.values():
        chosen = soft_maps(layer_scores, size, threshold=threshold)[0].cpu()[list(clusters)]  # (k, H, W) in [0, 1]
        # Thresholded maps are 0 where hidden: shrink the visible part alone (a normalised average), so the
        # hidden zeros do not bleed into the colours along the edges. visible (k, P, P): the fraction of each
        # panel pixel above the threshold, which scales the overlay's opacity (1 without a threshold).
        if threshold is None:
            visible, shrunk = torch.ones(len(clusters), panel, panel), shrink(chosen, "bilinear")
        else:
            visible = shrink((chosen > 0).float(), "bilinear")
            shrunk = shrink(chosen, "bilinear") / visible.clamp_min(1e-6)
        segment = shrink(hard_segmentation(layer_scores, size)[0].cpu()[None], "nearest")[0].long()  # (P, P)
        colours = torch.from_numpy(cmap(shrunk.clamp(0, 1).numpy())[..., :3]).float()  # (k, P, P, 3)
        alpha = (OVERLAY_ALPHA * visible.clamp(0, 1))[..., None]
        overlays = (1 - alpha) * image + alpha * colours
        segmentation = (1 - SEGMENT_ALPHA) * image + SEGMENT_ALPHA * palette[segment]
        rows.append(torch.cat([image, *overlays, segmentation], dim=1))  # (P, columns·P, 3)
    canvas = (torch.cat(rows).clamp(0, 1) * 255).round().byte()  # (rows·P, columns·P, 3)

    width, height = figure_size(len(scores), len(clusters) + 2, panel)
    columns = [("image", "black"), *((f"c{c}", tuple(0.8 * palette[c].numpy())) for c in clusters), ("argmax", "black")]
    depths = [layer_index(layer, None) for layer in scores]
    row_labels = [f"layer {layer if depth is None else depth}" for layer, depth in zip(scores, depths)]
    pixels = _label_sheet(width=width, height=height, panel=panel, title=title, columns=columns, rows=row_labels)
    pixels[TOP_PX:, LEFT_PX:] = canvas.numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, compress_level=4)


def write_index(out: Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> Path:
    """index.html: the settings, then one row per image: name, label, prediction, its figures stacked."""
    body = []
    for row in rows:
        figures = "".join(
            f'<p class=stage>{stage} residual</p><a href="{html.escape(path)}">'
            f'<img src="{html.escape(path)}" loading=lazy></a>'
            for stage, path in row["figures"].items()
        )
        verdict = "" if row["correct"] is None else (" ✓" if row["correct"] else " ✗")
        label = "–" if row["label"] is None else row["label"]
        body.append(
            f"<tr><td class=info><b>{html.escape(row['name'])}</b><br>label {label}<br>"
            f"prediction {row['prediction']}{verdict}</td><td>{figures}</td></tr>"
        )
    settings_html = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in settings.items())
    page = (
        "<!doctype html>\n<html><head><meta charset=utf-8><title>GIFT token clusters</title><style>"
        "body{font-family:sans-serif;margin:1em}td{vertical-align:top;padding:6px;border-top:1px solid #ccc}"
        ".info{width:10em}img{max-width:100%}.stage{margin:4px 0;color:#555}</style></head><body>\n"
        "<h2>GIFT token clusters: A<sub>l</sub> = X<sub>l</sub> W<sub>l</sub> φ</h2>\n"
        f"<ul>{settings_html}</ul>\n<table>\n" + "\n".join(body) + "\n</table></body></html>\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# ---------------------------------------------------------------------------------------------- the run
def parse_indices(text: str) -> list[int] | None:
    """'all' → None; '0,5,-1' → [0, 5, -1]; '0-3,8' → [0, 1, 2, 3, 8]."""
    if text.strip().lower() == "all":
        return None
    indices: list[int] = []
    for part in text.split(","):
        span = re.fullmatch(r"\s*(\d+)-(\d+)\s*", part)
        try:
            indices.extend(range(int(span[1]), int(span[2]) + 1) if span else [int(part)])
        except ValueError:
            message = f"{text!r}: write 'all' or integers and ranges, e.g. '0,5,-1' or '0-7'."
            raise argparse.ArgumentTypeError(message) from None
    return indices


def _colormap(name: str) -> str:
    from matplotlib import colormaps

    if name not in colormaps:
        raise argparse.ArgumentTypeError(f"unknown colormap {name!r}; try jet, viridis, inferno, turbo or magma.")
    return name


def _threshold(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{value} is outside [0, 1): the maps are min-max normalised to [0, 1].")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="a saved GIFT adapter directory, or a run directory holding one")
    parser.add_argument("--out", required=True, type=Path, help="output directory (figures/ and index.html)")
    source = parser.add_argument_group("images: one source, then filters")
    source.add_argument("--images", type=Path, help="a folder of images (searched recursively)")
    source.add_argument("--labels", type=Path, help="with --images: a split JSON {relative path: class id}")
    source.add_argument("--split", help="with a run directory: this split (e.g. test) of the run's own dataset")
    source.add_argument("--dataset", help="MODULE:FUNCTION returning an image source or (image, label) tuples")
    source.add_argument("--dataset-arg", action="append", default=[], metavar="KEY=VALUE", help="for --dataset")
    source.add_argument("--classes", type=parse_indices, default=None, help="keep these labels only, e.g. 3,17")
    source.add_argument("--only", choices=("all", "correct", "incorrect"), default="all", help="by prediction")
    source.add_argument("--max-images", type=int, default=None, help="stop after this many images drawn")
    source.add_argument(
        "--transform", choices=tuple(TRANSFORMS), help="resize before the centre crop (default: the run's, else crop)"
    )
    model = parser.add_argument_group("model")
    model.add_argument("--model", help="timm model name (default: model.name in the run's config.yaml)")
    model.add_argument("--backbone-weights", help="hub, random or a weights file (default: as the run was trained)")
    model.add_argument("--num-classes", type=int, default=None, help="head size (default: the saved head's)")
    model.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    model.add_argument("--batch-size", type=int, default=8)
    view = parser.add_argument_group("what to draw")
    view.add_argument("--layers", type=parse_indices, default=None, help="'all' or depths, e.g. 0,5,-1")
    view.add_argument("--clusters", type=parse_indices, default=None, help="'all' or indices, e.g. 0-7")
    view.add_argument("--stage", choices=(*STAGES, "both"), default="both", help="tokens before/after the residual")
    view.add_argument("--threshold", type=_threshold, default=None, help="hide map values <= this (paper: 0.5)")
    view.add_argument("--colormap", type=_colormap, default="jet")
    view.add_argument("--centers", choices=CENTERS, default="projection", help="C = W φ, or block(W φ)")
    view.add_argument("--panel-size", type=int, default=PANEL_PX, help="pixels per panel")
    return parser


def open_source(args: argparse.Namespace, config_file: Path | None) -> Any:
    """The image source named by the flags (checked before the model loads); `config_file`: the run's."""
    given = [flag for flag in ("--images", "--dataset", "--split") if getattr(args, flag[2:])]
    if len(given) != 1:
        raise ValueError(
            f"Give exactly one image source, not {given or 'none'}: --images DIR, --dataset MODULE:FUNCTION, "
            "or --split SPLIT (a split of the run's own dataset)."
        )
    if args.labels is not None and args.images is None:
        raise ValueError("--labels goes with --images (a split JSON of paths relative to that folder).")
    if args.images is not None:
        return FolderImages(args.images, args.labels)
    if args.dataset is not None:
        return dataset_records(args.dataset, args.dataset_arg)
    if config_file is None:
        raise ValueError(f"--split needs a run directory with a config.yaml; {args.path} has none. Use --images.")
    from gift_experiment_utils.domains.vision.sources import config_images

    return config_images(str(config_file), args.split, classes=args.classes)  # records of the run's own data


def filtered(samples: Iterable[Sample], classes: list[int] | None, only: str) -> Iterator[Sample]:
    for sample in samples:
        if sample.label is None and (classes is not None or only != "all"):
            flag = "--classes" if classes is not None else "--only"
            raise ValueError(
                f"{flag} needs labelled images and {sample.name!r} has none; add --labels or use --dataset."
            )
        if classes is None or sample.label in classes:
            yield sample


def visualize(
    model: torch.nn.Module, samples: Iterable[Sample], args: argparse.Namespace, progress: Any
) -> Iterator[dict[str, Any]]:
    """Draw the figures of the kept samples as they are asked for; yields one index row per image drawn."""
    import timm

    names = gift_layer_names(model, args.layers)
    rank = model.gift_config.rank
    clusters = list(range(rank)) if args.clusters is None else args.clusters
    if not all(0 <= c < rank for c in clusters):
        raise ValueError(f"--clusters {clusters}: indices must lie in 0..{rank - 1} (r = {rank}).")
    data = timm.data.resolve_data_config({}, model=model.backbone)
    size = input_size(model.backbone, data)
    resize = TRANSFORMS[args.transform](size[0])
    stages = STAGES if args.stage == "both" else (args.stage,)
    used: set[str] = set()
    samples = iter(samples)
    for batch in iter(lambda: list(islice(samples, args.batch_size)), []):  # lists of --batch-size samples
        prepared = [prepare_image(s.image, size=size, mean=data["mean"], std=data["std"], resize=resize) for s in batch]
        images = torch.stack([normalised for normalised, _ in prepared]).to(args.device)
        scores = {  # stage -> ({layer: (B, r, h, w)}, logits)
            stage: image_cluster_scores(model, images, layers=names, stage=stage, centers=args.centers)
            for stage in stages
        }
        predictions = scores[stages[0]][1].argmax(dim=-1).tolist()
        for i, sample in enumerate(batch):
            progress.update(1)
            correct = None if sample.label is None else predictions[i] == sample.label
            if args.only != "all" and correct != (args.only == "correct"):
                continue
            name = sample.name if sample.name not in used else f"{sample.name}_{len(used)}"
            used.add(name)
            figures = {}
            for stage in stages:
                figures[stage] = f"figures/{name}_{stage}.png"
                render_figure(
                    prepared[i][1],
                    {n: s[i : i + 1] for n, s in scores[stage][0].items()},  # (1, r, h, w) each
                    clusters=clusters,
                    colormap=args.colormap,
                    threshold=args.threshold,
                    title=f"{name} · {stage} residual · label {'–' if sample.label is None else sample.label} · "
                    f"prediction {predictions[i]}",
                    path=args.out / figures[stage],
                    panel=args.panel_size,
                )
            progress.set_postfix(drawn=len(used))
            yield dict(name=name, label=sample.label, prediction=predictions[i], correct=correct, figures=figures)


def main(argv: Sequence[str] | None = None) -> Path:
    from tqdm import tqdm

    args = build_parser().parse_args(argv)
    adapter_dir = find_adapter_dir(args.path)
    config_file = run_config_file(Path(args.path), adapter_dir)
    config = None if config_file is None else load_config(config_file)  # None for a bare adapter directory
    domain = config.experiment.domain if config else ""  # the run's evaluation transform, else crop
    args.transform = args.transform or {"vision.fgvc": "fgvc", "vision.vtab": "vtab"}.get(domain, "crop")
    records = open_source(args, config_file)  # a bad source fails before the model loads
    model = load_model(args, adapter_dir, config)
    samples = filtered(records_source(records), args.classes, args.only)
    total = len(records) if hasattr(records, "__len__") else None
    with tqdm(total=total, unit="image", desc="images read", file=sys.stderr) as progress:
        rows = list(islice(visualize(model, samples, args, progress), args.max_images))  # at most --max-images
    if not rows:
        print("No image was drawn: the source is empty or --classes / --only kept none.", file=sys.stderr)
    settings = {
        "adapter": adapter_dir,
        "model": args.model or model.backbone.pretrained_cfg.get("architecture", type(model.backbone).__name__),
        "layers": "all" if args.layers is None else args.layers,
        "clusters": "all" if args.clusters is None else args.clusters,
        "stage": args.stage,
        "threshold": args.threshold,
        "centers": args.centers,
        "transform": args.transform,
        "filters": f"classes={args.classes}, only={args.only}",
        "images drawn": len(rows),
    }
    index = write_index(args.out, rows, settings)
    print(f"{len(rows)} image(s) drawn → {index}")
    return index


if __name__ == "__main__":
    main()
