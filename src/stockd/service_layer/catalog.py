"""Use cases for products and locations."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from stockd.domain.catalog import Location, Product, check_code
from stockd.domain.errors import AlreadyExistsError, UnknownLocationError, UnknownProductError, ValidationError
from stockd.domain.security import AuditEntry
from stockd.service_layer.commands import CreateLocation, CreateProduct, UpdateLocation, UpdateProduct
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork

MONEY_PLACES = Decimal("0.0001")


async def create_product(uow: UnitOfWork, env: Env, actor: Actor, cmd: CreateProduct) -> Product:
    """A SKU is created once; its price and cost are never negative."""
    check_code(cmd.sku, "SKU")
    if await uow.products.get(cmd.sku) is not None:
        raise AlreadyExistsError(f"product {cmd.sku!r} already exists")
    _check_money(cmd.unit_cost, cmd.price)
    now = env.clock.now()
    product = Product(cmd.sku, cmd.name, _cents(cmd.unit_cost), _cents(cmd.price), now, now)
    await uow.products.add(product)
    await _audit(uow, actor, now, "product.created", product.sku, sku=product.sku,
                 details={"name": product.name, "unit_cost": str(product.unit_cost), "price": str(product.price)})
    return product


async def update_product(uow: UnitOfWork, env: Env, actor: Actor, cmd: UpdateProduct) -> Product:
    current = await get_product(uow, cmd.sku)
    updated = replace(
        current,
        name=cmd.name if cmd.name is not None else current.name,
        unit_cost=_cents(cmd.unit_cost) if cmd.unit_cost is not None else current.unit_cost,
        price=_cents(cmd.price) if cmd.price is not None else current.price,
        updated_at=env.clock.now(),
    )
    _check_money(updated.unit_cost, updated.price)
    await uow.products.update(updated)
    await _audit(uow, actor, updated.updated_at, "product.updated", updated.sku, sku=updated.sku,
                 details={"name": updated.name, "unit_cost": str(updated.unit_cost), "price": str(updated.price)})
    return updated


async def get_product(uow: UnitOfWork, sku: str) -> Product:
    product = await uow.products.get(sku)
    if product is None:
        raise UnknownProductError(sku)
    return product


async def create_location(uow: UnitOfWork, env: Env, actor: Actor, cmd: CreateLocation) -> Location:
    check_code(cmd.code, "location code")
    if await uow.locations.get(cmd.code) is not None:
        raise AlreadyExistsError(f"location {cmd.code!r} already exists")
    now = env.clock.now()
    location = Location(cmd.code, cmd.name, cmd.kind, now, now)
    await uow.locations.add(location)
    await _audit(uow, actor, now, "location.created", location.code, location=location.code,
                 details={"name": location.name, "kind": location.kind.value})
    return location


async def update_location(uow: UnitOfWork, env: Env, actor: Actor, cmd: UpdateLocation) -> Location:
    current = await get_location(uow, cmd.code)
    updated = replace(
        current,
        name=cmd.name if cmd.name is not None else current.name,
        kind=cmd.kind if cmd.kind is not None else current.kind,
        updated_at=env.clock.now(),
    )
    await uow.locations.update(updated)
    await _audit(uow, actor, updated.updated_at, "location.updated", updated.code, location=updated.code,
                 details={"name": updated.name, "kind": updated.kind.value})
    return updated


async def get_location(uow: UnitOfWork, code: str) -> Location:
    location = await uow.locations.get(code)
    if location is None:
        raise UnknownLocationError(code)
    return location


async def _audit(
    uow: UnitOfWork, actor: Actor, now: datetime, action: str, target: str, *, sku: str | None = None,
    location: str | None = None, details: dict[str, Any] | None = None,
) -> None:
    await uow.audit.record(AuditEntry(now, actor.name, actor.role, actor.request_id, action, target, sku, location,
                                      details))


def _check_money(*amounts: Decimal) -> None:
    for amount in amounts:
        if not amount.is_finite() or amount < 0:
            raise ValidationError("prices and costs must be finite and not negative")


def _cents(amount: Decimal) -> Decimal:
    """Money is kept to four decimal places, as stored."""
    return amount.quantize(MONEY_PLACES)
