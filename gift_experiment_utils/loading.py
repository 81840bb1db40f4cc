"""Build a `Config` from layers: defaults → `_base.yaml` files → experiment YAML → dotted CLI overrides.

Rules
- `_base.yaml` files apply by folder: for `configs/vision/vtab/cifar.yaml`, `configs/_base.yaml`,
  `configs/vision/_base.yaml` and `configs/vision/vtab/_base.yaml` merge first, outermost first.
- `include: [path, ...]` in any YAML merges those files (paths relative to it) before the file itself.
- Dicts merge key by key; any other value replaces. A layer that sets `method.name` to another method
  starts the method section afresh, so a LoRA experiment on a GIFT `_base.yaml` keeps no GIFT keys.
- A relative `configs/...` path that does not exist under the current directory names the copy of the
  repository's configs/ that ships inside this package (`shipped_configs()`), so `gift-run --config
  configs/toy/gift.yaml` works from any directory once gift is installed.
- Overrides are `dotted.key=value`, the value parsed as YAML (`train.lr=2e-4`, `method.target_modules=[q,v]`).
- Everything is checked before anything loads: an unknown key names the key as typed, where it was set
  and the closest valid key; a wrong type or bad value names the key and what is allowed; a YAML syntax
  error names the file (or override), line and column.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import difflib
import functools
import importlib.resources
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from .config import METHODS, Config

Layer = tuple[str, dict[str, Any]]  # (where it came from, the values)


# ---------------------------------------------------------------------------------------------- reading
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: sweeps parse many configs


def shipped_configs() -> Path:
    """The configs/ tree inside the installed package (in a source checkout, a link to the repository's configs/)."""
    return Path(str(importlib.resources.files("gift_experiment_utils") / "configs"))


def find_config(path: str | Path) -> Path:
    """`path` itself if it exists; else a relative `configs/...` path names the shipped copy when that exists."""
    path = Path(path)
    if path.exists() or path.is_absolute() or path.parts[:1] != ("configs",):
        return path
    shipped = shipped_configs().joinpath(*path.parts[1:])
    return shipped if shipped.exists() else path


def missing_config(path: Path) -> FileNotFoundError:
    where = "" if path.is_absolute() else f" (relative to {Path.cwd()}; the shipped configs are in {shipped_configs()})"
    return FileNotFoundError(f"Config file {path} does not exist{where}.")


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise missing_config(path)
    return copy.deepcopy(_read_yaml_cached(path.resolve(), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=256)
def _read_yaml_cached(path: Path, mtime_ns: int) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_Loader) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path} {_yaml_problem(error)}. Fix the YAML syntax there.") from error
    if not isinstance(data, dict):
        raise ValueError(f"Config file {path} must hold a mapping of sections, got {type(data).__name__}.")
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML syntax error as `line L, column C: <problem>` (1-based, as editors count)."""
    mark = getattr(error, "problem_mark", None)
    position = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None:
        context = f"{context} from line {context_mark.line + 1}"
    return f"{position}{problem}{f' ({context})' if context else ''}"


def base_files(path: Path) -> list[Path]:
    """The `_base.yaml` files that apply to `path`, outermost first (up to the enclosing `configs/` folder)."""
    path = path.resolve()
    folders = [path.parent]
    root = next((p for p in path.parents if p.name == "configs"), None)
    if root is not None:
        folders = [p for p in path.parents if p == root or root in p.parents]
    found = [folder / "_base.yaml" for folder in reversed(folders)]
    return [p for p in found if p.is_file() and p != path]


def file_layers(path: Path, _seen: tuple[Path, ...] = ()) -> list[Layer]:
    """The layers of one YAML file: its includes (recursively), then its own values."""
    path = path.resolve()
    if path in _seen:
        raise ValueError(f"Config include cycle: {' -> '.join(str(p) for p in (*_seen, path))}.")
    data = read_yaml(path)
    includes = data.pop("include", []) or []
    includes = [includes] if isinstance(includes, str) else includes
    layers = [layer for include in includes for layer in file_layers(path.parent / include, (*_seen, path))]
    return [*layers, (str(path), data)]


def parse_override(text: str) -> Layer:
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ValueError(f"Override {text!r} is not of the form dotted.key=value (e.g. train.lr=2e-4).")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as error:
        raise ValueError(
            f"Override {text!r}: the value is not valid YAML ({_yaml_problem(error)}). Quote it, or write "
            "lists as [a,b] and mappings as {k: v}."
        ) from error
    for part in reversed(key.split(".")):  # a.b=1 -> {"a": {"b": 1}}
        value = {part: value}
    return f"override '{text}'", value


def config_layers(path: str | Path | None, overrides: list[str]) -> list[Layer]:
    layers: list[Layer] = []
    if path is not None:
        path = find_config(path)
        if not path.is_file():
            raise missing_config(path)
        for file in [*base_files(path), path]:
            layers += file_layers(file)
    return layers + [parse_override(text) for text in overrides]


# ---------------------------------------------------------------------------------------------- merging
def merge_layers(layers: list[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge layers in order; return the values and, for each dotted key, the layer that set it last."""
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    for origin, data in layers:
        method = data.get("method")
        if (
            isinstance(method, dict)
            and "name" in method
            and merged.get("method", {}).get("name") not in (None, method["name"])
        ):
            merged.pop("method")  # another method: start its section afresh
            source = {k: v for k, v in source.items() if not k.startswith("method.")}
        _merge_into(merged, data, origin, source, prefix="")
    return merged, source


