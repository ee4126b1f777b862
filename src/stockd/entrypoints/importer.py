"""CSV import: products (and optionally opening stock) in one all-or-nothing transaction."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from stockd.bootstrap import Stockd
from stockd.domain.errors import StockdError, ValidationError
from stockd.domain.transfers import TransferLine
from stockd.service_layer import catalog, commands, stock
from stockd.service_layer.ports import Actor, UnitOfWork

REQUIRED = ("sku", "name", "unit_cost", "price")


@dataclass(frozen=True)
class ImportResult:
    products_created: int
    products_updated: int
    units_received: int


def _money(value: str, column: str, line: int) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValidationError(f"line {line}: {column} {value!r} is not a number") from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"line {line}: {column} must be a non-negative number")
    return amount


def _quantity(value: str, line: int) -> int:
    if not value.strip().isdigit():
        raise ValidationError(f"line {line}: quantity {value!r} must be a whole non-negative number")
    return int(value)


async def import_csv(stockd: Stockd, path: Path, actor: Actor) -> ImportResult:
    """Columns sku,name,unit_cost,price and optionally location,quantity (opening stock received)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationError(f"{path.name}: missing column(s) {', '.join(missing)}")
        rows = list(reader)

    async def apply(uow: UnitOfWork) -> ImportResult:
        created = updated = received = 0
        for line, row in enumerate(rows, start=2):
            try:
                sku, name = row["sku"].strip(), row["name"].strip()
                cost, price = _money(row["unit_cost"], "unit_cost", line), _money(row["price"], "price", line)
                if await uow.products.get(sku) is None:
                    await catalog.create_product(uow, stockd.env, actor, commands.CreateProduct(sku, name, cost, price))
                    created += 1
                else:
                    await catalog.update_product(uow, stockd.env, actor, commands.UpdateProduct(sku, name, cost, price))
                    updated += 1
                location, qty = (row.get("location") or "").strip(), _quantity(row.get("quantity") or "0", line)
                if location and qty:
                    receipt = commands.Receive(location, (TransferLine(sku, qty),), reference=f"import {path.name}")
                    await stock.receive(uow, stockd.env, actor, receipt)
                    received += qty
            except StockdError as exc:
                raise ValidationError(f"line {line}: {exc}") from exc
        return ImportResult(created, updated, received)

    return await stockd.runner.run(apply)
