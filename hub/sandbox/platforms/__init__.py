"""Each platform's routes, one module a platform: ``routes(ctx)`` gives the
Flask blueprint mounted under ``/<platform>``."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from ..context import PlatformContext
from . import bukalapak, maubelajarapa, pijarmahir, pintaria, ruangguru, sekolahmu, sisnaker, tokopedia

ROUTES: dict[str, Callable[[PlatformContext], Blueprint]] = {
    "tokopedia": tokopedia.routes,
    "ruangguru": ruangguru.routes,
    "bukalapak": bukalapak.routes,
    "sisnaker": sisnaker.routes,
    "pintaria": pintaria.routes,
    "sekolahmu": sekolahmu.routes,
    "pijarmahir": pijarmahir.routes,
    "maubelajarapa": maubelajarapa.routes,
}
