"""The hub's cookie sessions, which the webhook endpoint does without.

A platform's webhook carries no cookie and the endpoint keeps no session, so
its requests skip the session's signing serializer altogether (the busiest
path of the hub pays nothing for the finance workspace's log-ins). Every other
path keeps Flask's signed cookie session as is.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

SESSIONLESS_PREFIXES = ("/webhooks/",)


class HubSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return self.make_null_session(app)
        return super().open_session(app, request)