def _merge_into(target: dict, data: dict, origin: str, source: dict[str, str], prefix: str) -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(target.get(key), dict) and value:
            _merge_into(target[key], value, origin, source, prefix=f"{dotted}.")
            continue
        target[key] = value
        source[dotted] = origin
        if isinstance(value, dict):  # a new mapping: record where each of its keys was set
            _merge_into({}, value, origin, source, prefix=f"{dotted}.")


# ---------------------------------------------------------------------------------------------- building
class _Builder:
    """Turns the merged dict into dataclasses, checking every key and type on the way."""

    def __init__(self, source: dict[str, str], valid_keys: list[str]) -> None:
        self.source = source
        self.valid_keys = valid_keys

    def where(self, key: str) -> str:
        origin = self.source.get(key)
        return f" (set in {origin})" if origin else ""

    def unknown(self, key: str, allowed: list[str]) -> ValueError:
        close = closest_key(key, self.valid_keys)
        hint = f" Did you mean '{close}'?" if close else ""
        return ValueError(f"Unknown config key '{key}'{self.where(key)}.{hint} Valid keys here: {allowed}.")

    def dataclass(self, cls: type, data: Any, prefix: str) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"Config key '{prefix.rstrip('.')}'{self.where(prefix.rstrip('.'))} must be a "
                f"mapping of {cls.__name__} fields, got {data!r}."
            )
        hints = _hints(cls)
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        for key in data:
            if key not in names:
                raise self.unknown(f"{prefix}{key}", names)
        values = {key: self.value(hints[key], data[key], f"{prefix}{key}") for key in data}
        return cls(**values)

    def value(self, hint: Any, value: Any, key: str) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is Any:
            return value
        if dataclasses.is_dataclass(hint):
            return self.dataclass(hint, value, f"{key}.")
        if origin in (Union, types.UnionType):
            return self.union(args, value, key)
        if origin is Literal:
            if value is False:  # YAML 1.1 reads an unquoted `no` / `off` (mixed_precision=no, wandb=off) as false
                value = next((word for word in ("no", "off") if word in args), value)
            if any(value == choice and type(value) is type(choice) for choice in args):  # True is not 1
                return value
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint_text = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Config key '{key}'{self.where(key)}: {value!r} is not one of {list(args)}.{hint_text}")
        if origin in (list, tuple, dict) and not isinstance(value, dict if origin is dict else (list, tuple)):
            raise self.wrong(key, value, hint)
        if origin in (list, tuple):
            return [self.value(args[0], item, f"{key}[{i}]") for i, item in enumerate(value)]
        if origin is dict:
            return {k: self.value(args[1], v, f"{key}.{k}") for k, v in value.items()}
        return self.scalar(hint, value, key)

    def union(self, args: tuple, value: Any, key: str) -> Any:
        is_null = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_null and type(None) in args:
            return None
        mapped = [a for a in args if dataclasses.is_dataclass(a)]
        if isinstance(value, dict) and len(mapped) == 1:  # a mapping is meant for it: its errors name the key
            return self.dataclass(mapped[0], value, f"{key}.")
        for arg in (a for a in args if a is not type(None)):
            try:
                return self.value(arg, value, key)
            except ValueError:
                continue
        raise self.wrong(key, value, " or ".join(_type_name(a) for a in args))

    def scalar(self, hint: type, value: Any, key: str) -> Any:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)  # True is not 1 in a config
        if (hint is bool and isinstance(value, bool)) or (hint is int and number and isinstance(value, int)):
            return value
        if hint is float and (number or isinstance(value, str)):  # YAML 1.1 reads `1e-4` as a string
            with contextlib.suppress(ValueError):
                return float(value)
        if hint is str and (number or isinstance(value, str)):
            return str(value)
        raise self.wrong(key, value, hint)

    def wrong(self, key: str, value: Any, hint: Any) -> ValueError:
        expected = hint if isinstance(hint, str) else _type_name(hint)
        return ValueError(
            f"Config key '{key}'{self.where(key)}: expected {expected}, got {value!r} "
            f"({type(value).__name__}). Fix the value in the YAML or pass {key}=<{expected}>."
        )


