"""The ViT backbone of every vision task: a timm model by name, a fresh head sized to the dataset.

    build_vit("vit_base_patch16_224.augreg_in21k", num_classes=200, options=task_config)

Pretrained weights come from the hub (timm's `pretrained=True`, cached by huggingface_hub) or, on an
offline cluster, from a local file (`task.weights_file`: .safetensors / .bin / .pth, or Google's original
.npz). Either way the 21,843-way IN-21k head is dropped and a new `head` (Linear D → num_classes) is drawn
from the run's seed. Input normalisation is the pretrained config's (mean = std = 0.5 for augreg IN-21k).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

VIT_B16_IN21K = "vit_base_patch16_224.augreg_in21k"  # the paper's backbone (85.8 M parameters without head)


@dataclass
class BackboneOptions:
    """Fields shared by the `task:` sections of the vision domains (the model name is `model.name`)."""

    pretrained: bool = True  # load the pretrained weights (hub, or weights_file); false: random init (tests)
    weights_file: str | None = None  # local pretrained weights instead of the hub; needs pretrained: true
    drop_path_rate: float = 0.1  # stochastic depth, as in the paper
    image_size: int = 224  # network input (square); timm adapts the position embedding if it differs
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # more timm kwargs (e.g. a tiny ViT for tests)

    def check_backbone(self) -> None:
        if self.weights_file is not None and not self.pretrained:
            raise ValueError(
                "Config key 'task.weights_file' is set but task.pretrained=false; set "
                "task.pretrained=true to load it, or task.weights_file=null for random weights."
            )
        if not 0.0 <= self.drop_path_rate < 1.0:
            raise ValueError(f"Config key 'task.drop_path_rate': must be in [0, 1), got {self.drop_path_rate}.")
        if self.image_size < 8:
            raise ValueError(f"Config key 'task.image_size': must be >= 8 pixels, got {self.image_size}.")


def check_model_name(name: str) -> None:
    """Fail before anything loads when `model.name` is not a timm model."""
    import timm

    if not name:
        raise ValueError(f"Config key 'model.name' is empty; give a timm model name, e.g. {VIT_B16_IN21K}.")
    architecture = name.split(".", 1)[0]
    if not timm.is_model(architecture):
        import difflib

        close = difflib.get_close_matches(architecture, timm.list_models("vit_*"), n=3)
        raise ValueError(f"Config key 'model.name': {name!r} is not a timm model. Close: {close}.")


def normalization(model_name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) of the model's pretrained config; known without building the model."""
    import timm

    cfg = timm.models.get_pretrained_cfg(model_name)
    if cfg is None:
        raise ValueError(f"Config key 'model.name': timm has no pretrained config for {model_name!r}.")
    return tuple(cfg.mean), tuple(cfg.std)


def build_vit(model_name: str, *, num_classes: int, options: BackboneOptions) -> nn.Module:
    """A timm ViT with a new `num_classes`-way head; pretrained weights from the hub or `options.weights_file`."""
    import timm

    kwargs: dict[str, Any] = {
        "num_classes": num_classes,
        "drop_path_rate": options.drop_path_rate,
        "img_size": options.image_size,
        **options.model_kwargs,
    }
    if options.pretrained and options.weights_file is not None:
        path = Path(options.weights_file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Config key 'task.weights_file': {path} does not exist.")
        # Google's .npz needs timm's own loader (custom_load); state-dict files go through the usual filter.
        kwargs["pretrained_cfg_overlay"] = {"file": str(path), "custom_load": path.suffix == ".npz"}
    model = timm.create_model(model_name, pretrained=options.pretrained, **kwargs)
    if not isinstance(getattr(model, "head", None), nn.Linear):
        raise ValueError(
            f"model.name={model_name!r}: expected a timm ViT whose classifier is `head` (nn.Linear), "
            f"got {type(getattr(model, 'head', None)).__name__}."
        )
    return model
