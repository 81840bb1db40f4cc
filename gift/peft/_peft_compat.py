"""Every contact of the plug-in with peft internals: the version check and the registration of "GIFT".

peft 0.21's public `register_peft_method` accepts only names in its own `PeftType` enum, so a method
from outside peft is registered by writing the three mapping tables that `get_peft_model`,
`PeftModel.from_pretrained` and the state-dict helpers read. Those tables are private API: this file
is the only one that touches them, and it refuses a peft version the plug-in was not tested with.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings

from packaging.specifiers import SpecifierSet
from packaging.version import Version

TESTED_PEFT = ">=0.21.0,<0.22"  # the "peft" extra of setup.py pins the same range (a test checks it)
ALLOW_UNTESTED_ENV = "GIFT_PEFT_ALLOW_UNTESTED"
PEFT_TYPE = "GIFT"  # `peft_type` in adapter_config.json; not a member of peft's PeftType enum
PREFIX = "gift_"  # peft's per-method name prefix; GIFT's θ is saved as `base_model.gift_generators.…`


def check_peft_version(installed: str | None = None) -> None:
    """Raise ImportError unless peft is installed in the tested range (or the env override is set)."""
    install = f"pip install 'peft{TESTED_PEFT}'  (or: pip install -e '.[peft]')"
    if installed is None:
        try:
            installed = importlib.metadata.version("peft")
        except importlib.metadata.PackageNotFoundError:
            raise ImportError(
                f"gift.peft needs the peft package, which is not installed. Install it with: {install}"
            ) from None
    if Version(installed) in SpecifierSet(TESTED_PEFT):
        return
    message = (
        f"gift.peft was tested with peft{TESTED_PEFT}, but peft {installed} is installed; it registers GIFT in peft's "
        f"private mapping tables, which change between releases. Install a tested version with: {install}"
    )
    if os.environ.get(ALLOW_UNTESTED_ENV) == "1":
        warnings.warn(f"{message}. Going on because {ALLOW_UNTESTED_ENV}=1.", UserWarning, stacklevel=3)
        return
    raise ImportError(f"{message}. To try peft {installed} anyway, set {ALLOW_UNTESTED_ENV}=1.")


def register(config_cls: type, tuner_cls: type) -> None:
    """Make peft resolve peft_type "GIFT" to `config_cls` / `tuner_cls` (idempotent)."""
    from peft import mapping

    tables = (
        (mapping.PEFT_TYPE_TO_CONFIG_MAPPING, config_cls),
        (mapping.PEFT_TYPE_TO_TUNER_MAPPING, tuner_cls),
        (mapping.PEFT_TYPE_TO_PREFIX_MAPPING, PREFIX),
    )
    for table, value in tables:
        present = table.get(PEFT_TYPE)
        if present is not None and _qualified(present) != _qualified(value):
            raise RuntimeError(
                f"peft already maps peft_type {PEFT_TYPE!r} to {_qualified(present)}; gift.peft cannot register."
            )
    clashing = [t for t, prefix in mapping.PEFT_TYPE_TO_PREFIX_MAPPING.items() if prefix == PREFIX and t != PEFT_TYPE]
    if clashing:
        raise RuntimeError(
            f"peft method {clashing[0]!r} already uses the prefix {PREFIX!r}; gift.peft cannot register."
        )
    for table, value in tables:
        table[PEFT_TYPE] = value


def _qualified(value: object) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)
