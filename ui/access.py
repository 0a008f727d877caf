"""Who may do what: reading and asking for whoever may use the app, documents for admins.

Reading and asking are open, or behind the login when one is configured
(RAG_UI__USERNAME/RAG_UI__PASSWORD). Adding, replacing and removing documents need the
admin password (RAG_UI__ADMIN_PASSWORD); with no admin configured they are disabled,
unless the operator starts the server with `--allow-uploads`. HTTP clients send
`Authorization: Bearer <password>` or HTTP Basic; the Gradio API takes the admin
password as a parameter. No Gradio or FastAPI in here.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Any, Literal

from rag.settings import Settings
from ui.throttle import Throttle

Verdict = Literal["ok", "unauthenticated", "forbidden", "disabled", "throttled"]
# Keyword arguments for the app's plumbing events (tab switches, refreshes, confirmations):
# they stay out of the named API that HTTP clients can call.
PRIVATE: dict[str, Any] = {"api_visibility": "private"}


@dataclass(frozen=True)
class Access:
    """The access rules of one running server."""

    user: tuple[str, str] | None = None
    admin_password: str | None = None
    allow_uploads: bool = False
    throttle: Throttle = field(default_factory=Throttle, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, allow_uploads: bool | None = None) -> Access:
        ui = settings.ui
        user = None
        if ui.username and ui.password:
            user = (ui.username, ui.password.get_secret_value())
        admin = ui.admin_password.get_secret_value() if ui.admin_password else None
        allowed = ui.allow_uploads if allow_uploads is None else allow_uploads
        return cls(user=user, admin_password=admin or None, allow_uploads=allowed)

    @property
    def documents_enabled(self) -> bool:
        return self.admin_password is not None or self.allow_uploads

    def reader(self, authorization: str | None) -> Verdict:
        """May this request read and ask? (Always, unless a login is configured.)"""
        if self.user is None:
            return "ok"
        secret = _secret(authorization, self.user[0])
        if secret is None:
            return "unauthenticated"
        if _same(secret, self.user[1]) or self._is_admin(secret):
            return "ok"
        return "unauthenticated"

    def admin(self, authorization: str | None = None, password: str | None = None) -> Verdict:
        """May this request change documents? From a header (HTTP) or a password (Gradio)."""
        if self.admin_password is None:
            if not self.allow_uploads:
                return "disabled"
            return self.reader(authorization) if password is None else "ok"
        secret = password if password else _secret(authorization, "admin")
        if not secret:
            return "unauthenticated"
        if self._is_admin(secret):
            return "ok"
        if self.user is not None and _same(secret, self.user[1]):
            return "forbidden"  # a valid user, but not an admin
        return "unauthenticated"

    def reader_from(self, client: str, authorization: str | None) -> Verdict:
        """`reader`, with wrong passwords from `client` counted and slowed (`Throttle`)."""
        if self.user is None:
            return "ok"
        return self._counted(client, bool(authorization), lambda: self.reader(authorization))

    def admin_from(
        self, client: str, authorization: str | None = None, password: str | None = None
    ) -> Verdict:
        """`admin`, with wrong passwords from `client` counted and slowed (`Throttle`):
        after a few, that client's tries are refused unchecked for a while."""
        presented = bool(password) or bool(authorization)
        return self._counted(client, presented, lambda: self.admin(authorization, password))

    def retry_after_s(self, client: str) -> float:
        return self.throttle.wait_s(client)

    def _counted(self, client: str, presented: bool, check: Any) -> Verdict:
        if presented and self.throttle.wait_s(client) > 0:
            return "throttled"
        verdict: Verdict = check()
        if presented and verdict in ("unauthenticated", "forbidden"):
            self.throttle.failed(client)
        elif presented and verdict == "ok":
            self.throttle.succeeded(client)
        return verdict

    def _is_admin(self, secret: str) -> bool:
        return self.admin_password is not None and _same(secret, self.admin_password)


MESSAGES: dict[Verdict, str] = {
    "ok": "",
    "unauthenticated": "Log in first: send 'Authorization: Bearer <password>' (or HTTP Basic).",
    "forbidden": "Changing documents needs the admin password (RAG_UI__ADMIN_PASSWORD).",
    "disabled": "Changing documents is disabled on this server: the operator can set "
    "RAG_UI__ADMIN_PASSWORD, or start it with `rag serve --allow-uploads`.",
    "throttled": "Too many wrong passwords from this address; wait before trying again "
    "(see Retry-After).",
}


def _secret(authorization: str | None, expected_user: str) -> str | None:
    """The password or token in an Authorization header (Bearer, or Basic user:password)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        return password if password and (user == expected_user or user == "admin") else None
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
