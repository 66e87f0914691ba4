"""Pointing a hub at a running sandbox: its platforms loaded with the sandbox's
base URLs, the participant register of the platforms folder imported, and one
catalogue sync per platform queued for the hub's worker."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import Flask

from ..catalogue_jobs import job_id, sync_job
from ..crypto import NikHasher, SecretBox
from ..db import db
from ..imports import ImportReport
from ..participants import import_register
from ..platforms import PlatformFileError, load_platforms
from ..queues import get_queue, next_run_waiting, schedule_next_run
from .credentials import credentials_json, sandbox_credentials
from .settings import SandboxError, SandboxSettings

log = logging.getLogger(__name__)

PARTICIPANTS_FILE = "participants.csv"


@dataclass
class Populated:
    platforms: ImportReport
    participants: ImportReport | None
    syncs_queued: list[str] = field(default_factory=list)


def load_sandbox_platforms(app: Flask, settings: SandboxSettings, base_url: str) -> ImportReport:
    """``hub platforms load`` of the sandbox credentials; SandboxError if any is refused."""
    data = credentials_json(sandbox_credentials(settings, base_url)).encode()
    with app.app_context():
        box = SecretBox(app.config["HUB"].secret_key)
        try:
            with db.transaction() as session:
                report = load_platforms(session, data, "sandbox credentials", box)
        except PlatformFileError as exc:
            raise SandboxError(str(exc)) from exc
    if not report.ok:
        raise SandboxError("; ".join(report.refusal_lines()))
    return report


def import_participants(app: Flask, settings: SandboxSettings) -> ImportReport | None:
    """``hub participants import`` of the folder's register, when it has one."""
    path = settings.platforms_dir / PARTICIPANTS_FILE
    if not path.is_file():
        return None
    with app.app_context():
        hasher = NikHasher(app.config["HUB"].secret_key)
        return import_register(db.transaction, path.read_bytes(), str(path), hasher)


def queue_catalogue_syncs(app: Flask, settings: SandboxSettings) -> list[str]:
    """One catalogue sync job per platform (skipping one already waiting)."""
    queue = get_queue(app, "catalogue")
    queued = []
    for name in settings.platforms:
        if next_run_waiting(queue, job_id(name)):
            continue
        schedule_next_run(queue, job_id(name), dt.timedelta(0), sync_job, name, job_timeout=3600)
        queued.append(name)
    return queued


def point_hub_at_sandbox(app: Flask, settings: SandboxSettings, base_url: str) -> Populated:
    platforms = load_sandbox_platforms(app, settings, base_url)
    log.info("sandbox platforms loaded: %s", platforms.summary())
    participants = import_participants(app, settings)
    if participants is not None:
        log.info("participants imported: %s", participants.summary())
        for line in participants.refusal_lines():
            log.warning("%s", line)
    queued = queue_catalogue_syncs(app, settings)
    log.info("catalogue syncs queued for the worker: %s", ", ".join(queued) or "none (already waiting)")
    return Populated(platforms, participants, queued)
