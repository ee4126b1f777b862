"""Request-scoped dependencies: the wired services, who is asking, and the idempotency key."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from stockd.bootstrap import Stockd
from stockd.domain.errors import ValidationError
from stockd.service_layer.ports import Actor
from stockd.service_layer.runner import Idempotency, Outcome

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def get_stockd(request: Request) -> Stockd:
    stockd: Stockd = request.app.state.stockd
    return stockd


def get_actor(request: Request) -> Actor:
    return Actor(name="anonymous", role="admin", request_id=request.state.request_id)


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
ActorDep = Annotated[Actor, Depends(get_actor)]
IdempotencyDep = Annotated[Idempotency | None, Depends(get_idempotency)]


def respond(outcome: Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


def page(items: list[Any]) -> dict[str, Any]:
    return {"items": items}
