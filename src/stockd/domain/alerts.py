"""Alerts: raised once per problem (deduplicated while unresolved), acknowledged, resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AlertKind(StrEnum):
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"
    COUNT_DISCREPANCY = "count_discrepancy"
    SKU_FROZEN = "sku_frozen"
    PO_LATE = "po_late"
    CHANNEL_SYNC_FAILING = "channel_sync_failing"
    RESERVATION_EXPIRY_SPIKE = "reservation_expiry_spike"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # someone is on it; a repeat still counts as the same alert
    RESOLVED = "resolved"


SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.LOW_STOCK: Severity.WARNING,
    AlertKind.OUT_OF_STOCK: Severity.CRITICAL,
    AlertKind.COUNT_DISCREPANCY: Severity.WARNING,
    AlertKind.SKU_FROZEN: Severity.CRITICAL,
    AlertKind.PO_LATE: Severity.WARNING,
    AlertKind.CHANNEL_SYNC_FAILING: Severity.CRITICAL,
    AlertKind.RESERVATION_EXPIRY_SPIKE: Severity.WARNING,
}


def alert_key(kind: AlertKind, *parts: object) -> str:
    """The dedupe key: one unresolved alert per kind and subject (`low_stock:TEE:WH-A`)."""
    return ":".join([kind.value, *("_" if p is None else str(p) for p in parts)])[:200]


@dataclass(frozen=True)
class AlertDraft:
    """An alert about to be raised; if one with the same key is unresolved it counts as a repeat."""

    kind: AlertKind
    key: str
    message: str
    sku: str | None = None
    location: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]


@dataclass(frozen=True)
class Alert:
    id: str
    kind: AlertKind
    key: str
    severity: Severity
    status: AlertStatus
    sku: str | None
    location: str | None
    message: str
    data: dict[str, Any]
    raised_at: datetime
    last_seen_at: datetime
    occurrences: int
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    def event_data(self) -> dict[str, Any]:
        return {"alert_id": self.id, "kind": self.kind.value, "key": self.key, "severity": self.severity.value,
                "sku": self.sku, "location": self.location, "message": self.message, "data": self.data,
                "status": self.status.value, "occurrences": self.occurrences}
