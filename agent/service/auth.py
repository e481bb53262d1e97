"""API keys and session ownership: a session id carries a MAC by the key that created it.

A session id is ``<128 random bits>.<HMAC-SHA256(key, random part), 128 bits>``. Only the key that
created a session can produce the same MAC, so ownership needs no table, survives restarts and works
the same on SQLite and Postgres; another key's session is indistinguishable from a missing one (404).
Rotating a key out orphans its sessions: keep the old key configured while they are in use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.service.errors import ApiError

DEV_KEY = b"dialogpaint-dev-mode"  # the only principal when no keys are configured (loopback dev mode)


@dataclass(frozen=True)
class Principal:
    """Whoever made a request: a name safe for logs and rate limits, and the key that signs its sessions."""

    name: str
    secret: bytes = field(repr=False)


class KeyRing:
    """The configured bearer keys; with none configured, every request is the one dev principal."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode() for key in keys]

    @property
    def dev_mode(self) -> bool:
        """Whether no keys are configured (the service must then only listen on loopback)."""
        return not self._keys

    @property
    def secrets(self) -> tuple[bytes, ...]:
        """The configured keys (they sign chat replies' image links)."""
        return tuple(self._keys)

    def authenticate(self, token: str | None) -> Principal:
        """The principal for a bearer token; ApiError unauthorized if it is missing or unknown."""
        if self.dev_mode:
            return Principal("dev", DEV_KEY)
        if not token:
            raise ApiError("unauthorized", "send an API key as 'Authorization: Bearer <key>'", BEARER)
        given = token.encode()
        # Compare against every key so the time taken does not tell which one nearly matched.
        matches = [key for key in self._keys if hmac.compare_digest(key, given)]
        if not matches:
            raise ApiError("unauthorized", "the API key is not valid", BEARER)
        return Principal("key:" + hashlib.sha256(matches[0]).hexdigest()[:12], matches[0])


BEARER = {"WWW-Authenticate": "Bearer"}


def new_session_id(principal: Principal) -> str:
    """A fresh session id bound to the principal."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_tag(principal, nonce)}"


def owns(principal: Principal, session_id: str) -> bool:
    """Whether the session id was made by this principal's key."""
    nonce, dot, tag = session_id.partition(".")
    return bool(dot) and hmac.compare_digest(tag.encode(), _tag(principal, nonce).encode())


def _tag(principal: Principal, nonce: str) -> str:
    digest = hmac.new(principal.secret, nonce.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
