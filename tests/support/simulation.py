"""A year of one SKU, day by day, under a reorder policy: the same demand and lead times for every policy compared.

Demand grows (a product catching on) with noise; the supplier promises 7 days but delivers in 5 to 13. Sales
beyond what is on hand are lost (a stockout day); days that start empty are left out of the sales history, as
stockd leaves them out of the ledger's. Policies differ only in how they set the reorder point:
- static: computed once from the first 8 weeks, with the promised lead time, never changed;
- dynamic: recomputed weekly from the forecast (the real Forecaster) and the lead time measured from receipts;
- feedback: dynamic, and each stockout raises the service level, lasting overstock lowers it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from random import Random

from stockd.domain.replenishment import LeadTime, feedback, measured_lead_time, order_quantity, reorder_point
from stockd.service_layer.ports import Forecaster

DAYS = 364
WARMUP = 56
PROMISED_LEAD = 7
COVER_DAYS = 14
PACK = 6


@dataclass(frozen=True)
class World:
    demand: list[int]
    lead_times: list[int]  # the lead time of the n-th order placed


def make_world(seed: int = 7) -> World:
    rnd = Random(seed)
    demand = []
    for day in range(DAYS):
        mean = 8 + 10 * day / DAYS  # 8/day growing to 18/day
        demand.append(max(0, round(rnd.gauss(mean, mean * 0.45))))
    return World(demand, [rnd.randint(5, 13) for _ in range(200)])


@dataclass
class Outcome:
    policy: str
    stockout_days: int = 0
    lost_units: int = 0
    average_on_hand: float = 0.0
    orders: int = 0
    final_service_level: float = 0.95
    service_level_changes: list[str] = field(default_factory=list)


def simulate(world: World, policy: str, forecaster: Forecaster, service_level: float = 0.95) -> Outcome:
    """Run the year; `policy` is static, dynamic or feedback."""
    out = Outcome(policy, final_service_level=service_level)
    on_hand, pipeline, lead_samples = 8 * WARMUP + 60, [], []  # pipeline: (arrival day, quantity, lead days)
    sold: list[float] = []
    rop, base = 0, 0.0
    stockouts_since_review, held = 0, []
    for day in range(DAYS):
        for arrival in [p for p in pipeline if p[0] == day]:
            on_hand += arrival[1]
            lead_samples.append(float(arrival[2]))
            pipeline.remove(arrival)
        wanted = world.demand[day]
        served = min(wanted, on_hand)
        if on_hand > 0:  # as stockd does: a day that starts empty is censored, not a day of zero demand
            sold.append(float(served))
        on_hand -= served
        if wanted > served or (served > 0 and on_hand == 0):
            out.stockout_days += 1
            out.lost_units += wanted - served
            stockouts_since_review += 1
        held.append(on_hand)
        if day == WARMUP or (policy != "static" and day > WARMUP and day % 7 == 0):
            daily, sigma = _forecast(forecaster, sold)
            lead = (LeadTime(PROMISED_LEAD, 0.0, False, 0) if policy == "static"
                    else measured_lead_time(lead_samples, PROMISED_LEAD))
            if policy == "feedback" and day > WARMUP:
                change = feedback(service_level, stockouts_since_review, on_hand / daily if daily else None,
                                  COVER_DAYS)
                if change is not None:
                    service_level = change.service_level
                    out.service_level_changes.append(change.reason)
            stockouts_since_review = 0
            rop = reorder_point(daily, sigma, lead, service_level).reorder_point
            base = daily * COVER_DAYS
        position = on_hand + sum(p[1] for p in pipeline)
        if day >= WARMUP and position <= rop:
            quantity = order_quantity(position, rop, base, PACK, PACK)
            lead_days = world.lead_times[out.orders % len(world.lead_times)]
            pipeline.append((day + lead_days, quantity, lead_days))
            out.orders += 1
    measured = held[WARMUP:]
    out.average_on_hand = statistics.fmean(measured)
    out.final_service_level = service_level
    return out


def _forecast(forecaster: Forecaster, sold: list[float]) -> tuple[float, float]:
    recent = sold[-120:]
    f = forecaster.forecast(recent, 28)
    return f.daily, f.sigma
