"""Fine-tuning methods by name, applied to the same backbone so that only the adapter differs.

    gift    the library in `gift/`: θ = (φ, ψ) per target type, backbone frozen
    lora    PEFT LoRA (rank, alpha, dropout, targets), backbone frozen
    bitfit  biases only (all biases, or those of nn.Linear layers)
    vpt     deep visual prompts for a timm ViT (see vpt.py)
    full    every parameter
    linear  the task head only

The task head (`TaskModel.head_modules`) trains with every method. Parameters are counted one way for
all of them: `method` = trainable parameters outside the head (θ, LoRA A/B, biases, prompts, the whole
backbone for `full`), `backbone` = the backbone's own parameters without the head, before any adapter.

Each method exports its trained adapter to <run>/adapter/ and loads it back (evaluate-only runs):

    gift                  gift_config.json + gift_model.safetensors   (GIFTWrapper.save_pretrained / io.load_adapter)
    lora                  PEFT's adapter_config.json + adapter_model.safetensors, and trainable.safetensors
    bitfit vpt full linear  trainable.safetensors: every trained tensor (head included) by parameter name
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save
from torch import nn

from gift.config import CONFIG_KEYS
from gift.io import atomic_write, load_adapter, read_config

from .config import BitFitMethod, Config, GIFTMethod, LoRAMethod, MethodSection, VPTMethod
from .task import TaskModel

TRAINABLE_FILE = "trainable.safetensors"
# The file that marks each kind of exported adapter; methods not listed write TRAINABLE_FILE only.
ADAPTER_MARKERS = {"gift": "gift_config.json", "lora": "adapter_config.json"}


@dataclass(frozen=True)
class ParamCount:
    method: int  # trainable, outside the head
    head: int  # trainable head parameters
    backbone: int  # backbone parameters without the head (the denominator of the paper's "Params %")

    @property
    def method_percent(self) -> float:
        return 100.0 * self.method / self.backbone if self.backbone else 0.0

    @property
    def method_percent_of_total(self) -> float:
        """Of the adapted model, adapter / (backbone + adapter): how LLM-Adapters, DoRA and LoReFT print the
        LLM tables' Params % (0.826 % for their LoRA on LLaMA-7B, 0.832 % of the backbone alone)."""
        total = self.backbone + self.method
        return 100.0 * self.method / total if total else 0.0

    def to_dict(self) -> dict[str, float]:
        percents = {"method_percent": self.method_percent, "method_percent_of_total": self.method_percent_of_total}
        return {**asdict(self), **percents, "trainable": self.method + self.head}


@dataclass
class AdaptedModel:
    module: nn.Module  # what the loop trains and evaluates
    head_param_ids: set[int]  # id() of the head's parameters, for the optimizer's head group
    count: ParamCount
    export: Callable[[nn.Module, Path], None]  # write the trained adapter in its library's format
    load: Callable[[nn.Module, Path], None]  # read what `export` wrote back into the module (every key checked)


def head_parameters(module: nn.Module, head_modules: list[str]) -> list[nn.Parameter]:
    params: list[nn.Parameter] = []
    for name in head_modules:
        try:
            params += list(module.get_submodule(name).parameters())
        except AttributeError:
            children = [n for n, _ in module.named_children()]
            raise ValueError(
                f"TaskModel.head_modules entry {name!r} is not a submodule; top-level modules: {children}."
            ) from None
    return params


def apply_method(method: MethodSection, task_model: TaskModel) -> AdaptedModel:
    """Freeze/adapt `task_model.module` as `method` says; count parameters before and after."""
    backbone = task_model.module
    head = head_parameters(backbone, task_model.head_modules)
    head_ids = {id(p) for p in head}
    backbone_count = sum(p.numel() for p in backbone.parameters() if id(p) not in head_ids)
    module = _BUILDERS[method.name](method, task_model)
    export, load = _SAVERS.get(method.name, (_save_trainable, _load_trainable))
    for param in head:
        param.requires_grad_(True)
    trainable = [p for p in module.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"method.name={method.name!r} left no parameter to train; check method.target_modules.")
    count = ParamCount(
        method=sum(p.numel() for p in trainable if id(p) not in head_ids),
        head=sum(p.numel() for p in trainable if id(p) in head_ids),
        backbone=backbone_count,
    )
    return AdaptedModel(module=module, head_param_ids=head_ids, count=count, export=export, load=load)


