"""Resumable checkpoints, written atomically: a temporary file in the same folder, fsync, then os.replace.

`last.pt` holds everything a run needs to continue exactly where it stopped:

    trainable   the trained parameters only (θ / adapter / head; the frozen backbone is rebuilt from its source)
    optimizer   AdamW state keyed by parameter name
    state       `progress`: updates done, epoch and micro-batch within it (the lr and the data order are functions
                of them and the seed), best validation score so far, wall time; world size, GradScaler state
    rng         python / numpy / torch / cuda generator states of every process

`best.pt` holds the trainable parameters at the best validation score. Model and optimizer state go through
torch.distributed.checkpoint's state-dict API, so the same code serves one process, DDP and FSDP.

Checkpoints hold only tensors, numbers, strings and containers (the RNG states are converted to them), and
are read with `torch.load(weights_only=True)`: a file planted in a run folder cannot run code when a run
resumes. A damaged, foreign or older file is refused with a one-line ValueError that names it.
"""

from __future__ import annotations

import os
import pickle
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
from torch.serialization import get_unsafe_globals_in_checkpoint

# 2: RNG states as tensors and lists, read with weights_only=True (1 pickled numpy's state: weights_only=False).
FORMAT_VERSION = 2
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
    fd = os.open(path.parent, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_state() -> dict[str, Any]:
    """Python / numpy / torch / cuda generator states as tensors, lists and numbers (loadable with weights_only)."""
    version, words, gauss_next = random.getstate()
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state = {
        "python": {"version": version, "words": list(words), "gauss_next": gauss_next},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),  # (624,) uint32 words, held as int64
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    python = state["python"]
    random.setstate((python["version"], tuple(python["words"]), python["gauss_next"]))
    numpy_state = {**state["numpy"], "keys": state["numpy"]["keys"].numpy().astype(np.uint32)}
    np.random.set_state(tuple(numpy_state[key] for key in ("kind", "keys", "position", "has_gauss", "cached_gaussian")))
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
    """A checkpoint of this engine, loaded with weights_only=True; anything else is a one-line ValueError."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as err:  # torch.load fails in many ways on a damaged file: EOF, zip, OS and unpickling errors
        raise ValueError(_unreadable(Path(path), err)) from err
    version = checkpoint.get("version") if isinstance(checkpoint, dict) else None
    if not isinstance(version, int):
        raise ValueError(f"{path} is not a checkpoint of gift_experiment_utils (no format version); {_remedy(path)}.")
    if version < FORMAT_VERSION:
        raise ValueError(_older(path, version))
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format {version}, written by a newer version; this code reads {FORMAT_VERSION}. "
            "Resume it with the newer release."
        )
    return checkpoint


def _remedy(path: Path) -> str:
    if Path(path).name == "last.pt":
        return "delete it to restart the run from scratch"
    return f"delete {Path(path).parent} to redo the run from scratch"  # best.pt: the best weights cannot be rebuilt


def _older(path: Path, version: int) -> str:
    return (
        f"{path} was written by an older version of gift_experiment_utils (checkpoint format {version}; this code "
        f"reads {FORMAT_VERSION}); {_remedy(path)}, or finish the run with the older release."
    )


def _unreadable(path: Path, err: Exception) -> str:
    """Why torch.load(weights_only=True) failed: an older format, objects outside the allowlist, or damage."""
    try:  # disassembles the pickle without running it
        unsafe = sorted(get_unsafe_globals_in_checkpoint(path))
    except Exception:  # not even a readable torch.save archive: reported below as damage
        unsafe = []
    if unsafe and all(name.startswith("numpy.") for name in unsafe):
        return _older(path, 1)  # format 1 pickled numpy's RNG state
    if unsafe:
        return (
            f"{path} holds objects no checkpoint of gift_experiment_utils contains ({', '.join(unsafe[:5])}); it was "
            f"not loaded, since unpickling them could run code; {_remedy(path)}."
        )
    if isinstance(err, pickle.UnpicklingError):
        reason = "not a torch.save archive of tensors, numbers and containers"
    else:
        first = (str(err).strip().splitlines() or ["no message"])[0].split(". ")[0]  # torch's first sentence
        reason = f"{type(err).__name__}: {first[:120]}"
    return f"{path} is damaged or incomplete ({reason}); {_remedy(path)}."


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
    model_state = dict(checkpoint["trainable"])  # copies: loading may add keys to the dicts it is given
    set_state_dict(
        model, optimizer, model_state_dict=model_state, optim_state_dict=optimizer_state, options=_LOAD_OPTIONS
    )
