"""Who may do what, and where: roles, permissions and location scopes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from stockd.domain.errors import StockdError


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"
    DEVICE = "device"
    CHANNEL = "channel"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"  # stock, products, locations, reservations, transfers, ledger
    CATALOG_WRITE = "catalog.write"  # products and locations (and later suppliers, POs, channels)
    STOCK_MOVE = "stock.move"  # receive, adjust, transfer, return
    RESERVE = "reserve"  # reserve, commit, release
    SHIP = "ship"  # ship a reservation (the goods leave)
    COUNT = "count"  # cycle counts
    DEVICE_INGEST = "device.ingest"  # device events from scanners, RFID, IoT, WMS
    AUDIT_READ = "audit.read"
    KEYS_MANAGE = "keys.manage"
    CHANNELS_MANAGE = "channels.manage"  # sales channels: buffers, locations, SKU mappings, resync
    PURCHASING = "purchasing"  # suppliers, reorder policies, purchase orders, receiving against them
    COUNT_RESOLVE = "count.resolve"  # accept, recount or reject a count under investigation (unfreezes)
    ALERTS_MANAGE = "alerts.manage"  # acknowledge and resolve alerts
    WEBHOOKS_MANAGE = "webhooks.manage"  # webhook subscriptions and their secrets


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset({
        _P.READ, _P.CATALOG_WRITE, _P.STOCK_MOVE, _P.SHIP, _P.COUNT, _P.AUDIT_READ, _P.CHANNELS_MANAGE,
        _P.PURCHASING, _P.COUNT_RESOLVE, _P.ALERTS_MANAGE,
    }),
    Role.OPERATOR: frozenset({_P.READ, _P.STOCK_MOVE, _P.SHIP, _P.COUNT, _P.ALERTS_MANAGE}),
    Role.DEVICE: frozenset({_P.DEVICE_INGEST}),
    Role.CHANNEL: frozenset({_P.READ, _P.RESERVE}),
    Role.VIEWER: frozenset({_P.READ}),
}


class ForbiddenError(StockdError):
    """Authenticated, but this key may not do this (or not at this location, or not for this channel)."""

    code = "forbidden"


def may(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: never the secret, only its digest."""

    id: str
    name: str
    role: Role
    locations: frozenset[str] | None
    channel: str | None
    digest: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class AuditEntry:
    """A change outside the stock ledger (catalog, keys), or a ledger movement seen as an audit row."""

    occurred_at: datetime
    actor: str
    role: str
    request_id: str | None
    action: str
    target: str | None = None
    sku: str | None = None
    location: str | None = None
    details: dict[str, Any] | None = None
