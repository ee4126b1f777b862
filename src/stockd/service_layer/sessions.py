"""Browser sessions for the dashboard: a signed, expiring cookie that names an API key, and its CSRF token.

The cookie carries the key's id, never its secret: the secret is checked once, at login. Every request then
verifies the signature and looks the key up again, so revoking a key ends its sessions within the
authenticator's cache time. Logging out forgets the session's nonce in this process (the browser drops the
cookie as well); the cookie also expires on its own after `ttl`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockd.service_layer.ports import Clock


@dataclass(frozen=True)
class Session:
    key_id: str
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        self._secret = secret
        self._clock = clock
        self._ttl = ttl
        self._ended: dict[str, datetime] = {}  # nonce -> when its cookie would have expired

    def issue(self, key_id: str) -> tuple[str, Session]:
        """A new session for a key that just proved its secret; returns the cookie value and the session."""
        expires = self._clock.now() + self._ttl
        session = Session(key_id, secrets.token_urlsafe(16), expires)
        body = _b64(json.dumps({"k": key_id, "n": session.nonce, "e": int(expires.timestamp())}).encode())
        return f"{body}.{self._sign('session', body)}", session

    def verify(self, cookie: str) -> Session | None:
        """The session a cookie names, or None if it is forged, expired or logged out."""
        body, _, signature = cookie.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign("session", body)):
            return None
        try:
            claims = json.loads(_unb64(body))
            session = Session(str(claims["k"]), str(claims["n"]),
                              datetime.fromtimestamp(int(claims["e"]), tz=self._clock.now().tzinfo))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at <= self._clock.now() or session.nonce in self._ended:
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        """Bound to the session: a token from another session (or a forged one) does not match."""
        return self._sign("csrf", session.nonce)

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf_token(session))

    def end(self, session: Session) -> None:
        now = self._clock.now()
        self._ended = {n: t for n, t in self._ended.items() if t > now}
        self._ended[session.nonce] = session.expires_at

    def _sign(self, purpose: str, text: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}:{text}".encode(), hashlib.sha256).digest())
