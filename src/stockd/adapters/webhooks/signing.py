"""Signatures on the webhooks stockd sends: HMAC-SHA256 over the timestamp and the exact body.

Header: `Stockd-Signature: t=<unix seconds>,v1=<hex digest>`, digest = HMAC-SHA256(secret, f"{t}.{body}").
Receivers recompute it, compare in constant time, and refuse timestamps outside a replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Stockd-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The webhook is not from stockd, was changed on the way, or is too old (a replay)."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers to send with `body`."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {HEADER: f"t={ts},v1={_digest(secret, ts, body)}"}


def verify(body: bytes, header: str, secret: str, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
           now: float | None = None) -> int:
    """Check a received webhook; returns its timestamp or raises SignatureError."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError) as exc:
        raise SignatureError("malformed signature header") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("timestamp outside the replay window")
    if not hmac.compare_digest(given, _digest(secret, timestamp, body)):
        raise SignatureError("signature does not match")
    return timestamp
