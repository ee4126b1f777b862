"""The replenishment run: demand from the ledger, forecasts, reorder points with feedback, one draft purchase
order per supplier, trimmed to the cash budget.

A run is three steps so that no transaction is held open while models are fitted: read the daily demand (one
transaction), forecast it (CPU, in a thread, no database), then plan and write (one transaction)."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from stockd.domain.forecasting import DemandForecast
from stockd.domain.replenishment import (
    Cut,
    DraftLine,
    LeadTime,
    OrderMethod,
    PolicyChange,
    PoLine,
    PoStatus,
    PurchaseOrder,
    ReorderPolicy,
    Supplier,
    SupplierProduct,
    choose_source,
    eoq,
    feedback,
    fit_budget,
    order_quantity,
    period_of,
    reorder_point,
    stockout_risk,
)
from stockd.domain.stock import StockLevel
from stockd.service_layer.cache import Refreshed
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, Forecaster, UnitOfWork
from stockd.service_layer.purchasing import money, po_event_lines, reliability
from stockd.service_layer.runner import Runner

Key = tuple[str, str]


@dataclass(frozen=True)
class ReplenishmentConfig:
    lookback_days: int = 180
    default_service_level: float = 0.95
    default_cover_days: int = 14
    late_deliveries_before_switch: int = 3
    order_cost: float = 50.0  # per purchase order line, for EOQ
    holding_rate: float = 0.25  # yearly holding cost as a share of unit cost, for EOQ
    overstock_factor: float = 3.0  # stock lasting this many times its cover lowers the service level
    feedback: bool = True
    # Movement kinds that are sales. `removed` is a device seeing units leave a shelf (a till, an RFID gate):
    # in a shop that is a sale, so it counts as demand; set ("shipped",) where devices only see internal moves.
    sales_kinds: tuple[str, ...] = ("shipped", "removed")


@dataclass(frozen=True)
class Demand:
    histories: dict[Key, list[float]]
    start: datetime


@dataclass
class RunResult:
    run_id: str
    ran_at: datetime
    dry_run: bool
    purchase_orders: list[PurchaseOrder] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)
    budgets: list[dict[str, Any]] = field(default_factory=list)
    policies: list[ReorderPolicy] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def read_demand(uow: UnitOfWork, env: Env, config: ReplenishmentConfig, sku: str | None = None) -> Demand:
    """Daily units sold per (sku, location) over the lookback, each series starting at its first sale and
    ending yesterday (today is not over yet), without the days that started out of stock."""
    today = _day(env.clock.now())
    start = today - timedelta(days=config.lookback_days)
    sales = await uow.replenishment.daily_sales(start, today, config.sales_kinds)
    # A day that started with nothing to sell says nothing about demand (a lost sale leaves no movement):
    # it is left out, or a stockout would teach the forecast that nobody wants the item.
    empty = await uow.replenishment.empty_days(start, today)
    days = [(start + timedelta(days=i)).date().isoformat() for i in range(config.lookback_days)]
    histories = {}
    for key, per_day in sales.items():
        if sku is not None and key[0] != sku:
            continue
        first, censored = min(per_day), empty.get(key, set())
        histories[key] = [float(per_day.get(d, 0)) for d in days if d >= first and d not in censored]
    return Demand(histories, start)


def forecast_all(forecaster: Forecaster, demand: Demand, horizon: int = 28) -> dict[Key, DemandForecast]:
    return {key: forecaster.forecast(history, horizon) for key, history in demand.histories.items()}


async def replenish(
    runner: Runner, env: Env, actor: Actor, forecaster: Forecaster, config: ReplenishmentConfig,
    dry_run: bool = False,
) -> RunResult:
    """Find what is at or below its reorder point (counting in-transit) and draft one PO per supplier."""
    demand = await runner.run(lambda uow: read_demand(uow, env, config))
    forecasts = await asyncio.to_thread(forecast_all, forecaster, demand)
    return await runner.run(lambda uow: plan(uow, env, actor, config, forecasts, dry_run))


@dataclass
class _Context:
    """What a run reads once: policies, sources, suppliers, stock rows, open orders, measured lead times."""

    policies: dict[Key, ReorderPolicy]
    links: dict[str, list[SupplierProduct]]
    suppliers: dict[str, Supplier]
    levels: dict[Key, StockLevel]
    drafted: dict[Key, int]
    lead_times: dict[str, LeadTime] = field(default_factory=dict)


async def _context(uow: UnitOfWork) -> _Context:
    links: dict[str, list[SupplierProduct]] = defaultdict(list)
    for link in await uow.replenishment.links():
        links[link.sku].append(link)
    levels = {}
    for sku in sorted(links):
        for level in await uow.stock.for_sku(sku):
            levels[level.key] = level
    drafted: dict[Key, int] = defaultdict(int)
    for line in await uow.replenishment.open_lines():
        if line.status is PoStatus.DRAFT:
            drafted[(line.sku, line.location)] += line.outstanding
    policies = {p.key: p for p in await uow.replenishment.list_policies()}
    suppliers = {s.code: s for s in await uow.replenishment.list_suppliers()}
    return _Context(policies, dict(links), suppliers, levels, dict(drafted))


async def _lead_time(uow: UnitOfWork, ctx: _Context, supplier: str) -> LeadTime:
    if supplier not in ctx.lead_times:
        ctx.lead_times[supplier] = (await reliability(uow, supplier)).lead_time
    return ctx.lead_times[supplier]


async def plan(
    uow: UnitOfWork, env: Env, actor: Actor, config: ReplenishmentConfig, forecasts: dict[Key, DemandForecast],
    dry_run: bool,
) -> RunResult:
    now = env.clock.now()
    result = RunResult(env.new_id(), now, dry_run)
    ctx = await _context(uow)
    keys = sorted({*ctx.policies, *(k for k in ctx.levels if k[0] in ctx.links), *(k for k in forecasts
                                                                                  if k[0] in ctx.links)})
    lines: list[DraftLine] = []
    for key in keys:
        source = choose_source([ln for ln in ctx.links.get(key[0], []) if ctx.suppliers.get(ln.supplier)
                                and ctx.suppliers[ln.supplier].active])
        if source is None:
            continue
        policy = await _review(uow, env, actor, config, ctx, key, source, forecasts.get(key), dry_run)
        result.policies.append(policy)
        line = await _draft_line(uow, config, ctx, policy, source, result)
        if line is not None:
            lines.append(line)
    kept = await _fit_budgets(uow, now, ctx, lines, result)
    for supplier, supplier_lines in sorted(_by_supplier(kept).items()):
        po = _purchase_order(env, now, ctx.suppliers[supplier], supplier_lines, result.run_id)
        result.purchase_orders.append(po)
        if not dry_run:
            await uow.replenishment.add_po(po)
            await uow.events.emit("po.created", {"po_id": po.id, "supplier": po.supplier,
                                                 "lines": po_event_lines(po), "total": money(po.total),
                                                 "currency": po.currency}, now)
    if not dry_run:
        await uow.replenishment.add_run(result.run_id, now, dry_run, run_summary(result))
    return result


async def _review(
    uow: UnitOfWork, env: Env, actor: Actor, config: ReplenishmentConfig, ctx: _Context, key: Key,
    source: SupplierProduct, forecast: DemandForecast | None, dry_run: bool,
) -> ReorderPolicy:
    """Feedback first (stockouts raise the service level, overstock lowers it), then the reorder point from
    the forecast and the source's measured lead time. Every change is stored with its reason."""
    now = env.clock.now()
    old = ctx.policies.get(key) or ReorderPolicy(key[0], key[1], config.default_service_level,
                                                 cover_days=config.default_cover_days)
    daily = forecast.daily if forecast else 0.0
    sigma = forecast.sigma if forecast else 0.0
    level = ctx.levels.get(key) or StockLevel(*key)
    reasons: list[str] = []
    service_level = old.service_level
    if config.feedback and old.computed_at is not None:
        stockouts = await uow.replenishment.stockouts(key[0], key[1], old.reviewed_at or old.computed_at)
        days_of_stock = level.available / daily if daily > 0 else None
        change = feedback(old.service_level, stockouts, days_of_stock, old.cover_days,
                          overstock_factor=config.overstock_factor)
        if change is not None:
            service_level = change.service_level
            reasons.append(change.reason)
    lead = await _lead_time(uow, ctx, source.supplier)
    rop = reorder_point(daily, sigma, lead, service_level)
    how = "measured" if lead.measured else "promised"
    reasons.append(f"forecast {daily:.2f}/day ({forecast.method.value if forecast else 'no sales'}), "
                   f"{how} lead time {lead.mean:.1f}±{lead.std:.1f} days from {source.supplier}, "
                   f"service level {service_level:.4f}")
    base = _base_quantity(config, old, daily, source)
    new = replace(old, service_level=service_level, reorder_point=rop.reorder_point, safety_stock=rop.safety_stock,
                  order_quantity=math.ceil(base), daily_demand=daily, demand_sigma=sigma, lead_time_days=lead.mean,
                  lead_time_std=lead.std, forecast_method=forecast.method.value if forecast else None,
                  supplier=source.supplier, computed_at=now, reviewed_at=now)
    if not dry_run:
        await _record(uow, actor, now, old, new, "; ".join(reasons), ctx.policies.get(key) is None)
        await uow.replenishment.save_policy(new)
    return new


