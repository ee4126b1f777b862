"""Webhook signatures: a receiver can tell stockd's webhooks from forgeries, tampering and replays."""

from __future__ import annotations

import pytest

from stockd.adapters.webhooks.signing import HEADER, SignatureError, sign, verify

BODY = b'{"type":"alert.raised","sku":"TEE"}'
NOW = 1_790_000_000


def test_a_signed_webhook_verifies() -> None:
    header = sign(BODY, "s3cret", timestamp=NOW)[HEADER]
    assert verify(BODY, header, "s3cret", now=NOW + 10) == NOW


@pytest.mark.parametrize(
    ("body", "secret", "now", "reason"),
    [
        (BODY.replace(b"TEE", b"MUG"), "s3cret", NOW, "does not match"),
        (BODY, "other", NOW, "does not match"),
        (BODY, "s3cret", NOW + 301, "replay window"),
        (BODY, "s3cret", NOW - 301, "replay window"),
    ],
)
def test_tampered_forged_or_replayed_webhooks_are_refused(body: bytes, secret: str, now: int, reason: str) -> None:
    header = sign(BODY, "s3cret", timestamp=NOW)[HEADER]
    with pytest.raises(SignatureError, match=reason):
        verify(body, header, secret, now=now)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1"])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(BODY, header, "s3cret", now=NOW)
