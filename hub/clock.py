"""The hub's time: the real UTC time, unless ``app.config["HUB_CLOCK"]`` gives
another callable (tests replaying samples at the moment they were received)."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from .models import utcnow


def hub_now(app: Flask) -> dt.datetime:
    now: dt.datetime = app.config.get("HUB_CLOCK", utcnow)()
    return now
