"""Staff accounts of the finance workspace: creating, listing, disabling, and
checking a password at login.

Passwords are kept only as werkzeug's scrypt hash (salted, its parameters in
the stored string) and are never logged. Checking a login costs one scrypt
whether or not the user name exists, so the time of an answer does not tell
which user names exist; the hash comparison itself is constant-time.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .models import STAFF_ROLES, StaffAccount

HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_COMMON = frozenset(
    {
        "password1234", "passwordpassword", "123456789012", "qwertyuiopas", "kartuprakerja",
        "prakerja2020!", "prakerja12345", "administrator", "rahasia12345", "bismillah123",
    }
)  # fmt: skip


@cache
def _dummy_hash() -> str:
    """A hash of a random password, checked against when the user name is
    unknown, so that an unknown name costs the same scrypt as a known one."""
    return generate_password_hash(secrets.token_urlsafe(24), method=HASH_METHOD)


class StaffError(ValueError):
    """A request about staff accounts the hub refuses, with a message fit to show as is."""


@dataclass(frozen=True)
class Staff:
    """Who is logged in: what a request needs to know about its account."""

    id: int
    username: str
    role: str


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise StaffError(
            f"user name {username!r}: use 2 to 64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def password_weakness(password: str, username: str) -> str | None:
    """Why ``password`` is too weak for ``username``, or None."""
    if not password.strip():
        return "the password is empty"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters"
    if len(set(password)) < 5:
        return "the password repeats too few different characters"
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "the password contains the user name"
    if lowered in _COMMON:
        return "the password is a commonly used one"
    return None


def create_staff(session: Session, username: str, password: str, role: str, now: dt.datetime) -> StaffAccount:
    """A new account, in the caller's transaction. Refuses an unknown role, a
    user name already taken or malformed, and a weak password."""
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}, not {role!r}")
    name = check_username(username)
    weakness = password_weakness(password, name)
    if weakness is not None:
        raise StaffError(weakness)
    account = StaffAccount(
        username=name,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        role=role,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(account)
    except IntegrityError:
        raise StaffError(f"user name {name!r} is taken") from None
    return account


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.username)))


def disable_staff(session: Session, username: str, now: dt.datetime) -> StaffAccount:
    """Disable an account (idempotent): it cannot log in any more and its sessions end."""
    account = session.scalar(select(StaffAccount).where(StaffAccount.username == username.strip().lower()))
    if account is None:
        raise StaffError(f"no staff account {username!r}")
    if account.disabled_at is None:
        account.disabled_at = now
    return account


def authenticate(session: Session, username: str, password: str) -> Staff | None:
    """The account whose user name and password these are, if it is active."""
    account = session.scalar(select(StaffAccount).where(StaffAccount.username == username.strip().lower()))
    if account is None or len(password) > MAX_PASSWORD_LENGTH:
        check_password_hash(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None
    if not check_password_hash(account.password_hash, password) or not account.active:
        return None
    return Staff(account.id, account.username, account.role)


def active_staff(session: Session, staff_id: int) -> Staff | None:
    """The account of a session, if it still exists and is not disabled."""
    account = session.get(StaffAccount, staff_id)
    if account is None or not account.active:
        return None
    return Staff(account.id, account.username, account.role)
