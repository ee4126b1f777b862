"""Request-scoped dependencies: the wired services, who is asking, and the idempotency key."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stockd.bootstrap import Stockd
from stockd.domain.errors import ValidationError
from stockd.domain.security import ForbiddenError, Permission, Role, may
from stockd.entrypoints.api.limits import retry_after
from stockd.service_layer.ports import Actor
from stockd.service_layer.runner import Idempotency, Outcome

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def get_stockd(request: Request) -> Stockd:
    stockd: Stockd = request.app.state.stockd
    return stockd


_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer sk_...`")


class UnauthorizedError(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_actor(
    request: Request,
    stockd: Annotated[Stockd, Depends(get_stockd)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Every request but the health checks carries a valid, unrevoked key."""
    if credentials is None:
        raise UnauthorizedError("missing API key: send Authorization: Bearer <key>")
    key = await stockd.authenticator.authenticate(credentials.credentials)
    if key is None:
        # One answer for malformed, unknown and revoked keys: no oracle for guessing.
        raise UnauthorizedError("invalid or revoked API key")
    wait = request.app.state.rate_limiter.acquire(key.id)
    if wait > 0:
        raise HTTPException(429, f"rate limit for key {key.id} exceeded", headers={"Retry-After": retry_after(wait)})
    return Actor(key.id, key.role.value, request.state.request_id, key.locations, key.channel)


def require(permission: Permission) -> Callable[[Actor], Actor]:
    """A dependency that lets the request through only if the key's role grants `permission`."""

    def check(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        if not may(Role(actor.role), permission):
            raise ForbiddenError(f"role {actor.role} may not {permission.value}")
        return actor

    return check


async def get_idempotency(
    request: Request,
    stockd: Annotated[Stockd, Depends(get_stockd)],
    actor: Annotated[Actor, Depends(get_actor)],
    idempotency_key: Annotated[
        str | None,
        Header(description="replays return the first answer and change nothing; reuse with another body is 409"),
    ] = None,
) -> Idempotency | None:
    if idempotency_key is None:
        if stockd.settings.require_idempotency_key:
            raise ValidationError("an Idempotency-Key header is required on every change")
        return None
    if not _KEY.match(idempotency_key):
        raise ValidationError("Idempotency-Key must be 1 to 255 visible ASCII characters")
    digest = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    digest.update(_canonical(await request.body()))
    return Idempotency(scope=actor.name, key=idempotency_key, fingerprint=digest.hexdigest())


def _canonical(body: bytes) -> bytes:
    """The same JSON with other spacing or key order is the same request."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        return body


StockdDep = Annotated[Stockd, Depends(get_stockd)]
Reader = Annotated[Actor, Depends(require(Permission.READ))]
CatalogWriter = Annotated[Actor, Depends(require(Permission.CATALOG_WRITE))]
StockMover = Annotated[Actor, Depends(require(Permission.STOCK_MOVE))]
Reserver = Annotated[Actor, Depends(require(Permission.RESERVE))]
Shipper = Annotated[Actor, Depends(require(Permission.SHIP))]
Auditor = Annotated[Actor, Depends(require(Permission.AUDIT_READ))]
KeyManager = Annotated[Actor, Depends(require(Permission.KEYS_MANAGE))]
DeviceSource = Annotated[Actor, Depends(require(Permission.DEVICE_INGEST))]
IdempotencyDep = Annotated[Idempotency | None, Depends(get_idempotency)]


def respond(outcome: Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
Counter = Annotated[Actor, Depends(require(Permission.COUNT))]
CountResolver = Annotated[Actor, Depends(require(Permission.COUNT_RESOLVE))]
ChannelManager = Annotated[Actor, Depends(require(Permission.CHANNELS_MANAGE))]
Purchaser = Annotated[Actor, Depends(require(Permission.PURCHASING))]
AlertManager = Annotated[Actor, Depends(require(Permission.ALERTS_MANAGE))]
WebhookManager = Annotated[Actor, Depends(require(Permission.WEBHOOKS_MANAGE))]
