"""Read-only use cases behind the dashboard: the stock table, trends, movers, and the system's health."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stockd.domain.errors import UnknownProductError, ValidationError
from stockd.domain.trends import Movers, rank_movers, sales_series, stock_series
from stockd.service_layer.env import Env
from stockd.service_layer.ports import STOCK_SORT_KEYS, Actor, OutboxLag, StockQuery, StockRow, UnitOfWork
from stockd.service_layer.reservations import expire_due

# Trend windows the dashboard offers: hours of history -> width of a sales bucket.
WINDOWS: dict[int, timedelta] = {24: timedelta(hours=1), 168: timedelta(hours=6), 720: timedelta(days=1)}
MAX_TREND_POINTS = 5000  # the newest movements a stock chart draws; a busier SKU's chart starts later
EVENT_RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Trend:
    sku: str
    name: str
    hours: int
    stock: list[tuple[datetime, int]]  # total on_hand after each movement
    sales: list[tuple[datetime, int]]  # units shipped per bucket
    truncated: bool  # the window held more movements than MAX_TREND_POINTS


@dataclass(frozen=True)
class SystemHealth:
    outbox: OutboxLag
    outbox_age_seconds: float  # of the oldest unpublished event; 0 when none waits
    events_per_second: float  # ledger movements over the last minute


async def stock_table(uow: UnitOfWork, env: Env, actor: Actor, query: StockQuery) -> list[StockRow]:
    """The five numbers per SKU per location the caller may see, searched and sorted; expired holds given back."""
    if query.sort not in STOCK_SORT_KEYS:
        raise ValidationError(f"sort must be one of {', '.join(STOCK_SORT_KEYS)}")
    await expire_due(uow, env, None)
    return await uow.insights.stock_table(replace(query, locations=actor.locations))


async def trend(uow: UnitOfWork, env: Env, actor: Actor, sku: str, hours: int) -> Trend:
    """Stock over time (every movement) and sales per bucket for one SKU over the last `hours`."""
    if hours not in WINDOWS:
        raise ValidationError(f"hours must be one of {', '.join(map(str, WINDOWS))}")
    product = await uow.products.get(sku)
    if product is None:
        raise UnknownProductError(sku)
    now = env.clock.now()
    start = now - timedelta(hours=hours)
    points = await uow.insights.ledger_points(sku, start, MAX_TREND_POINTS, actor.locations)
    current = {lvl.location: lvl.on_hand for lvl in await uow.stock.for_sku(sku) if actor.may_touch(lvl.location)}
    stock = stock_series(current, points)
    truncated = len(points) == MAX_TREND_POINTS
    if stock:
        if not truncated:  # every movement of the window is here: the opening level held since its start
            stock[0] = (start, stock[0][1])
        stock.append((now, stock[-1][1]))  # the level holds until now
    return Trend(sku, product.name, hours, stock, sales_series(points, start, now, WINDOWS[hours]), truncated)


async def movers(uow: UnitOfWork, env: Env, actor: Actor, hours: int, n: int = 5) -> Movers:
    """The SKUs that sold most, and those on the shelf that sold least, over the last `hours`."""
    since = env.clock.now() - timedelta(hours=hours)
    return rank_movers(await uow.insights.sales_by_sku(since, actor.locations), n)


async def system_health(uow: UnitOfWork, env: Env) -> SystemHealth:
    """Outbox lag (events committed but not yet on the bus) and the event rate of the last minute."""
    now = env.clock.now()
    lag = await uow.insights.outbox_lag()
    age = (now - lag.oldest_created_at).total_seconds() if lag.oldest_created_at else 0.0
    recent = await uow.insights.movements_since(now - EVENT_RATE_WINDOW)
    return SystemHealth(lag, max(age, 0.0), recent / EVENT_RATE_WINDOW.total_seconds())
