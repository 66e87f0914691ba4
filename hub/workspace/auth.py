"""Who is logged in, and what each role may do.

The session keeps only the staff account's id (and the CSRF token); the
account is read again on every request, so a disabled account's sessions end
at once. Every page but the login page needs a session (:func:`load_staff`,
run before each request of the workspace); what a role may do is checked by
the one decorator :func:`allowed`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from ..db import db
from ..staff import Staff, active_staff

F = TypeVar("F", bound=Callable[..., Any])

PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"finance", "viewer"}),
    "download": frozenset({"finance", "viewer"}),
    "upload": frozenset({"finance"}),
    "resolve": frozenset({"finance"}),
}
PUBLIC_ENDPOINTS = frozenset({"workspace.login", "workspace.static"})
SESSION_KEY = "staff_id"


def current_staff() -> Staff | None:
    staff: Staff | None = g.get("staff")
    return staff


def may(action: str) -> bool:
    """Whether the logged-in account may do ``action`` (for the templates)."""
    staff = current_staff()
    return staff is not None and staff.role in PERMISSIONS[action]


def log_in(staff: Staff) -> None:
    session.clear()
    session[SESSION_KEY] = staff.id
    session.permanent = True
    g.staff = staff


def log_out() -> None:
    session.clear()
    g.staff = None


def load_staff() -> Response | None:
    """Before every request of the workspace: the logged-in account, or a
    redirect to the login page for anything but the login page itself."""
    staff_id = session.get(SESSION_KEY)
    g.staff = active_staff(db.session, staff_id) if isinstance(staff_id, int) else None
    if g.staff is None and staff_id is not None:
        session.pop(SESSION_KEY, None)  # a disabled or removed account
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        wanted = request.full_path if request.method == "GET" else None
        return redirect(url_for("workspace.login", next=safe_next(wanted)), code=303)
    return None


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path of the workspace itself (no open redirect), else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/finance/") or target.startswith("//"):
        return None
    return target.rstrip("?")


def allowed(action: str) -> Callable[[F], F]:
    """A view that only roles allowed ``action`` may use: no session gives the
    login page; a session whose role may not, 403."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                return redirect(url_for("workspace.login", next=safe_next(request.full_path)), code=303)
            if staff.role not in PERMISSIONS[action]:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