async def _record(uow: UnitOfWork, actor: Actor, now: datetime, old: ReorderPolicy, new: ReorderPolicy,
                  reason: str, first: bool) -> None:
    if new.service_level != old.service_level:
        await uow.replenishment.record_change(PolicyChange(new.sku, new.location, "service_level", old.service_level,
                                                           new.service_level, reason[:300], now, actor.name))
    if new.reorder_point != old.reorder_point or first:
        await uow.replenishment.record_change(PolicyChange(
            new.sku, new.location, "reorder_point", None if first else old.reorder_point, new.reorder_point,
            reason[:300], now, actor.name))
        await uow.events.emit("reorder_point.changed", {
            "sku": new.sku, "location": new.location, "old": None if first else old.reorder_point,
            "new": new.reorder_point, "reason": reason}, now, sku=new.sku, location=new.location)


def _base_quantity(config: ReplenishmentConfig, policy: ReorderPolicy, daily: float, source: SupplierProduct) -> float:
    if policy.static_order_quantity is not None:
        return float(policy.static_order_quantity)
    if policy.order_method is OrderMethod.EOQ:
        return eoq(daily * 365, config.order_cost, float(source.unit_cost), config.holding_rate)
    return daily * policy.cover_days


async def _draft_line(
    uow: UnitOfWork, config: ReplenishmentConfig, ctx: _Context, policy: ReorderPolicy, source: SupplierProduct,
    result: RunResult,
) -> DraftLine | None:
    key = policy.key
    if key in ctx.drafted:
        result.skipped.append({"sku": key[0], "location": key[1], "reason": "already on an open draft PO"})
        return None
    level = ctx.levels.get(key) or StockLevel(*key)
    position = level.available + level.in_transit
    rop = policy.effective_reorder_point
    if rop <= 0 or position > rop:
        return None
    base = float(policy.static_order_quantity) if policy.static_order_quantity is not None else \
        _base_quantity(config, policy, policy.daily_demand, source)
    quantity = order_quantity(position, rop, base, source.pack_size, source.min_order)
    product = await uow.products.get(key[0])
    margin = max(float(product.price - source.unit_cost), 0.0) if product else 0.0
    spread = math.sqrt(policy.lead_time_days * policy.demand_sigma**2 +
                       policy.daily_demand**2 * policy.lead_time_std**2)
    risk = stockout_risk(position, policy.daily_demand * policy.lead_time_days, spread)
    return DraftLine(source.supplier, key[0], key[1], quantity, source.unit_cost, source.pack_size,
                     source.min_order, round(risk * margin, 6))


