"""Sales channels: what each channel may be shown of a SKU (buffers, reserves, frozen rows) and when to retry.

A channel (a Shopify shop, an Amazon seller account, a wholesale portal behind a webhook) is fed by some
locations. It is shown a *sellable quantity* per SKU, never the raw on-hand:

    sellable = max(0, floor(sum(available at its locations) * buffer) - min_reserve)
    sellable = 0 when the SKU is frozen at any location that feeds the channel

The buffer (0..1) keeps a share back so that several channels selling the same units at once cannot oversell
between two pushes. The minimum reserve is a number of units held back from this channel after the buffer: a
wholesale channel with min_reserve 20 is shown nothing while its buffered pool is 20 or less, and the pool minus
20 above that. The buffer is a Decimal, so 0.7 x 10 is 7, not 6 (binary floats give 6.999...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum

from stockd.domain.catalog import check_code
from stockd.domain.errors import AlreadyExistsError, NotFoundError, ValidationError
from stockd.domain.stock import StockLevel

MAX_LISTINGS_PER_REQUEST = 1000
BUFFER_PLACES = Decimal("0.0001")


class Connector(StrEnum):
    SHOPIFY = "shopify"
    AMAZON = "amazon"
    WEBHOOK = "webhook"


# Connector settings that are not secrets (secrets and base URLs come from the service's configuration).
CONFIG_KEYS: dict[Connector, frozenset[str]] = {
    Connector.SHOPIFY: frozenset({"location_id"}),
    Connector.AMAZON: frozenset({"seller_id", "marketplace_id", "product_type"}),
    Connector.WEBHOOK: frozenset(),
}
REQUIRED_CONFIG: dict[Connector, frozenset[str]] = {
    Connector.SHOPIFY: frozenset(),
    Connector.AMAZON: frozenset({"seller_id", "marketplace_id"}),
    Connector.WEBHOOK: frozenset(),
}


class ChannelNotFoundError(NotFoundError):
    code = "channel_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no channel {name!r}")


class ChannelExistsError(AlreadyExistsError):
    def __init__(self, name: str) -> None:
        super().__init__(f"channel {name!r} already exists")


@dataclass(frozen=True)
class Channel:
    name: str
    connector: Connector
    buffer: Decimal
    min_reserve: int
    active: bool
    config: Mapping[str, str]
    locations: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Listing:
    """A SKU as the channel knows it: Shopify inventory item (+ location) gid, Amazon seller SKU, a webhook id."""

    channel: str
    sku: str
    external_id: str | None = None
    external_location_id: str | None = None
    product_type: str | None = None


@dataclass(frozen=True)
class SyncStatus:
    """What stockd last told a channel about a SKU, and whether it is behind."""

    channel: str
    sku: str
    desired: int | None
    last_pushed: int | None
    pushed_at: datetime | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    failing: bool
    pending: bool


def check_name(name: str) -> str:
    """Channel names appear in URLs, events, keys and configuration: the same alphabet as SKUs and locations."""
    return check_code(name, "channel name")


def check_buffer(buffer: Decimal) -> Decimal:
    """A share between 0 and 1, kept to four decimal places."""
    try:
        if not buffer.is_finite() or buffer < 0 or buffer > 1:
            raise ValidationError("buffer must be between 0 and 1 (e.g. 0.9 shows 90% of available)")
        return buffer.quantize(BUFFER_PLACES)
    except InvalidOperation as exc:
        raise ValidationError("buffer must be a decimal between 0 and 1") from exc


def check_min_reserve(min_reserve: int) -> int:
    if min_reserve < 0:
        raise ValidationError("min_reserve must not be negative")
    return min_reserve


def check_config(connector: Connector, config: Mapping[str, str]) -> dict[str, str]:
    """Only the settings a connector knows, and the ones it needs."""
    unknown = sorted(set(config) - CONFIG_KEYS[connector])
    if unknown:
        allowed = ", ".join(sorted(CONFIG_KEYS[connector])) or "none"
        raise ValidationError(f"unknown {connector.value} setting(s) {', '.join(unknown)}; allowed: {allowed}")
    missing = sorted(REQUIRED_CONFIG[connector] - {k for k, v in config.items() if v})
    if missing:
        raise ValidationError(f"a {connector.value} channel needs {', '.join(missing)}")
    return dict(config)


def sellable_quantity(levels: Iterable[StockLevel], buffer: Decimal, min_reserve: int) -> int:
    """What a channel may show: floor(sum of available x buffer) - min_reserve, at least 0; 0 if any row is frozen."""
    rows = list(levels)
    if any(row.frozen for row in rows):
        return 0
    pool = sum(max(0, row.available) for row in rows)
    shown = (Decimal(pool) * buffer).to_integral_value(rounding=ROUND_FLOOR)
    return max(0, int(shown) - min_reserve)


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before retry number `attempts` (1 = first failure): exponential, capped, with equal jitter
    (`jitter` in [0, 1)), so SKUs that failed together do not retry together, and a channel that comes back
    after a long outage is retried within `cap` seconds."""
    exponent = min(max(attempts - 1, 0), 30)
    ceiling: float = min(cap, base * 2.0**exponent)
    return ceiling * (0.5 + jitter / 2)