def _save_trainable(module: nn.Module, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: p.detach().cpu().clone().contiguous() for name, p in module.named_parameters() if p.requires_grad}
    atomic_write(folder / TRAINABLE_FILE, save(state))


def _load_trainable(module: nn.Module, folder: Path) -> None:
    """Every trainable parameter from trainable.safetensors, by name; a missing, extra or mis-shaped one is named."""
    path = folder / TRAINABLE_FILE
    if not path.is_file():
        raise ValueError(f"{path} does not exist; eval.adapter needs an adapter/ folder that a run exported.")
    loaded = load_file(str(path))
    expected = {name: p for name, p in module.named_parameters() if p.requires_grad}
    missing, extra = sorted(set(expected) - set(loaded)), sorted(set(loaded) - set(expected))
    wrong = [k for k in expected if k in loaded and loaded[k].shape != expected[k].shape]
    if missing or extra or wrong:
        shapes = [f"{k}: {tuple(loaded[k].shape)} saved, {tuple(expected[k].shape)} here" for k in wrong[:3]]
        raise ValueError(
            f"The adapter in {folder} does not fit this model and method: missing {missing[:5]} ({len(missing)}), "
            f"extra {extra[:5]} ({len(extra)}), other shapes {shapes}. It was saved by another method or backbone; "
            "evaluate it with the config of the run that saved it (--config <run>/config.yaml)."
        )
    with torch.no_grad():
        for name, param in expected.items():
            param.copy_(loaded[name].to(device=param.device, dtype=param.dtype))


# ---------------------------------------------------------------------------------------------- saved adapters
def adapter_folder(path: str | Path) -> Path:
    """`path` when it holds an exported adapter, else `<path>/adapter` (a run folder)."""
    path = Path(path)
    return path / "adapter" if (path / "adapter").is_dir() else path


def saved_kind(folder: Path) -> str | None:
    """ "gift", "lora" or "trainable" (bitfit / vpt / full / linear): what `export` wrote there; None if nothing."""
    for kind, marker in ADAPTER_MARKERS.items():
        if (folder / marker).is_file():
            return kind
    return "trainable" if (folder / TRAINABLE_FILE).is_file() else None


def check_adapter(config: Config) -> Path:
    """The folder `eval.adapter` names, checked against `method` and `model` before anything loads.

    The kind of adapter must be the method's; when the folder is a run's adapter/, the run's config.yaml must
    name the same method and backbone. The loaders then check every tensor name and shape (`AdaptedModel.load`).
    """
    from .tracking import flatten, read_yaml

    folder = adapter_folder(config.eval.adapter)
    kind, method = saved_kind(folder) if folder.is_dir() else None, config.method.name
    if kind is None:
        files = ", ".join([*ADAPTER_MARKERS.values(), TRAINABLE_FILE])
        raise ValueError(
            f"Config key 'eval.adapter': {config.eval.adapter} holds no exported adapter (none of {files} in "
            f"{folder}). Give a run folder or its adapter/ folder (written with checkpoint.export=true)."
        )
    wanted = method if method in ADAPTER_MARKERS else "trainable"
    if kind != wanted:
        raise ValueError(
            f"Config key 'eval.adapter': {folder} holds a {kind} adapter, but method.name={method!r} loads a "
            f"{wanted} one. Evaluate it with the config of the run that saved it (--config <run>/config.yaml)."
        )
    run_config = folder.parent / "config.yaml"
    if folder.name == "adapter" and run_config.is_file():
        saved = flatten(read_yaml(run_config))
        ours = {"method.name": method, "model.name": config.model.name}
        differ = [f"{k}: {saved.get(k)!r} there, {v!r} here" for k, v in ours.items() if saved.get(k) != v]
        if differ:
            raise ValueError(
                f"Config key 'eval.adapter': the adapter in {folder} belongs to another experiment "
                f"({'; '.join(differ)}). Evaluate it with --config {run_config}, or set those keys to match."
            )
    return folder