def _period_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


async def _fit_budgets(
    uow: UnitOfWork, now: datetime, ctx: _Context, lines: Sequence[DraftLine], result: RunResult
) -> list[DraftLine]:
    """Per currency: what remains of this period's budget after the POs already drafted this period."""
    by_currency: dict[str, list[DraftLine]] = defaultdict(list)
    for line in lines:
        by_currency[ctx.suppliers[line.supplier].currency].append(line)
    start, end = _period_bounds(now)
    kept: list[DraftLine] = []
    for currency, group in sorted(by_currency.items()):
        budget = await uow.replenishment.get_budget(period_of(now), currency)
        drafted = sum((ln.amount for ln in group), Decimal(0))
        if budget is None:
            kept.extend(group)
            continue
        spent = await uow.replenishment.committed_spend(start, end, currency)
        remaining = max(budget.amount - spent, Decimal(0))
        fitted, cuts = fit_budget(group, remaining)
        kept.extend(fitted)
        result.cuts.extend(cuts)
        result.budgets.append({"period": budget.period, "currency": currency, "amount": money(budget.amount),
                               "spent_before": money(spent), "remaining_before": money(remaining),
                               "drafted": money(drafted),
                               "kept": money(sum((ln.amount for ln in fitted), Decimal(0)))})
    return kept


