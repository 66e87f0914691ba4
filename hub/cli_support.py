"""What every command shares: the app it runs in, and one-line errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask
from sqlalchemy.exc import OperationalError

from adapters import AdapterError

from .config import ConfigError
from .crypto import SecretDecryptionError
from .embedded_redis import EmbeddedRedisError

file_arg = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"hub: {self.format_message()}", err=True)


def friendly_errors(func: F) -> F:
    """Known failures become one clear line instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, SecretDecryptionError, EmbeddedRedisError, AdapterError) as exc:
            raise CommandError(str(exc)) from exc
        except OperationalError as exc:
            raise CommandError(f"the database is unreachable: {exc.orig or exc}") from exc

    return wrapper  # type: ignore[return-value]


def rupiah(amount: int) -> str:
    """An amount as finance writes it: ``Rp 1.500.000``."""
    return f"Rp {amount:,}".replace(",", ".")


def make_app(*, migrate: bool = True) -> Flask:
    """The app for a command; brings the schema to the newest migration first
    unless HUB_AUTO_MIGRATE=0 (then a schema behind it is an error)."""
    from . import create_app
    from . import migrate as migrations
    from .db import db

    app = create_app()
    if migrate:
        with app.app_context():
            if not migrations.at_head(db.engine):
                if not app.config["HUB"].auto_migrate:
                    raise CommandError("the database schema is not at the newest migration: run `hub db upgrade`")
                migrations.upgrade(db.engine)
    return app
