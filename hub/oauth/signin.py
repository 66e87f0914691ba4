"""Participants signing in to the hub (for the consent screen) with their card
number and a one-time code e-mailed to the address of the programme's
register.

A code is six digits, lives ``CODE_LIFETIME``, allows ``MAX_ATTEMPTS``
wrong tries, and only the newest one sent works. At most
``MAX_CODES_PER_WINDOW`` codes are sent to one participant per
``CODE_WINDOW``. Whether a card is registered is not told: an unknown card,
a revoked one and a known one get the same answer.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from schemas import card_number_error

from ..models import Participant, SignInCode
from . import outbox
from .secrets import SignInCodeHasher, new_sign_in_code

CODE_LIFETIME = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_CODES_PER_WINDOW = 5
CODE_WINDOW = dt.timedelta(minutes=15)


class SignInError(ValueError):
    """A sign-in step refused, with a message fit to show the participant."""


@dataclass(frozen=True)
class SignedIn:
    participant_id: int
    card_number: str
    name: str


def check_card(card_number: str) -> str:
    card = card_number.strip().replace(" ", "").replace("-", "")
    error = card_number_error(card)
    if error:
        raise SignInError(f"The card number {error}.")
    return card


def _participant(session: Session, card: str) -> Participant | None:
    found = session.scalar(select(Participant).where(Participant.card_number == card))
    return found if found is not None and found.status == "active" and found.email else None


def send_code(session: Session, card_number: str, hasher: SignInCodeHasher, *, now: dt.datetime) -> None:
    """E-mail a new code to the card's participant (nothing happens for an unknown or revoked card)."""
    card = check_card(card_number)
    participant = _participant(session, card)
    if participant is None:
        return
    recent = session.scalar(
        select(func.count())
        .select_from(SignInCode)
        .where(SignInCode.participant_id == participant.id, SignInCode.created_at > now - CODE_WINDOW)
    )
    if (recent or 0) >= MAX_CODES_PER_WINDOW:
        raise SignInError("Too many codes were asked for this card. Wait a quarter of an hour and try again.")
    session.execute(
        update(SignInCode)
        .where(SignInCode.participant_id == participant.id, SignInCode.used_at.is_(None))
        .values(used_at=now)
    )  # only the newest code works
    code = new_sign_in_code()
    session.add(
        SignInCode(participant_id=participant.id, code_hash=hasher(participant.id, code), created_at=now,
                   expires_at=now + CODE_LIFETIME, attempts=0)
    )  # fmt: skip
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    outbox.send(
        session,
        participant.email,
        f"Kode masuk Prakerja: {code}",
        f"Halo {participant.name},\n\n"
        f"Kode masuk Anda: {code}\nBerlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun.\n\n"
        f"Your Prakerja sign-in code: {code}\nIt is valid for {minutes} minutes. Never share it.\n",
        now=now,
    )


def verify_code(
    session: Session, card_number: str, code: str, hasher: SignInCodeHasher, *, now: dt.datetime
) -> SignedIn | str:
    """The participant when ``code`` is their newest valid code, else why not.

    A wrong code counts an attempt, so the caller commits in either case."""
    card = check_card(card_number)
    participant = _participant(session, card)
    wrong = "The code is wrong or has expired. Ask for a new one if needed."
    if participant is None:
        return wrong
    stored = session.scalar(
        select(SignInCode)
        .where(SignInCode.participant_id == participant.id, SignInCode.used_at.is_(None), SignInCode.expires_at > now)
        .order_by(SignInCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if stored is None:
        return wrong
    if stored.attempts >= MAX_ATTEMPTS:
        return "Too many wrong codes. Ask for a new one."
    given = code.strip()
    if not (given.isascii() and given.isdigit() and len(given) == 6) or not hmac.compare_digest(
        hasher(participant.id, given), stored.code_hash
    ):
        stored.attempts += 1
        return wrong
    stored.used_at = now
    return SignedIn(participant.id, participant.card_number, participant.name)
