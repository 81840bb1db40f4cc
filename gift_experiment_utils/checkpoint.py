"""Resumable checkpoints, written atomically: a temporary file in the same folder, fsync, then os.replace.

`last.pt` holds everything a run needs to continue exactly where it stopped:

    trainable   the trained parameters only (θ / adapter / head; the frozen backbone is rebuilt from its source)
    optimizer   AdamW state keyed by parameter name
    schedule    step and epoch counters the lr is a function of
    position    epoch and micro-batch within it (the data order is a function of seed and epoch)
    rng         python / numpy / torch / cuda generator states of every process
    extra       best validation score so far, wall time, GradScaler state, world size

`best.pt` holds the trainable parameters at the best validation score. Model and optimizer state go through
torch.distributed.checkpoint's state-dict API, so the same code serves one process, DDP and FSDP.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_model_state_dict,
    set_state_dict,
)

FORMAT_VERSION = 1
_SAVE_OPTIONS = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=True)
_LOAD_OPTIONS = StateDictOptions(full_state_dict=True, strict=False)


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to `path` so that `path` is either the old complete file or the new complete file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Trained parameters by name (full tensors on the CPU; empty on non-zero ranks under FSDP)."""
    return get_model_state_dict(model, options=_SAVE_OPTIONS)


def save_last(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    state: dict[str, Any],
    rngs: list[dict[str, Any]],
    is_main: bool,
) -> None:
    """Every process must call this (state dicts may be gathered); the main process writes."""
    model_state, optimizer_state = get_state_dict(model, optimizer, options=_SAVE_OPTIONS)
    if is_main:
        atomic_save(
            {
                "version": FORMAT_VERSION,
                "trainable": model_state,
                "optimizer": optimizer_state,
                "state": state,
                "rng": rngs,
            },
            path,
        )


def save_best(path: Path, model: nn.Module, *, state: dict[str, Any], is_main: bool) -> None:
    model_state = trainable_state_dict(model)
    if is_main:
        atomic_save({"version": FORMAT_VERSION, "trainable": model_state, "state": state}, path)


def read(path: Path) -> dict[str, Any]:
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)  # our own files: RNG states are pickled
    if checkpoint.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format {checkpoint.get('version')}, this code reads {FORMAT_VERSION}.")
    return checkpoint


def _check_keys(model: nn.Module, trainable: dict[str, torch.Tensor]) -> None:
    current = trainable_state_dict(model)  # empty on non-zero FSDP ranks: the main process checks
    if current and set(current) != set(trainable):
        missing, extra = sorted(set(current) - set(trainable)), sorted(set(trainable) - set(current))
        raise ValueError(
            f"Checkpoint does not match the model: missing {missing[:5]}, unexpected {extra[:5]}. "
            "Was it written by a run with another method or model? Start a new run folder."
        )


def load_trainable(model: nn.Module, trainable: dict[str, torch.Tensor]) -> None:
    _check_keys(model, trainable)
    set_model_state_dict(model, dict(trainable), options=_LOAD_OPTIONS)  # a copy: loading may add keys to it


def load_last(checkpoint: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    _check_keys(model, checkpoint["trainable"])
    optimizer_state = {**checkpoint["optimizer"], "state": dict(checkpoint["optimizer"]["state"])}
    set_state_dict(  # copies: loading may add keys to the dicts it is given
        model,
        optimizer,
        model_state_dict=dict(checkpoint["trainable"]),
        optim_state_dict=optimizer_state,
        options=_LOAD_OPTIONS,
    )
