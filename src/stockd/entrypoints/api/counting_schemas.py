"""HTTP bodies of cycle counts, ABC classes, alerts and webhooks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AnyUrl, AwareDatetime, BaseModel, Field, StringConstraints

from stockd.domain.alerts import Alert
from stockd.domain.counting import CountTask, DueCount, Resolution, SkuClass
from stockd.domain.webhooks import MAX_PATTERNS, Delivery, Subscription
from stockd.entrypoints.api.schemas import MAX_QUANTITY, Body, Code, Text

Pattern = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9_.*#]+$")]


class AbcClassOut(BaseModel):
    sku: str
    abc_class: str = Field(description="A, B or C")
    revenue: Decimal = Field(description="shipped units x current price over the window")
    window_days: int
    computed_at: datetime

    @classmethod
    def of(cls, c: SkuClass) -> AbcClassOut:
        return cls(sku=c.sku, abc_class=c.abc_class.value, revenue=c.revenue, window_days=c.window_days,
                   computed_at=c.computed_at)


class AbcListOut(BaseModel):
    items: list[AbcClassOut]


class DueCountOut(BaseModel):
    sku: str
    location: str
    abc_class: str
    last_counted_at: datetime | None
    active_count_id: str | None = Field(description="a count already open or under investigation for this row")

    @classmethod
    def of(cls, d: DueCount) -> DueCountOut:
        return cls(sku=d.sku, location=d.location, abc_class=d.abc_class.value, last_counted_at=d.last_counted_at,
                   active_count_id=d.active_count_id)


class DueListOut(BaseModel):
    items: list[DueCountOut]


class OpenCountIn(Body):
    sku: Code
    location: Code


class SubmitCountIn(Body):
    counted: int = Field(strict=True, ge=0, le=MAX_QUANTITY, description="the units found on the shelf")
    counted_at: AwareDatetime | None = Field(default=None, description="when counted; default now")


class ResolveCountIn(Body):
    action: Resolution = Field(description="accept, recount or reject")
    note: Text | None = None


class CountOut(BaseModel):
    """A count task. The system's numbers (snapshot_on_hand, expected, adjustment, discrepancy_pct) are shown only
    to roles that may resolve counts: the counter counts blind."""

    id: str
    sku: str
    location: str
    status: str
    opened_at: datetime
    opened_by: str
    recount_of: str | None
    counted: int | None
    counted_at: datetime | None
    counted_by: str | None
    submitted_at: datetime | None
    outcome: str | None
    resolution: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    snapshot_on_hand: int | None = None
    expected: int | None = None
    adjustment: int | None = None
    discrepancy_pct: Decimal | None = None

    @classmethod
    def of(cls, t: CountTask, sees_system: bool) -> CountOut:
        out = cls(id=t.id, sku=t.sku, location=t.location, status=t.status.value, opened_at=t.opened_at,
                  opened_by=t.opened_by, recount_of=t.recount_of, counted=t.counted, counted_at=t.counted_at,
                  counted_by=t.counted_by, submitted_at=t.submitted_at,
                  outcome=t.outcome.value if t.outcome else None,
                  resolution=t.resolution.value if t.resolution else None, resolved_at=t.resolved_at,
                  resolved_by=t.resolved_by, note=t.note)
        if sees_system:
            out.snapshot_on_hand, out.expected = t.snapshot_on_hand, t.expected
            out.adjustment, out.discrepancy_pct = t.adjustment, t.discrepancy_pct
        return out

    @classmethod
    def render(cls, t: CountTask, sees_system: bool) -> dict[str, Any]:
        data = cls.of(t, sees_system).model_dump(mode="json")
        if not sees_system:
            for name in ("snapshot_on_hand", "expected", "adjustment", "discrepancy_pct"):
                data.pop(name)
        return data


class CountListOut(BaseModel):
    items: list[CountOut]


class ResolutionOut(BaseModel):
    count: CountOut
    recount: CountOut | None


class AlertOut(BaseModel):
    id: str
    kind: str
    key: str
    severity: str
    status: str
    sku: str | None
    location: str | None
    message: str
    data: dict[str, Any]
    raised_at: datetime
    last_seen_at: datetime
    occurrences: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None

    @classmethod
    def render(cls, a: Alert) -> dict[str, Any]:
        return cls(id=a.id, kind=a.kind.value, key=a.key, severity=a.severity.value, status=a.status.value,
                   sku=a.sku, location=a.location, message=a.message, data=a.data, raised_at=a.raised_at,
                   last_seen_at=a.last_seen_at, occurrences=a.occurrences, acknowledged_at=a.acknowledged_at,
                   acknowledged_by=a.acknowledged_by, resolved_at=a.resolved_at,
                   resolved_by=a.resolved_by).model_dump(mode="json")


class AlertListOut(BaseModel):
    items: list[AlertOut]


class WebhookIn(Body):
    url: AnyUrl = Field(description="http(s) URL receiving POSTs")
    event_types: list[Pattern] = Field(min_length=1, max_length=MAX_PATTERNS,
                                       description="event type patterns: alert.*, po.created, stock.#, #",
                                       examples=[["alert.*", "po.created"]])
    description: Text | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    active: bool
    description: str | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, s: Subscription) -> WebhookOut:
        return cls(id=s.id, url=s.url, event_types=list(s.event_types), active=s.active, description=s.description,
                   created_at=s.created_at, created_by=s.created_by)


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="the signing secret (Stockd-Signature); shown only now")


class WebhookListOut(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    response_code: int | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(id=d.id, event_id=d.event_id, event_type=d.event_type, status=d.status.value,
                   attempts=d.attempts, next_attempt_at=d.next_attempt_at, last_error=d.last_error,
                   response_code=d.response_code, created_at=d.created_at, delivered_at=d.delivered_at)


class DeliveryListOut(BaseModel):
    items: list[DeliveryOut]
