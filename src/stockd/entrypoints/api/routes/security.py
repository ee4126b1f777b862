"""API keys and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from stockd.entrypoints.api.deps import Auditor, IdempotencyDep, KeyManager, StockdDep, respond
from stockd.entrypoints.api.schemas import AuditOut, AuditPage, Code, KeyCreatedOut, KeyIn, KeyOut
from stockd.service_layer import keys
from stockd.service_layer.keys import NewKey
from stockd.service_layer.ports import AuditFilter, UnitOfWork

router = APIRouter(tags=["security"])
KeyId = Path(pattern=r"^[a-f0-9]{16}$")


def _created(new: NewKey) -> dict[str, Any]:
    return KeyCreatedOut(**KeyOut.of(new.key).model_dump(), token=new.token).model_dump(mode="json")


@router.post("/keys", status_code=201, response_model=KeyCreatedOut)
async def create_key(body: KeyIn, stockd: StockdDep, actor: KeyManager, idem: IdempotencyDep) -> JSONResponse:
    """A new API key. The token in the answer is shown this once; only its digest is kept."""
    locations = frozenset(body.locations) if body.locations is not None else None
    outcome = await stockd.runner.write(
        lambda uow: keys.create_key(uow, stockd.env, actor, body.role, body.name, locations, body.channel),
        _created, 201, idem,
    )
    return respond(outcome)


@router.get("/keys", response_model=list[KeyOut])
async def list_keys(stockd: StockdDep, _: KeyManager) -> list[KeyOut]:
    found = await stockd.runner.run(lambda uow: uow.keys.list())
    return [KeyOut.of(k) for k in found]


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_key(request: Request, stockd: StockdDep, actor: KeyManager, key_id: str = KeyId) -> KeyOut:
    """Revoke at once in this process; other processes stop trusting it within STOCKD_AUTH_CACHE_SECONDS."""
    key = await stockd.runner.run(lambda uow: keys.revoke_key(uow, stockd.env, actor, key_id))
    stockd.authenticator.forget(key_id)
    return KeyOut.of(key)


@router.get("/audit", response_model=AuditPage)
async def audit(
    stockd: StockdDep,
    caller: Auditor,
    actor: Annotated[str | None, Query(max_length=120, pattern=r"^[A-Za-z0-9_.:\-]+$")] = None,
    sku: Code | None = None,
    location: Code | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Who changed what: catalog and key changes and every stock movement, newest first."""
    if location is not None:
        caller.check_locations([location])
    query = AuditFilter(actor, sku, location, since, until, limit)

    async def fetch(uow: UnitOfWork) -> list[AuditOut]:
        entries = await uow.audit.list(query)
        return [AuditOut.of(e) for e in entries if e.location is None or caller.may_touch(e.location)]

    return AuditPage(items=await stockd.runner.run(fetch))
