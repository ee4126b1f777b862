"""Alerts: raised once per problem while unresolved (a repeat counts an occurrence), acknowledged, resolved."""

from __future__ import annotations

from dataclasses import replace

from stockd.domain.alerts import Alert, AlertDraft, AlertStatus
from stockd.domain.errors import InvalidStateError, NotFoundError
from stockd.service_layer.env import SYSTEM, Env
from stockd.service_layer.ports import Actor, AlertFilter, UnitOfWork


class AlertNotFoundError(NotFoundError):
    code = "alert_not_found"

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert {alert_id!r}")


async def raise_alert(uow: UnitOfWork, env: Env, draft: AlertDraft) -> tuple[Alert, bool]:
    """Open the alert, or count one more occurrence of the unresolved one with the same key (no new event)."""
    alert, created = await uow.alerts.upsert(draft, env.new_id(), env.clock.now())
    if created:
        await _emit(uow, env, "alert.raised", alert)
    return alert, created


async def get_alert(uow: UnitOfWork, actor: Actor, alert_id: str) -> Alert:
    alert = await uow.alerts.get(alert_id)
    if alert is None:
        raise AlertNotFoundError(alert_id)
    if alert.location is not None:
        actor.check_locations([alert.location])
    return alert


async def list_alerts(uow: UnitOfWork, actor: Actor, query: AlertFilter) -> list[Alert]:
    """Newest first; a location-scoped key sees the alerts of its locations only."""
    if query.location is not None:
        actor.check_locations([query.location])
    return await uow.alerts.list(replace(query, locations=actor.locations))


async def acknowledge(uow: UnitOfWork, env: Env, actor: Actor, alert_id: str) -> Alert:
    """Someone is on it. Acknowledging again changes nothing; a resolved alert cannot be acknowledged."""
    alert = await get_alert(uow, actor, alert_id)
    if alert.status is AlertStatus.ACKNOWLEDGED:
        return alert
    if alert.status is AlertStatus.RESOLVED:
        raise InvalidStateError(f"alert {alert_id} is already resolved")
    return await _move(uow, env, actor.name, alert, AlertStatus.ACKNOWLEDGED, "alert.acknowledged")


async def resolve(uow: UnitOfWork, env: Env, actor: Actor, alert_id: str) -> Alert:
    """Close the alert; the same problem appearing again raises a new one."""
    alert = await get_alert(uow, actor, alert_id)
    if alert.status is AlertStatus.RESOLVED:
        raise InvalidStateError(f"alert {alert_id} is already resolved")
    return await _move(uow, env, actor.name, alert, AlertStatus.RESOLVED, "alert.resolved")


async def resolve_by_key(uow: UnitOfWork, env: Env, key: str, actor: Actor = SYSTEM) -> Alert | None:
    """The condition cleared by itself (stock came back, the SKU was unfrozen ...): close its alert if any."""
    alert = await uow.alerts.unresolved(key)
    if alert is None:
        return None
    return await _move(uow, env, actor.name, alert, AlertStatus.RESOLVED, "alert.resolved")


async def _move(uow: UnitOfWork, env: Env, by: str, alert: Alert, target: AlertStatus, event: str) -> Alert:
    sources = [AlertStatus.OPEN] if target is AlertStatus.ACKNOWLEDGED else [AlertStatus.OPEN,
                                                                           AlertStatus.ACKNOWLEDGED]
    moved = await uow.alerts.transition(alert.id, sources, target, by, env.clock.now())
    if moved is None:
        raise InvalidStateError(f"alert {alert.id} changed concurrently; read it again")
    await _emit(uow, env, event, moved)
    return moved


async def _emit(uow: UnitOfWork, env: Env, type: str, alert: Alert) -> None:
    await uow.events.emit(type, alert.event_data(), env.clock.now(), sku=alert.sku, location=alert.location)
