"""``hub sandbox``: the local stand-in for the platforms' APIs (serve it, the
credentials that point the hub at it) and their sample webhooks sent to a
running hub."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from adapters import get_adapter
from adapters.registry import platform_names

from .cli_support import CommandError, friendly_errors
from .sandbox import DEFAULT_PLATFORMS_DIR, SandboxError, SandboxSettings, load_settings

folder_arg = click.Path(file_okay=False, path_type=Path)
credentials_arg = click.Path(dir_okay=False, path_type=Path)


def _sandbox_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--platforms and --credentials, shared by the commands."""
    func = click.option(
        "--credentials", "credentials_file", type=credentials_arg, default=None,
        help="the credentials the sandbox checks and signs with  [default: DIR/credentials.json]",
    )(func)  # fmt: skip
    return click.option(
        "--platforms", "platforms_dir", type=folder_arg, default=DEFAULT_PLATFORMS_DIR, show_default=True,
        help="the platforms folder: samples and credentials.json",
    )(func)  # fmt: skip


def _settings(platforms_dir: Path, credentials_file: Path | None, **options: int) -> SandboxSettings:
    try:
        return load_settings(platforms_dir, credentials_file, **options)
    except SandboxError as exc:
        raise CommandError(str(exc)) from exc


@click.group()
def sandbox() -> None:
    """The platforms' sandbox: their APIs played from the sample files, on this machine."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@_sandbox_options
@click.option("--throttle-every", default=3, show_default=True, type=click.IntRange(0),
              help="answer every Nth API request of a platform 429 (0: never)")  # fmt: skip
@click.option("--retry-after", default=1, show_default=True, type=click.IntRange(0),
              help="seconds a throttled answer asks to wait")  # fmt: skip
@click.option("--token-ttl", default=3600, show_default=True, type=click.IntRange(1),
              help="lifetime of OAuth access tokens, in seconds")  # fmt: skip
@friendly_errors
def sandbox_serve(
    host: str,
    port: int,
    platforms_dir: Path,
    credentials_file: Path | None,
    throttle_every: int,
    retry_after: int,
    token_ttl: int,
) -> None:
    """Serve every platform's API under http://HOST:PORT/<platform> until Ctrl-C."""
    from .cli import configure_logging
    from .sandbox import create_sandbox_app
    from .sandbox.server import bind, serve_forever

    configure_logging(logging.INFO)
    settings = _settings(
        platforms_dir, credentials_file, throttle_every=throttle_every, retry_after=retry_after, token_ttl=token_ttl
    )
    try:
        server = bind(create_sandbox_app(settings), host, port)
    except SandboxError as exc:
        raise CommandError(str(exc)) from exc
    base = f"http://{host}:{server.server_port}"
    click.echo(f"sandbox of {', '.join(settings.platforms)} at {base}/<platform>", err=True)
    serve_forever(server)


@sandbox.command("credentials")
@click.option("--host", default="127.0.0.1", show_default=True, help="the address the sandbox listens on")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@_sandbox_options
@click.option("-o", "--output", type=credentials_arg, default=None, help="write to this file (mode 0600)")
@friendly_errors
def sandbox_credentials_command(
    host: str, port: int, platforms_dir: Path, credentials_file: Path | None, output: Path | None
) -> None:
    """Print (or write) a credentials file whose base URLs point at the sandbox."""
    from .sandbox.credentials import credentials_json, sandbox_base_url, sandbox_credentials

    settings = _settings(platforms_dir, credentials_file)
    base = sandbox_base_url(host, port)
    if output is None:
        click.echo(credentials_json(sandbox_credentials(settings, base)), nl=False)
        return
    from .sandbox import write_sandbox_credentials

    try:
        count = write_sandbox_credentials(settings, base, output)
    except SandboxError as exc:
        raise CommandError(str(exc)) from exc
    click.echo(f"{output}: {count} platforms at {base}; load them with: hub platforms load {output}")


@sandbox.command("send")
@click.argument("platform", type=click.Choice(platform_names()))
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="the running hub")
@_sandbox_options
@friendly_errors
def sandbox_send(platform: str, url: str, platforms_dir: Path, credentials_file: Path | None) -> None:
    """Post PLATFORM's sample webhooks (not the bad-* ones, in file-name order) to the
    hub at URL, each signed afresh now; one line per file with the hub's answer."""
    from .sandbox.send import send_samples

    settings = _settings(platforms_dir, credentials_file)
    if platform not in settings.platforms:
        raise CommandError(f"{platform}: not in {platforms_dir} with its credentials")
    adapter = get_adapter(platform, settings.credentials[platform])
    refused = 0
    try:
        for sent in send_samples(adapter, settings.samples(platform) / "webhooks", url):
            click.echo(sent.line())
            refused += not sent.ok
    except SandboxError as exc:
        raise CommandError(str(exc)) from exc
    if refused:
        raise CommandError(f"the hub refused {refused} of {platform}'s deliveries")
