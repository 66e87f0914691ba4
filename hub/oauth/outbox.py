"""E-mails the hub has to send, kept in the ``outbox_messages`` table.

The hub has no mail server setting: every message stays in the outbox, where
``hub outbox`` shows it to the operator (and, in a test or a demonstration,
the sign-in code in it to the person signing in). A mail relay reading the
unsent messages (``sent_at`` null) and marking them sent is all a
deployment with a mail server needs to add.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import OutboxMessage


@dataclass(frozen=True)
class Message:
    id: int
    recipient: str
    subject: str
    body: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


def send(session: Session, recipient: str, subject: str, body: str, *, now: dt.datetime) -> int:
    """Queue an e-mail in the outbox (the caller's transaction); its id."""
    message = OutboxMessage(recipient=recipient, subject=subject[:300], body=body, created_at=now)
    session.add(message)
    session.flush()
    return message.id


def messages(session: Session, *, recipient: str | None = None, limit: int = 50) -> list[Message]:
    """The newest ``limit`` messages (to ``recipient`` only, when given), oldest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    rows = list(session.scalars(query))
    return [Message(m.id, m.recipient, m.subject, m.body, m.created_at, m.sent_at) for m in reversed(rows)]
