"""Products and locations in SQL."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import locations, products
from stockd.domain.catalog import Location, LocationKind, Product


def _product(row: Row[*tuple[Any, ...]]) -> Product:
    m = row._mapping
    return Product(m["sku"], m["name"], m["unit_cost"], m["price"], m["created_at"], m["updated_at"])


def _location(row: Row[*tuple[Any, ...]]) -> Location:
    m = row._mapping
    return Location(m["code"], m["name"], LocationKind(m["kind"]), m["created_at"], m["updated_at"])


class SqlProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, product: Product) -> None:
        await self._conn.execute(insert(products).values(**_product_values(product)))

    async def get(self, sku: str) -> Product | None:
        row = (await self._conn.execute(select(products).where(products.c.sku == sku))).first()
        return _product(row) if row else None

    async def list(self, limit: int, offset: int, search: str | None = None) -> builtins.list[Product]:
        stmt = select(products).order_by(products.c.sku).limit(limit).offset(offset)
        if search:
            pattern = f"%{search.lower()}%"
            stmt = stmt.where(products.c.sku.ilike(pattern) | products.c.name.ilike(pattern))
        return [_product(r) for r in await self._conn.execute(stmt)]

    async def update(self, product: Product) -> None:
        values = _product_values(product)
        del values["sku"], values["created_at"]
        await self._conn.execute(update(products).where(products.c.sku == product.sku).values(**values))


def _product_values(p: Product) -> dict[str, Any]:
    return {"sku": p.sku, "name": p.name, "unit_cost": p.unit_cost, "price": p.price,
            "created_at": p.created_at, "updated_at": p.updated_at}


class SqlLocationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, location: Location) -> None:
        await self._conn.execute(
            insert(locations).values(code=location.code, name=location.name, kind=location.kind.value,
                                     created_at=location.created_at, updated_at=location.updated_at)
        )

    async def get(self, code: str) -> Location | None:
        row = (await self._conn.execute(select(locations).where(locations.c.code == code))).first()
        return _location(row) if row else None

    async def list(self, limit: int, offset: int) -> builtins.list[Location]:
        stmt = select(locations).order_by(locations.c.code).limit(limit).offset(offset)
        return [_location(r) for r in await self._conn.execute(stmt)]

    async def update(self, location: Location) -> None:
        await self._conn.execute(
            update(locations).where(locations.c.code == location.code)
            .values(name=location.name, kind=location.kind.value, updated_at=location.updated_at)
        )