def closest_key(key: str, valid_keys: list[str]) -> str | None:
    """The valid dotted key nearest to `key`: same leaf in another section first, then by spelling."""
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [k for k in valid_keys if k.rsplit(".", 1)[-1] == leaf]
    if same_leaf:
        return same_leaf[0]
    close = difflib.get_close_matches(key, valid_keys, n=1, cutoff=0.5)
    if close:
        return close[0]
    leaves = {k.rsplit(".", 1)[-1]: k for k in valid_keys}
    close = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.6)
    return leaves[close[0]] if close else None


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def dotted_keys(cls: type, prefix: str = "") -> tuple[str, ...]:
    keys = []
    for item in dataclasses.fields(cls):
        hint = _hints(cls)[item.name]
        if dataclasses.is_dataclass(hint):
            keys += list(dotted_keys(hint, f"{prefix}{item.name}."))
        else:
            keys.append(f"{prefix}{item.name}")
    return tuple(keys)


def build_config(merged: dict[str, Any], source: dict[str, str]) -> Config:
    """Check and convert a merged dict into a `Config`; the task section's dataclass comes from the domain."""
    from .task import available_domains, get_task_class  # imports the domain package, never its models or data

    merged = dict(merged)
    domain = (merged.get("experiment") or {}).get("domain")
    if not domain:
        raise ValueError(
            "Config key 'experiment.domain' is required (it picks the task); set it in the domain's "
            f"_base.yaml or pass experiment.domain=<one of {available_domains()}>."
        )
    task_cls = get_task_class(str(domain))  # checks the name before importing anything
    method_name = (merged.get("method") or {}).get("name", "gift")
    if method_name not in METHODS:
        close = difflib.get_close_matches(str(method_name), METHODS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Config key 'method.name'{_Builder(source, []).where('method.name')}: unknown method "
            f"{method_name!r}; choose one of {list(METHODS)}.{hint}"
        )
    method_cls = METHODS[method_name]
    valid = [k for k in dotted_keys(Config) if not k.startswith(("method.", "task."))]
    valid += [f"method.{k}" for k in dotted_keys(method_cls)] + [f"task.{k}" for k in dotted_keys(task_cls.Config)]
    builder = _Builder(source, sorted(valid))
    sections = {f.name for f in dataclasses.fields(Config)}
    for key in merged:
        if key not in sections:
            raise builder.unknown(key, sorted(sections))
    method = builder.dataclass(method_cls, merged.pop("method", {}) or {}, "method.")
    task = builder.dataclass(task_cls.Config, merged.pop("task", {}) or {}, "task.")
    config = builder.dataclass(Config, merged, "")
    config.method, config.task = method, task
    config.validate()
    task_cls.validate_config(config)
    return config


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """The resolved, validated config of `path` (a YAML file, or None for defaults) with `overrides`."""
    merged, source = merge_layers(config_layers(path, list(overrides or [])))
    return build_config(merged, source)


def config_to_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_to_yaml(config: Config) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False, width=120)
