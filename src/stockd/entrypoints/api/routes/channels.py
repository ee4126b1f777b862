"""Sales channels: buffers, feeding locations, SKU mappings, push status, resync."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from stockd.domain.channels import Channel
from stockd.entrypoints.api.channel_schemas import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    ListingsIn,
    ListingsOut,
    ResyncOut,
    SyncStatusOut,
    SyncStatusPage,
)
from stockd.entrypoints.api.deps import ChannelManager, IdempotencyDep, Reader, StockdDep, respond
from stockd.entrypoints.api.schemas import CONFLICT, Code
from stockd.service_layer import channels
from stockd.service_layer.ports import UnitOfWork

router = APIRouter(tags=["channels"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.post("/channels", status_code=201, response_model=ChannelOut, responses=CONFLICT)
async def create_channel(body: ChannelIn, stockd: StockdDep, actor: ChannelManager,
                         idem: IdempotencyDep) -> JSONResponse:
    """Define a channel: its connector, buffer, minimum reserve and the locations that feed it."""
    cmd = body.command()
    outcome = await stockd.runner.write(
        lambda uow: channels.create_channel(uow, stockd.env, actor, cmd), ChannelOut.render, 201, idem
    )
    return respond(outcome)


@router.get("/channels", response_model=list[ChannelOut])
async def list_channels(stockd: StockdDep, _: Reader) -> list[ChannelOut]:
    found: list[Channel] = await stockd.runner.run(lambda uow: uow.channels.list())
    return [ChannelOut.of(c) for c in found]


@router.get("/channels/{name}", response_model=ChannelOut)
async def get_channel(name: Code, stockd: StockdDep, _: Reader) -> JSONResponse:
    channel = await stockd.runner.run(lambda uow: channels.get_channel(uow, name))
    return JSONResponse(ChannelOut.render(channel))


@router.patch("/channels/{name}", response_model=ChannelOut)
async def update_channel(name: Code, body: ChannelPatch, stockd: StockdDep, actor: ChannelManager,
                         idem: IdempotencyDep) -> JSONResponse:
    """Change the buffer, reserve, locations, settings or active flag; affected SKUs are pushed again."""
    cmd = body.command(name)
    outcome = await stockd.runner.write(
        lambda uow: channels.update_channel(uow, stockd.env, actor, cmd), ChannelOut.render, 200, idem
    )
    return respond(outcome)


@router.put("/channels/{name}/listings", response_model=ListingsOut)
async def set_listings(name: Code, body: ListingsIn, stockd: StockdDep, actor: ChannelManager,
                       idem: IdempotencyDep) -> JSONResponse:
    """Map SKUs to the channel's ids, in bulk (add or replace each mapping; all or none)."""
    listings = [ln.listing(name) for ln in body.listings]
    outcome = await stockd.runner.write(
        lambda uow: channels.set_listings(uow, stockd.env, actor, name, listings), ListingsOut.render, 200, idem
    )
    return respond(outcome)


@router.get("/channels/{name}/listings", response_model=ListingsOut)
async def list_listings(name: Code, stockd: StockdDep, _: Reader, limit: Limit = 100,
                        offset: Offset = 0) -> JSONResponse:
    async def fetch(uow: UnitOfWork) -> dict[str, Any]:
        await channels.get_channel(uow, name)
        return ListingsOut.render(await uow.channels.listings(name, limit, offset))

    return JSONResponse(await stockd.runner.run(fetch))


@router.delete("/channels/{name}/listings/{sku}", status_code=204)
async def remove_listing(name: Code, sku: Code, stockd: StockdDep, actor: ChannelManager) -> None:
    """Stop syncing a SKU to the channel (the channel keeps the last value it was sent)."""
    await stockd.runner.run(lambda uow: channels.remove_listing(uow, stockd.env, actor, name, sku))


@router.get("/channels/{name}/status", response_model=SyncStatusPage)
async def channel_status(name: Code, stockd: StockdDep, _: Reader, sku: Code | None = None,
                         failing: bool = False, limit: Limit = 100, offset: Offset = 0) -> SyncStatusPage:
    """Per SKU: the last value pushed, when, the last error, consecutive attempts, failing, pending."""
    found = await stockd.runner.run(lambda uow: channels.sync_status(uow, name, sku, failing, limit, offset))
    return SyncStatusPage(items=[SyncStatusOut.of(s) for s in found])


@router.get("/channel-status", response_model=SyncStatusPage)
async def all_status(stockd: StockdDep, _: Reader, sku: Code | None = None, failing: bool = False,
                     limit: Limit = 100, offset: Offset = 0) -> SyncStatusPage:
    """The push state of every channel (filter by SKU, or only the failing ones)."""
    found = await stockd.runner.run(lambda uow: channels.sync_status(uow, None, sku, failing, limit, offset))
    return SyncStatusPage(items=[SyncStatusOut.of(s) for s in found])


@router.post("/channels/{name}/resync", status_code=202, response_model=ResyncOut)
async def resync_channel(name: Code, stockd: StockdDep, actor: ChannelManager) -> ResyncOut:
    """Recovery: recompute and push every SKU of the channel, even those that look unchanged."""
    marked = await stockd.runner.run(lambda uow: channels.resync(uow, stockd.env, actor, name))
    stockd.channel_doorbell.ring()
    return ResyncOut(channel=name, marked=marked)


@router.post("/channel-resync", status_code=202, response_model=ResyncOut)
async def resync_all(stockd: StockdDep, actor: ChannelManager) -> ResyncOut:
    """Recovery: recompute and push every SKU of every channel."""
    marked = await stockd.runner.run(lambda uow: channels.resync(uow, stockd.env, actor, None))
    stockd.channel_doorbell.ring()
    return ResyncOut(channel=None, marked=marked)
