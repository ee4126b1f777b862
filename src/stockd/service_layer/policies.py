"""Reorder policies as a buyer sets them: service level, order method, cover, and static overrides."""

from __future__ import annotations

from dataclasses import dataclass, replace

from stockd.domain.errors import NotFoundError, UnknownLocationError, UnknownProductError
from stockd.domain.replenishment import OrderMethod, PolicyChange, ReorderPolicy, check_service_level
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork

UNSET = -1  # a static override of UNSET in a request clears it


class PolicyNotFoundError(NotFoundError):
    code = "policy_not_found"

    def __init__(self, sku: str, location: str) -> None:
        super().__init__(f"no reorder policy for {sku} at {location} yet (run replenishment, or PUT one)")


@dataclass(frozen=True)
class PolicyOverride:
    service_level: float | None = None
    order_method: OrderMethod | None = None
    cover_days: int | None = None
    static_reorder_point: int | None = None  # UNSET clears
    static_order_quantity: int | None = None  # UNSET clears


async def get_policy(uow: UnitOfWork, actor: Actor, sku: str, location: str) -> ReorderPolicy:
    actor.check_locations([location])
    policy = await uow.replenishment.get_policy(sku, location)
    if policy is None:
        raise PolicyNotFoundError(sku, location)
    return policy


async def override_policy(
    uow: UnitOfWork, env: Env, actor: Actor, sku: str, location: str, override: PolicyOverride,
    default_service_level: float = 0.95, default_cover_days: int = 14,
) -> ReorderPolicy:
    """Set what a buyer decides; a static reorder point replaces the computed one until cleared. Each change is
    recorded with the buyer as its reason."""
    actor.check_locations([location])
    if await uow.products.get(sku) is None:
        raise UnknownProductError(sku)
    if await uow.locations.get(location) is None:
        raise UnknownLocationError(location)
    if override.service_level is not None:
        check_service_level(override.service_level)
    old = await uow.replenishment.get_policy(sku, location) or ReorderPolicy(
        sku, location, default_service_level, cover_days=default_cover_days)
    new = replace(
        old,
        service_level=override.service_level if override.service_level is not None else old.service_level,
        order_method=override.order_method or old.order_method,
        cover_days=override.cover_days if override.cover_days is not None else old.cover_days,
        static_reorder_point=_static(override.static_reorder_point, old.static_reorder_point),
        static_order_quantity=_static(override.static_order_quantity, old.static_order_quantity),
    )
    now = env.clock.now()
    for name in ("service_level", "static_reorder_point", "static_order_quantity", "cover_days"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            await uow.replenishment.record_change(PolicyChange(
                sku, location, name, None if before is None else float(before),
                None if after is None else float(after), f"set by {actor.name}", now, actor.name))
    if old.effective_reorder_point != new.effective_reorder_point:
        await uow.events.emit("reorder_point.changed", {
            "sku": sku, "location": location, "old": old.effective_reorder_point,
            "new": new.effective_reorder_point, "reason": f"static override set by {actor.name}"},
            now, sku=sku, location=location)
    await uow.replenishment.save_policy(new)
    return new


def _static(value: int | None, current: int | None) -> int | None:
    if value is None:
        return current
    return None if value == UNSET else value
