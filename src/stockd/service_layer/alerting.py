"""Which events raise which alerts, and which events clear them (the alert consumer's rules)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Set
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from stockd.domain.alerts import AlertDraft, AlertKind, AlertStatus, alert_key
from stockd.service_layer.alerts import raise_alert, resolve_by_key
from stockd.service_layer.env import Env
from stockd.service_layer.ports import AlertFilter, UnitOfWork

# What the alert consumer binds to (routing keys are `<type>.<location>.<sku>`).
BINDINGS = ("stock.#", "sku.#", "count.#", "po.late.#", "po.received.#", "channel.sync_failed.#",
            "channel.sync_recovered.#")


@dataclass(frozen=True)
class ExpirySpikePolicy:
    """More than `threshold` reservations expiring within `window` is a spike (a checkout or a channel broke)."""

    threshold: int = 50
    window: timedelta = timedelta(minutes=5)


Rule = Callable[[UnitOfWork, Env, ExpirySpikePolicy, Mapping[str, Any]], Awaitable[None]]


async def on_event(uow: UnitOfWork, env: Env, spikes: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    """Apply the alert rules to one event (in the consumer's transaction, with its inbox row)."""
    rule = _RULES.get(str(event.get("type")))
    if rule is not None:
        await rule(uow, env, spikes, event)
    if is_ledger_event(event):
        await _stock_level(uow, env, event)


def _data(event: Mapping[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _row(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    data = _data(event)
    return data.get("sku", event.get("sku")), data.get("location", event.get("location"))


async def _stock_level(uow: UnitOfWork, env: Env, event: Mapping[str, Any]) -> None:
    """Out of stock is decided on the row as it is now, not on the event's numbers: a late or stale event can then
    neither raise a false alert nor clear a true one."""
    sku, location = _row(event)
    if sku is None or location is None:
        return
    level = await uow.stock.get(sku, location)
    await _judge_row(uow, env, sku, location, level.available if level else 0)


async def _judge_row(uow: UnitOfWork, env: Env, sku: str, location: str, available: int) -> None:
    key = alert_key(AlertKind.OUT_OF_STOCK, sku, location)
    if available <= 0:
        await raise_alert(uow, env, AlertDraft(AlertKind.OUT_OF_STOCK, key, f"{sku} is out of stock at {location}",
                                               sku, location, {"available": available}))
    else:
        await resolve_by_key(uow, env, key)


def is_ledger_event(event: Mapping[str, Any]) -> bool:
    return str(event.get("type", "")).startswith("stock.") and "on_hand" in _data(event)


def wants(event: Mapping[str, Any], rows_out_of_stock: Set[tuple[str, str]]) -> bool:
    """Whether an event can change any alert: a rule's event, a ledger event leaving nothing available, or one for a
    row with an open out_of_stock alert. Most stock events are none of these, and need no transaction at all."""
    if str(event.get("type")) in _RULES:
        return True
    if not is_ledger_event(event):
        return False
    return _data(event).get("available") == 0 or _row(event) in rows_out_of_stock


async def rows_out_of_stock(uow: UnitOfWork) -> set[tuple[str, str]]:
    """The rows with an unresolved out_of_stock alert."""
    found: set[tuple[str, str]] = set()
    for status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
        query = AlertFilter(status=status.value, kind=AlertKind.OUT_OF_STOCK.value, limit=100_000)
        found |= {(a.sku, a.location) for a in await uow.alerts.list(query) if a.sku and a.location}
    return found


async def reconcile_out_of_stock(uow: UnitOfWork, env: Env) -> int:
    """The schedule's check: resolve out_of_stock alerts whose row has stock again (an event another process
    skipped, say). Returns how many were resolved."""
    resolved = 0
    for sku, location in sorted(await rows_out_of_stock(uow)):
        level = await uow.stock.get(sku, location)
        if level is not None and level.available > 0:
            await resolve_by_key(uow, env, alert_key(AlertKind.OUT_OF_STOCK, sku, location))
            resolved += 1
    return resolved


async def _low(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    sku, location = _row(event)
    data = _data(event)
    message = f"{sku} at {location}: available {data.get('available')} at or below reorder point " \
              f"{data.get('reorder_point')}"
    await raise_alert(uow, env, AlertDraft(AlertKind.LOW_STOCK, alert_key(AlertKind.LOW_STOCK, sku, location),
                                           message, sku, location, data))


async def _low_cleared(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    await resolve_by_key(uow, env, alert_key(AlertKind.LOW_STOCK, *_row(event)))


async def _expired(uow: UnitOfWork, env: Env, spikes: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    await check_expiry_spike(uow, env, spikes)


async def check_expiry_spike(uow: UnitOfWork, env: Env, spikes: ExpirySpikePolicy) -> None:
    """Raise while reservations expire faster than the threshold; resolve once the rate is back under it."""
    expired = await uow.alerts.expired_reservations_since(env.clock.now() - spikes.window)
    key = alert_key(AlertKind.RESERVATION_EXPIRY_SPIKE)
    if expired > spikes.threshold:
        minutes = spikes.window.total_seconds() / 60
        message = f"{expired} reservations expired in the last {minutes:g} min (threshold {spikes.threshold})"
        await raise_alert(uow, env, AlertDraft(AlertKind.RESERVATION_EXPIRY_SPIKE, key, message,
                                               data={"expired": expired, "threshold": spikes.threshold,
                                                     "window_seconds": spikes.window.total_seconds()}))
    else:
        await resolve_by_key(uow, env, key)


async def _count_recorded(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    sku, location = _row(event)
    data = _data(event)
    key = alert_key(AlertKind.COUNT_DISCREPANCY, sku, location)
    if data.get("outcome") in ("investigating", "frozen"):
        pct = data.get("discrepancy_pct")
        off = "with nothing expected" if pct is None else f"off by {pct}%"
        message = f"count of {sku} at {location}: counted {data.get('counted')}, expected {data.get('expected')} " \
                  f"({off}); waiting for a manager"
        await raise_alert(uow, env, AlertDraft(AlertKind.COUNT_DISCREPANCY, key, message, sku, location, data))
    else:
        await resolve_by_key(uow, env, key)


async def _count_resolved(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    if _data(event).get("resolution") != "recount":
        await resolve_by_key(uow, env, alert_key(AlertKind.COUNT_DISCREPANCY, *_row(event)))


async def _frozen(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    sku, location = _row(event)
    reason = _data(event).get("reason")
    message = f"{sku} is frozen at {location}: no new reservations, channels show 0 ({reason})"
    await raise_alert(uow, env, AlertDraft(AlertKind.SKU_FROZEN, alert_key(AlertKind.SKU_FROZEN, sku, location),
                                           message, sku, location, _data(event)))


async def _unfrozen(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    await resolve_by_key(uow, env, alert_key(AlertKind.SKU_FROZEN, *_row(event)))


async def _po_late(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    data = _data(event)
    message = f"purchase order {data.get('po_id')} from {data.get('supplier')} is {data.get('days_late')} day(s) late"
    await raise_alert(uow, env, AlertDraft(AlertKind.PO_LATE, alert_key(AlertKind.PO_LATE, data.get("po_id")),
                                           message, data=data))


async def _po_received(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    data = _data(event)
    if data.get("status") == "received":
        await resolve_by_key(uow, env, alert_key(AlertKind.PO_LATE, data.get("po_id")))


async def _sync_failed(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    data = _data(event)
    channel, sku = data.get("channel"), data.get("sku")
    message = f"pushes of {sku} to channel {channel} keep failing ({data.get('attempts')} attempts): " \
              f"{data.get('error')}"
    await raise_alert(uow, env, AlertDraft(AlertKind.CHANNEL_SYNC_FAILING,
                                           alert_key(AlertKind.CHANNEL_SYNC_FAILING, channel, sku), message,
                                           sku=sku, data=data))


async def _sync_recovered(uow: UnitOfWork, env: Env, _: ExpirySpikePolicy, event: Mapping[str, Any]) -> None:
    data = _data(event)
    await resolve_by_key(uow, env, alert_key(AlertKind.CHANNEL_SYNC_FAILING, data.get("channel"), data.get("sku")))


_RULES: dict[str, Rule] = {
    "stock.low": _low,
    "stock.low_cleared": _low_cleared,
    "stock.expired": _expired,
    "count.recorded": _count_recorded,
    "count.resolved": _count_resolved,
    "sku.frozen": _frozen,
    "sku.unfrozen": _unfrozen,
    "po.late": _po_late,
    "po.received": _po_received,
    "channel.sync_failed": _sync_failed,
    "channel.sync_recovered": _sync_recovered,
}
