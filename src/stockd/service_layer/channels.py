"""Use cases for defining sales channels: buffers, feeding locations, SKU mappings, status and resync."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from stockd.domain.channels import (
    MAX_LISTINGS_PER_REQUEST,
    Channel,
    ChannelExistsError,
    ChannelNotFoundError,
    Connector,
    Listing,
    SyncStatus,
    check_buffer,
    check_config,
    check_min_reserve,
    check_name,
)
from stockd.domain.errors import UnknownLocationError, UnknownProductError, ValidationError
from stockd.domain.security import AuditEntry
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork


@dataclass(frozen=True)
class DefineChannel:
    name: str
    connector: Connector
    buffer: Decimal
    min_reserve: int = 0
    locations: tuple[str, ...] = ()
    config: Mapping[str, str] | None = None
    active: bool = True


@dataclass(frozen=True)
class ChangeChannel:
    name: str
    buffer: Decimal | None = None
    min_reserve: int | None = None
    locations: tuple[str, ...] | None = None
    config: Mapping[str, str] | None = None
    active: bool | None = None


async def create_channel(uow: UnitOfWork, env: Env, actor: Actor, cmd: DefineChannel) -> Channel:
    """A channel is defined once, with a buffer in [0, 1] and the locations that feed it."""
    check_name(cmd.name)
    if await uow.channels.get(cmd.name) is not None:
        raise ChannelExistsError(cmd.name)
    await _require_locations(uow, cmd.locations)
    now = env.clock.now()
    channel = Channel(cmd.name, cmd.connector, check_buffer(cmd.buffer), check_min_reserve(cmd.min_reserve),
                      cmd.active, check_config(cmd.connector, cmd.config or {}), tuple(sorted(set(cmd.locations))),
                      now, now)
    await uow.channels.add(channel)
    await _audit(uow, actor, channel, "channel.created")
    return channel


async def update_channel(uow: UnitOfWork, env: Env, actor: Actor, cmd: ChangeChannel) -> Channel:
    """A new buffer, reserve or set of locations changes what the channel may show: every SKU is recomputed."""
    current = await get_channel(uow, cmd.name)
    if cmd.locations is not None:
        await _require_locations(uow, cmd.locations)
    updated = replace(
        current,
        buffer=check_buffer(cmd.buffer) if cmd.buffer is not None else current.buffer,
        min_reserve=check_min_reserve(cmd.min_reserve) if cmd.min_reserve is not None else current.min_reserve,
        locations=tuple(sorted(set(cmd.locations))) if cmd.locations is not None else current.locations,
        config=check_config(current.connector, cmd.config) if cmd.config is not None else current.config,
        active=cmd.active if cmd.active is not None else current.active,
        updated_at=env.clock.now(),
    )
    await uow.channels.update(updated)
    if updated.locations != current.locations:
        await uow.channels.set_locations(updated.name, updated.locations)
    # Recomputed and pushed only where the value changes (not forced).
    await uow.channel_sync.mark_all(updated.name, force=False)
    await _audit(uow, actor, updated, "channel.updated")
    return updated


async def get_channel(uow: UnitOfWork, name: str) -> Channel:
    channel = await uow.channels.get(name)
    if channel is None:
        raise ChannelNotFoundError(name)
    return channel


async def set_listings(uow: UnitOfWork, env: Env, actor: Actor, channel_name: str,
                       listings: Sequence[Listing]) -> list[Listing]:
    """Map SKUs to the channel's ids (all or none); each new or changed mapping is pushed."""
    channel = await get_channel(uow, channel_name)
    if not listings or len(listings) > MAX_LISTINGS_PER_REQUEST:
        raise ValidationError(f"send 1 to {MAX_LISTINGS_PER_REQUEST} listings")
    seen: set[str] = set()
    for listing in listings:
        if listing.sku in seen:
            raise ValidationError(f"SKU {listing.sku!r} appears twice")
        seen.add(listing.sku)
        if await uow.products.get(listing.sku) is None:
            raise UnknownProductError(listing.sku)
        _check_listing(channel, listing)
    mapped = [replace(ln, channel=channel.name) for ln in listings]
    now = env.clock.now()
    await uow.channels.upsert_listings(mapped, now)
    await uow.audit.record(AuditEntry(now, actor.name, actor.role, actor.request_id, "channel.listings_set",
                                      channel.name, details={"skus": sorted(seen)[:50], "count": len(seen)}))
    return mapped


async def remove_listing(uow: UnitOfWork, env: Env, actor: Actor, channel_name: str, sku: str) -> None:
    await get_channel(uow, channel_name)
    if not await uow.channels.remove_listing(channel_name, sku):
        raise UnknownProductError(sku)
    await uow.audit.record(AuditEntry(env.clock.now(), actor.name, actor.role, actor.request_id,
                                      "channel.listing_removed", channel_name, sku=sku))


async def sync_status(uow: UnitOfWork, channel: str | None, sku: str | None, failing_only: bool, limit: int,
                      offset: int) -> list[SyncStatus]:
    """Per channel and SKU: the last value pushed, when, the last error, attempts, and whether it is failing."""
    if channel is not None:
        await get_channel(uow, channel)
    return await uow.channel_sync.status(channel, sku, failing_only, limit, offset)


async def resync(uow: UnitOfWork, env: Env, actor: Actor, channel: str | None) -> int:
    """Recovery: recompute and push every SKU of `channel` (None: every channel), unchanged or not."""
    if channel is not None:
        await get_channel(uow, channel)
    now = env.clock.now()
    marked = await uow.channel_sync.mark_all(channel, force=True)
    await uow.audit.record(AuditEntry(now, actor.name, actor.role, actor.request_id, "channel.resync",
                                      channel or "*", details={"listings": marked}))
    return marked


def _check_listing(channel: Channel, listing: Listing) -> None:
    if channel.connector is Connector.SHOPIFY:
        if not listing.external_id:
            raise ValidationError(f"{listing.sku}: a Shopify listing needs external_id (the InventoryItem gid)")
        if not (listing.external_location_id or channel.config.get("location_id")):
            raise ValidationError(f"{listing.sku}: a Shopify listing needs external_location_id (a Location gid) "
                                  "unless the channel has a location_id")


async def _require_locations(uow: UnitOfWork, locations: Sequence[str]) -> None:
    for code in sorted(set(locations)):
        if await uow.locations.get(code) is None:
            raise UnknownLocationError(code)


async def _audit(uow: UnitOfWork, actor: Actor, channel: Channel, action: str) -> None:
    await uow.audit.record(AuditEntry(
        channel.updated_at, actor.name, actor.role, actor.request_id, action, channel.name,
        details={"connector": channel.connector.value, "buffer": str(channel.buffer),
                 "min_reserve": channel.min_reserve, "locations": list(channel.locations), "active": channel.active},
    ))
