"""API keys: created once and shown once, stored as a digest, checked in constant time; revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from stockd.domain.catalog import check_code
from stockd.domain.errors import NotFoundError, ValidationError
from stockd.domain.security import ApiKey, AuditEntry, Role
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork
from stockd.service_layer.runner import Runner

PREFIX = "sk"
_TOKEN = re.compile(r"^sk_([a-f0-9]{16})_([A-Za-z0-9_\-]{43})$")


class KeyNotFoundError(NotFoundError):
    code = "key_not_found"


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    token: str  # the only time the secret exists outside the client


def digest(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(
    uow: UnitOfWork, env: Env, actor: Actor, role: Role, name: str,
    locations: frozenset[str] | None = None, channel: str | None = None,
) -> NewKey:
    """A new key for a role, optionally limited to some locations and to one channel."""
    if locations is not None:
        if not locations:
            raise ValidationError("a location-scoped key needs at least one location")
        for code in locations:
            if await uow.locations.get(code) is None:
                raise ValidationError(f"unknown location {code!r}")
    if role is Role.CHANNEL and channel is None:
        raise ValidationError("a channel key needs --channel")
    if channel is not None:
        check_code(channel, "channel")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    key = ApiKey(key_id, name, role, locations, channel, digest(secret), env.clock.now(), actor.name)
    await uow.keys.add(key)
    await uow.audit.record(AuditEntry(key.created_at, actor.name, actor.role, actor.request_id, "key.created",
                                      key_id, details={"role": role.value, "name": name}))
    return NewKey(key, f"{PREFIX}_{key_id}_{secret}")


async def revoke_key(uow: UnitOfWork, env: Env, actor: Actor, key_id: str) -> ApiKey:
    now = env.clock.now()
    if not await uow.keys.revoke(key_id, now) and await uow.keys.get(key_id) is None:
        raise KeyNotFoundError(f"no key {key_id!r}")
    await uow.audit.record(AuditEntry(now, actor.name, actor.role, actor.request_id, "key.revoked", key_id))
    key = await uow.keys.get(key_id)
    assert key is not None
    return key


def parse_token(token: str) -> tuple[str, str] | None:
    match = _TOKEN.match(token)
    return (match.group(1), match.group(2)) if match else None


class Authenticator:
    """Turns a bearer token into an Actor. Verified keys are cached briefly, so most requests cost no query;
    a revocation reaches every process within `cache_seconds` (at once in the process that revoked)."""

    def __init__(self, runner: Runner, cache_seconds: float) -> None:
        self._runner = runner
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey]] = {}

    async def authenticate(self, token: str) -> ApiKey | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        key = await self._lookup(key_id)
        if key is None or not key.active or not hmac.compare_digest(key.digest, digest(secret)):
            return None
        return key

    async def active(self, key_id: str) -> ApiKey | None:
        """The key behind a session (its secret was checked at login), if it still exists and is not revoked."""
        key = await self._lookup(key_id)
        return key if key is not None and key.active else None

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)

    async def _lookup(self, key_id: str) -> ApiKey | None:
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        key = await self._runner.run(lambda uow: uow.keys.get(key_id))
        if key is not None and self._ttl > 0:
            self._cache[key_id] = (time.monotonic() + self._ttl, key)
        return key
