"""Sales channels in SQL: definitions, feeding locations, SKU mappings, and the per-(channel, sku) push state."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.ledger import _RETURNING, level_of
from stockd.adapters.db.tables import channel_listings, channel_locations, channel_sync_state, channels, stock
from stockd.domain.channels import Channel, Connector, Listing, SyncStatus
from stockd.domain.stock import StockLevel
from stockd.service_layer.channel_ports import ChannelSyncSummary, DueItem

_sync = channel_sync_state


def _upsert(conn: AsyncConnection, table: Any) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


class SqlChannelRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, channel: Channel) -> None:
        await self._conn.execute(insert(channels).values(**_channel_values(channel), created_at=channel.created_at))
        await self.set_locations(channel.name, channel.locations)

    async def get(self, name: str) -> Channel | None:
        row = (await self._conn.execute(select(channels).where(channels.c.name == name))).first()
        if row is None:
            return None
        return _channel(row, await self._locations_of([name]))

    async def list(self, active_only: bool = False) -> builtins.list[Channel]:
        stmt = select(channels).order_by(channels.c.name)
        if active_only:
            stmt = stmt.where(channels.c.active.is_(True))
        rows = (await self._conn.execute(stmt)).all()
        feeding = await self._locations_of([r.name for r in rows])
        return [_channel(r, feeding) for r in rows]

    async def update(self, channel: Channel) -> None:
        values = _channel_values(channel)
        del values["name"]
        await self._conn.execute(update(channels).where(channels.c.name == channel.name).values(**values))

    async def set_locations(self, name: str, locations: Sequence[str]) -> None:
        await self._conn.execute(delete(channel_locations).where(channel_locations.c.channel == name))
        if locations:
            await self._conn.execute(insert(channel_locations),
                                     [{"channel": name, "location": code} for code in sorted(set(locations))])

    async def upsert_listings(self, listings: Sequence[Listing], now: datetime) -> None:
        if not listings:
            return
        rows = [{"channel": ln.channel, "sku": ln.sku, "external_id": ln.external_id,
                 "external_location_id": ln.external_location_id, "product_type": ln.product_type,
                 "updated_at": now} for ln in listings]
        stmt = _upsert(self._conn, channel_listings)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["channel", "sku"],
            set_={c: stmt.excluded[c] for c in ("external_id", "external_location_id", "product_type", "updated_at")},
        ), rows)
        # A new mapping starts one generation behind, so the pusher sends it; a changed mapping is sent again.
        state = _upsert(self._conn, _sync)
        await self._conn.execute(state.on_conflict_do_update(
            index_elements=["channel", "sku"],
            set_={"generation": _sync.c.generation + 1, "forced_generation": _sync.c.generation + 1},
        ), [{"channel": ln.channel, "sku": ln.sku, "generation": 1, "synced_generation": 0, "forced_generation": 1,
             "attempts": 0, "failing": False} for ln in listings])

    async def remove_listing(self, channel: str, sku: str) -> bool:
        await self._conn.execute(delete(_sync).where(_sync.c.channel == channel, _sync.c.sku == sku))
        done = await self._conn.execute(
            delete(channel_listings).where(channel_listings.c.channel == channel, channel_listings.c.sku == sku)
        )
        return bool(done.rowcount)

    async def listings(self, channel: str, limit: int, offset: int) -> builtins.list[Listing]:
        stmt = (select(channel_listings).where(channel_listings.c.channel == channel)
                .order_by(channel_listings.c.sku).limit(limit).offset(offset))
        return [_listing(r._mapping) for r in await self._conn.execute(stmt)]

    async def _locations_of(self, names: Sequence[str]) -> dict[str, tuple[str, ...]]:
        if not names:
            return {}
        stmt = (select(channel_locations).where(channel_locations.c.channel.in_(names))
                .order_by(channel_locations.c.channel, channel_locations.c.location))
        found: dict[str, builtins.list[str]] = {}
        for row in await self._conn.execute(stmt):
            found.setdefault(row.channel, []).append(row.location)
        return {name: tuple(codes) for name, codes in found.items()}


def _channel_values(c: Channel) -> dict[str, Any]:
    return {"name": c.name, "connector": c.connector.value, "buffer": c.buffer, "min_reserve": c.min_reserve,
            "active": c.active, "config": dict(c.config), "updated_at": c.updated_at}


def _channel(row: Row[*tuple[Any, ...]], feeding: dict[str, tuple[str, ...]]) -> Channel:
    m = row._mapping
    return Channel(m["name"], Connector(m["connector"]), Decimal(m["buffer"]).quantize(Decimal("0.0001")),
                   int(m["min_reserve"]), bool(m["active"]), dict(m["config"] or {}), feeding.get(m["name"], ()),
                   m["created_at"], m["updated_at"])


def _listing(m: Any) -> Listing:
    return Listing(m["channel"], m["sku"], m["external_id"], m["external_location_id"], m["product_type"])


class SqlChannelSyncStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def mark_changed(self, sku: str, location: str | None) -> int:
        stmt = update(_sync).where(_sync.c.sku == sku).values(generation=_sync.c.generation + 1)
        if location is not None:
            feeding = select(channel_locations.c.channel).where(channel_locations.c.location == location)
            stmt = stmt.where(_sync.c.channel.in_(feeding.scalar_subquery()))
        return int((await self._conn.execute(stmt)).rowcount)

    async def mark_all(self, channel: str | None, force: bool) -> int:
        values: dict[str, Any] = {"generation": _sync.c.generation + 1}
        if force:
            # SET reads the old row: forced_generation becomes the new generation.
            values.update(forced_generation=_sync.c.generation + 1, next_attempt_at=None)
        stmt = update(_sync).values(values)
        if channel is not None:
            stmt = stmt.where(_sync.c.channel == channel)
        return int((await self._conn.execute(stmt)).rowcount)

    async def claim(self, channel: str, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DueItem]:
        due = and_(_sync.c.channel == channel, _sync.c.generation > _sync.c.synced_generation,
                   _free_at(now), or_(_sync.c.next_attempt_at.is_(None), _sync.c.next_attempt_at <= now))
        skus = [r.sku for r in await self._conn.execute(
            select(_sync.c.sku).where(due).order_by(_sync.c.next_attempt_at, _sync.c.sku).limit(limit))]
        if not skus:
            return []
        # The lease is taken with a conditional UPDATE: of two pushers that picked the same rows, each row goes
        # to one (the other's UPDATE finds the lease taken and skips it).
        taken = await self._conn.execute(
            update(_sync).where(_sync.c.channel == channel, _sync.c.sku.in_(skus), _free_at(now))
            .values(lease_until=lease_until).returning(_sync.c.sku)
        )
        leased = sorted(r.sku for r in taken)
        if not leased:
            return []
        stmt = (select(_sync, channel_listings.c.external_id, channel_listings.c.external_location_id,
                       channel_listings.c.product_type)
                .join(channel_listings, and_(channel_listings.c.channel == _sync.c.channel,
                                             channel_listings.c.sku == _sync.c.sku))
                .where(_sync.c.channel == channel, _sync.c.sku.in_(leased)).order_by(_sync.c.sku))
        return [_due(r._mapping) for r in await self._conn.execute(stmt)]

    async def levels(self, skus: Sequence[str], locations: Sequence[str]) -> builtins.list[StockLevel]:
        if not skus or not locations:
            return []
        stmt = select(*_RETURNING).where(stock.c.sku.in_(sorted(set(skus))), stock.c.location.in_(sorted(locations)))
        return [level_of(r) for r in await self._conn.execute(stmt)]

    async def synced(self, channel: str, sku: str, generation: int, quantity: int, pushed_at: datetime | None) -> None:
        values: dict[str, Any] = {"synced_generation": generation, "desired": quantity, "attempts": 0,
                                  "last_error": None, "next_attempt_at": None, "failing": False, "lease_until": None}
        if pushed_at is not None:
            values.update(last_pushed=quantity, pushed_at=pushed_at)
        await self._conn.execute(update(_sync).where(_sync.c.channel == channel, _sync.c.sku == sku).values(values))

    async def failed(self, channel: str, sku: str, desired: int, error: str, attempts: int, failing: bool,
                     next_attempt_at: datetime) -> None:
        await self._conn.execute(
            update(_sync).where(_sync.c.channel == channel, _sync.c.sku == sku)
            .values(desired=desired, last_error=error[:500], attempts=attempts, failing=failing,
                    next_attempt_at=next_attempt_at, lease_until=None)
        )

    async def status(self, channel: str | None, sku: str | None, failing_only: bool, limit: int,
                     offset: int) -> builtins.list[SyncStatus]:
        stmt = select(_sync).order_by(_sync.c.channel, _sync.c.sku).limit(limit).offset(offset)
        if channel is not None:
            stmt = stmt.where(_sync.c.channel == channel)
        if sku is not None:
            stmt = stmt.where(_sync.c.sku == sku)
        if failing_only:
            stmt = stmt.where(_sync.c.failing.is_(True))
        return [_status(r._mapping) for r in await self._conn.execute(stmt)]

    async def summary(self) -> builtins.list[ChannelSyncSummary]:
        behind = _sync.c.generation > _sync.c.synced_generation
        errored = _sync.alias("errored")
        # The error of the SKU retried last: a correlated subquery, one row per channel on both databases.
        last_error = (select(errored.c.last_error)
                      .where(errored.c.channel == _sync.c.channel, errored.c.last_error.is_not(None))
                      .order_by(errored.c.next_attempt_at.desc(), errored.c.sku).limit(1).scalar_subquery())
        stmt = (
            select(_sync.c.channel, func.count().label("skus"),
                   func.sum(case((behind, 0), else_=1)).label("in_sync"),
                   func.sum(case((and_(behind, _sync.c.failing.is_(False)), 1), else_=0)).label("pending"),
                   func.sum(case((_sync.c.failing.is_(True), 1), else_=0)).label("failing"),
                   func.max(_sync.c.pushed_at).label("last_pushed_at"), last_error.label("last_error"))
            .group_by(_sync.c.channel).order_by(_sync.c.channel)
        )
        return [ChannelSyncSummary(r.channel, int(r.skus), int(r.in_sync), int(r.pending), int(r.failing),
                                   r.last_pushed_at, r.last_error) for r in await self._conn.execute(stmt)]

    async def next_due(self, channel: str) -> datetime | None:
        stmt = select(_sync.c.next_attempt_at).where(
            _sync.c.channel == channel, _sync.c.generation > _sync.c.synced_generation,
            _sync.c.next_attempt_at.is_not(None),
        ).order_by(_sync.c.next_attempt_at).limit(1)
        row = (await self._conn.execute(stmt)).first()
        return row.next_attempt_at if row is not None else None


def _free_at(now: datetime) -> ColumnElement[bool]:
    return or_(_sync.c.lease_until.is_(None), _sync.c.lease_until <= now)


def _due(m: Any) -> DueItem:
    return DueItem(_listing(m), int(m["generation"]), m["last_pushed"], int(m["attempts"]), bool(m["failing"]),
                   force=int(m["forced_generation"]) > int(m["synced_generation"]))


def _status(m: Any) -> SyncStatus:
    return SyncStatus(m["channel"], m["sku"], m["desired"], m["last_pushed"], m["pushed_at"], int(m["attempts"]),
                      m["last_error"], m["next_attempt_at"], bool(m["failing"]),
                      pending=int(m["generation"]) > int(m["synced_generation"]))