def adapter_fingerprint(folder: Path) -> str:
    """SHA-256 over the adapter's files (names and bytes), for results.json: which weights were evaluated."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------- builders
def _gift(method: GIFTMethod, task_model: TaskModel) -> nn.Module:
    import gift

    wrappers = {
        "base": gift.GIFTWrapper,
        "causal_lm": gift.GIFTWrapperForCausalLM,
        "seq_cls": gift.GIFTWrapperForSeqClassification,
        "image_cls": gift.GIFTWrapperForImageClassification,
    }
    wrapper = wrappers[task_model.gift_wrapper]
    return wrapper(method.gift_config(), task_model.module, head_modules=task_model.head_modules)


def _load_gift(module: nn.Module, folder: Path) -> None:
    """The library's load path (θ and head, every key and layer shape checked), after comparing the GIFT configs."""
    saved, head_modules = read_config(folder)
    theirs, ours = saved.to_dict(), module.gift_config.to_dict()
    differ = [
        f"method.{k}: {theirs.get(k)!r} saved, {ours.get(k)!r} here"
        for k in CONFIG_KEYS
        if theirs.get(k) != ours.get(k)
    ]
    if list(head_modules) != list(module.head_modules):
        differ.append(f"head modules: {head_modules} saved, {list(module.head_modules)} here")
    _refuse_other_config("GIFT", folder, differ)
    load_adapter(module, folder)


def _lora(method: LoRAMethod, task_model: TaskModel) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    targets = (
        [t.replace(":", ".") for t in method.target_modules]
        if isinstance(method.target_modules, list)
        else method.target_modules
    )
    config = LoraConfig(
        r=method.rank,
        lora_alpha=method.alpha,
        lora_dropout=method.dropout,
        target_modules=targets,
        layers_to_transform=method.layers_to_transform,
        bias="none",
    )
    return get_peft_model(task_model.module, config)  # freezes everything but A and B


def _load_lora(module: nn.Module, folder: Path) -> None:
    """PEFT's adapter_config.json must agree on r, alpha, targets (alpha does not show in any shape); A, B and the
    head then come from trainable.safetensors, by name."""
    import json

    saved = json.loads((folder / ADAPTER_MARKERS["lora"]).read_text())
    config = module.peft_config["default"]  # the LoraConfig the model was built with
    ours = {key: getattr(config, key) for key in ("r", "lora_alpha", "target_modules", "layers_to_transform")}
    differ = [
        f"{k}: {_plain(saved.get(k))!r} saved, {_plain(v)!r} here"
        for k, v in ours.items()
        if _plain(saved.get(k)) != _plain(v)
    ]
    _refuse_other_config("LoRA", folder, differ)
    _load_trainable(module, folder)


def _plain(value: object) -> object:
    """PEFT writes target_modules as a list in any order (a set inside PEFT); compare them as sorted lists."""
    return sorted(value) if isinstance(value, (list, set, tuple)) else value


def _refuse_other_config(kind: str, folder: Path, differ: list[str]) -> None:
    if differ:
        raise ValueError(
            f"The {kind} adapter in {folder} was saved with another configuration ({'; '.join(differ)}). "
            "Evaluate it with the config of the run that saved it (--config <run>/config.yaml)."
        )


def _save_peft(module: nn.Module, folder: Path) -> None:
    module.save_pretrained(folder)  # A and B in PEFT's format
    _save_trainable(module, folder)  # and the head, which PEFT does not save


def _bitfit(method: BitFitMethod, task_model: TaskModel) -> nn.Module:
    model = task_model.module.requires_grad_(False)
    for module in model.modules():
        if method.scope == "linear" and not isinstance(module, nn.Linear):
            continue
        bias = getattr(module, "bias", None)
        if isinstance(bias, nn.Parameter):
            bias.requires_grad_(True)
    return model


def _vpt(method: VPTMethod, task_model: TaskModel) -> nn.Module:
    from .vpt import add_visual_prompts

    model = task_model.module.requires_grad_(False)
    add_visual_prompts(model, num_prompts=method.num_prompts, deep=method.deep, dropout=method.dropout)
    return model


_BUILDERS: dict[str, Callable[[MethodSection, TaskModel], nn.Module]] = {
    "gift": _gift,
    "lora": _lora,
    "bitfit": _bitfit,
    "vpt": _vpt,
    "full": lambda method, task_model: task_model.module.requires_grad_(True),
    "linear": lambda method, task_model: task_model.module.requires_grad_(False),  # the head trains: apply_method
}
# (export, load) of the methods with a library format; every other method: trainable.safetensors
_SAVERS: dict[str, tuple[Callable[[nn.Module, Path], None], Callable[[nn.Module, Path], None]]] = {
    "gift": (lambda module, folder: module.save_pretrained(folder), _load_gift),
    "lora": (_save_peft, _load_lora),
}
