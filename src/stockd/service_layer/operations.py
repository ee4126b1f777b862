"""Read-only use cases behind the dashboard's operations panels: what needs a person's attention now."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from stockd.domain.alerts import Alert, AlertStatus
from stockd.domain.counting import AbcClass, CountPolicy, CountTask, DueCount
from stockd.domain.replenishment import PoStatus, PurchaseOrder
from stockd.service_layer import alerts, counting
from stockd.service_layer.channel_ports import ChannelSyncSummary
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, AlertFilter, FrozenRow, UnitOfWork

PANEL_ROWS = 50  # the most items a panel lists; the total is still counted where it matters
DUE_SCAN = 5000  # due rows read to count them per location
PO_SCAN = 1000  # purchase orders read per status


@dataclass(frozen=True)
class FrozenSku:
    row: FrozenRow
    count: CountTask | None  # the count under investigation (or the recount it asked for)


@dataclass
class LocationDue:
    location: str
    total: int = 0
    by_class: dict[AbcClass, int] = field(default_factory=lambda: dict.fromkeys(AbcClass, 0))
    first: list[DueCount] = field(default_factory=list)  # A before B before C


@dataclass(frozen=True)
class InTransitPo:
    po: PurchaseOrder
    late: bool  # flagged late, or past its expected date and not yet flagged by the schedule
    days_late: float
    outstanding: int  # units ordered and not yet received

    @property
    def locations(self) -> list[str]:
        return sorted({ln.location for ln in self.po.lines})


async def unresolved_alerts(uow: UnitOfWork, actor: Actor, limit: int = PANEL_ROWS) -> list[Alert]:
    """Open alerts, then acknowledged ones (someone is on it), newest first within each; in the key's scope."""
    found: list[Alert] = []
    for status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
        found += await alerts.list_alerts(uow, actor, AlertFilter(status=status.value, limit=limit))
    return found[:limit]


async def frozen_skus(uow: UnitOfWork, actor: Actor) -> list[FrozenSku]:
    """Rows refusing reservations after a count, each with its reason and the count a manager must settle."""
    rows = await uow.insights.frozen_rows(actor.locations)
    return [FrozenSku(row, await uow.counts.active_for(row.level.sku, row.level.location))
            for row in rows[:PANEL_ROWS]]


async def counts_due_by_location(uow: UnitOfWork, env: Env, actor: Actor, policy: CountPolicy,
                                 shown: int = 5) -> list[LocationDue]:
    """What to count per location: how many rows are due, per ABC class, and the first few (A first)."""
    due = await counting.counts_due(uow, env, actor, policy, None, DUE_SCAN, 0)
    per: dict[str, LocationDue] = {}
    for item in due:
        entry = per.setdefault(item.location, LocationDue(item.location))
        entry.total += 1
        entry.by_class[item.abc_class] += 1
        if len(entry.first) < shown:
            entry.first.append(item)
    return [per[loc] for loc in sorted(per)]


async def channel_sync(uow: UnitOfWork, actor: Actor) -> list[ChannelSyncSummary]:
    """Per channel: SKUs in sync, pending and failing, the last push and a current error. A channel key sees its
    own channel; a location-scoped key the channels fed by one of its locations."""
    fed_by: dict[str, set[str]] = defaultdict(set)
    for channel in await uow.channels.list():
        fed_by[channel.name] = set(channel.locations)
    return [s for s in await uow.channel_sync.summary() if _sees(actor, s.channel, fed_by[s.channel])]


def _sees(actor: Actor, channel: str, locations: set[str]) -> bool:
    if actor.channel is not None and actor.channel != channel:
        return False
    return actor.locations is None or bool(locations & actor.locations)


async def purchase_orders_in_transit(uow: UnitOfWork, env: Env, actor: Actor, limit: int = PANEL_ROWS
                                     ) -> list[InTransitPo]:
    """Sent and partially received purchase orders, late ones first, then by expected date. A location-scoped key
    sees the orders with a line at one of its locations."""
    now = env.clock.now()
    found: list[PurchaseOrder] = []
    for status in (PoStatus.SENT, PoStatus.PARTIALLY_RECEIVED):
        found += await uow.replenishment.list_pos(status, None, PO_SCAN)
    items = []
    for po in found:
        if actor.locations is not None and not any(ln.location in actor.locations for ln in po.lines):
            continue
        overdue = max(0.0, (now - po.expected_at).total_seconds() / 86400)
        items.append(InTransitPo(po, po.late or overdue > 0, overdue,
                                 sum(max(0, ln.outstanding) for ln in po.lines)))
    items.sort(key=lambda i: (not i.late, i.po.expected_at, i.po.id))
    return items[:limit]
