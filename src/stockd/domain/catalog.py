"""Products (SKUs) and locations: what is stocked, and where."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from stockd.domain.errors import ValidationError

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$")


def check_code(value: str, what: str) -> str:
    """SKUs and location codes: letters, digits and . _ : - ; at most 64; they appear in URLs and routing keys."""
    if not _CODE.match(value):
        raise ValidationError(f"{what} {value!r} must be 1-64 letters, digits or . _ : - and start with one")
    return value


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