def _by_supplier(lines: Sequence[DraftLine]) -> dict[str, list[DraftLine]]:
    grouped: dict[str, list[DraftLine]] = defaultdict(list)
    for line in lines:
        grouped[line.supplier].append(line)
    return grouped


def _purchase_order(env: Env, now: datetime, supplier: Supplier, lines: Sequence[DraftLine],
                    run_id: str) -> PurchaseOrder:
    po_lines = tuple(PoLine(ln.sku, ln.location, ln.quantity, ln.unit_cost) for ln in sorted(
        lines, key=lambda ln: (ln.sku, ln.location)))
    return PurchaseOrder(env.new_id(), supplier.code, PoStatus.DRAFT, supplier.currency, po_lines, now,
                         now + timedelta(days=supplier.lead_time_days), run_id=run_id)


def run_summary(result: RunResult) -> dict[str, Any]:
    """The run as stored and as answered: the POs drafted, what the budget cut and why."""
    return {
        "run_id": result.run_id,
        "ran_at": result.ran_at.isoformat(),
        "dry_run": result.dry_run,
        "purchase_orders": [{"id": po.id, "supplier": po.supplier, "currency": po.currency,
                             "total": money(po.total), "lines": po_event_lines(po)}
                            for po in result.purchase_orders],
        "cuts": [{"supplier": c.supplier, "sku": c.sku, "location": c.location, "requested": c.requested,
                  "kept": c.kept, "cut": c.requested - c.kept, "priority": c.priority,
                  "amount_cut": money(c.amount_cut)} for c in result.cuts],
        "budgets": result.budgets,
        "skipped": result.skipped,
    }


async def apply_stock_event(uow: UnitOfWork, env: Env, event: dict[str, Any]) -> str | None:
    """stock.low once when a row's available crosses to at/below its reorder point; stock.low_cleared when it
    goes back above. The state lives on the policy, so a redelivered or repeated event emits nothing."""
    sku, location, data = event.get("sku"), event.get("location"), event.get("data") or {}
    if not sku or not location or "available" not in data:
        return None
    policy = await uow.replenishment.get_policy(sku, location)
    if policy is None or policy.effective_reorder_point <= 0:
        return None
    available, rop = int(data["available"]), policy.effective_reorder_point
    low = available <= rop
    if not await uow.replenishment.set_low(sku, location, low):
        return None
    kind = "stock.low" if low else "stock.low_cleared"
    await uow.events.emit(kind, {"sku": sku, "location": location, "available": available, "reorder_point": rop},
                          env.clock.now(), sku=sku, location=location)
    return kind


async def forecast_of(
    runner: Runner, env: Env, forecaster: Forecaster, config: ReplenishmentConfig, sku: str, location: str,
) -> tuple[DemandForecast | None, int]:
    """The forecast and holdout accuracy of one SKU at one location (None: no sales in the lookback)."""
    demand = await runner.run(lambda uow: read_demand(uow, env, config, sku))
    history = demand.histories.get((sku, location))
    if history is None:
        return None, 0
    return await asyncio.to_thread(forecaster.forecast, history, 28), len(history)



class LowStockWatch:
    """The rows that have a reorder policy, re-read at most every `ttl` seconds, so that the low-stock watcher
    spends no database round trip on events of rows nobody replenishes (most events, on a busy bus). A policy
    created since the last read is watched from the next read on."""

    def __init__(self, runner: Runner, ttl: float = 30.0) -> None:
        self._keys = Refreshed(runner, _policy_keys, ttl)

    async def concerns(self, sku: str, location: str) -> bool:
        return (sku, location) in await self._keys.get()


async def _policy_keys(uow: UnitOfWork) -> set[Key]:
    return {p.key for p in await uow.replenishment.list_policies()}
