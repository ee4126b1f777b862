"""Products (SKUs) and locations: what is stocked, and where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THIRD_PARTY = "3pl"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_cost: Decimal
    price: Decimal
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Location:
    code: str
    name: str
    kind: LocationKind
    created_at: datetime
    updated_at: datetime
