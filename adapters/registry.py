"""The adapters by platform name."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .base import Adapter
from .errors import UnknownPlatform

# Each platform's module under adapters/, and the class it defines.
# Adding a platform: write adapters/<name>.py with a class named in this table.
ADAPTERS: dict[str, str] = {
    "tokopedia": "adapters.tokopedia:TokopediaAdapter",
    "ruangguru": "adapters.ruangguru:RuangguruAdapter",
    "bukalapak": "adapters.bukalapak:BukalapakAdapter",
    "sisnaker": "adapters.sisnaker:SisnakerAdapter",
    "pintaria": "adapters.pintaria:PintariaAdapter",
    "sekolahmu": "adapters.sekolahmu:SekolahmuAdapter",
    "pijarmahir": "adapters.pijarmahir:PijarmahirAdapter",
    "maubelajarapa": "adapters.maubelajarapa:MaubelajarapaAdapter",
}


def check_known(name: str) -> None:
    """Raise UnknownPlatform, naming the known ones, unless an adapter is registered as ``name``."""
    if name not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownPlatform(f"unknown platform {name!r}; known platforms: {known}")


def adapter_class(name: str) -> type[Adapter]:
    check_known(name)
    target = ADAPTERS[name]
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert issubclass(cls, Adapter)
    return cls


def get_adapter(name: str, settings: Mapping[str, Any] | None = None) -> Adapter:
    """The adapter of platform ``name`` over its connection settings (secrets included)."""
    return adapter_class(name)(settings)


def platform_names() -> list[str]:
    return list(ADAPTERS)
