"""The sandbox: one local HTTP server that plays the eight platforms' APIs
from their sample files, so the hub can be run and tried end to end on one
machine.

Each platform lives under a path prefix of its own (``http://127.0.0.1:8100/
tokopedia``, ``…/ruangguru``, …) and answers as its interface document says:
its own authentication (checked against the secrets of the credentials file
the sandbox is given), its own paging over the sample pages, an ``ETag`` and
304 for pijarmahir's dump, maubelajarapa's orders API with ``updated_since``,
401 for wrong credentials, and a deterministic 429 with ``Retry-After`` on
every Nth API request of a platform so that the hub's retries are exercised.

:func:`sandbox_credentials` gives a credentials file whose ``base_url`` values
point at a running sandbox: ``hub platforms load`` of it points the hub there.
"""

from .app import create_sandbox_app
from .credentials import sandbox_credentials, write_sandbox_credentials
from .settings import DEFAULT_PLATFORMS_DIR, SandboxError, SandboxSettings, load_settings

__all__ = [
    "DEFAULT_PLATFORMS_DIR",
    "SandboxError",
    "SandboxSettings",
    "create_sandbox_app",
    "load_settings",
    "sandbox_credentials",
    "write_sandbox_credentials",
]
