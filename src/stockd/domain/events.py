"""The event envelope (CloudEvents-like) written to the outbox with every change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SOURCE = "stockd"


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    time: datetime
    sku: str | None
    location: str | None
    sequence: int | None
    data: dict[str, Any] = field(default_factory=dict)
    source: str = SOURCE

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time.isoformat(),
            "sku": self.sku,
            "location": self.location,
            "sequence": self.sequence,
            "data": self.data,
        }
