"""Replenishment rules without I/O: demand classes, Croston-family forecasts, accuracy, reorder points, order
quantities, the budget cut and the feedback loop (and its effect over a simulated year)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from stockd.adapters.forecasting.statsmodels import StatsmodelsForecaster
from stockd.domain.forecasting import DemandClass, ForecastMethod, accuracy, classify, sba, tsb
from stockd.domain.replenishment import (
    MAX_SERVICE_LEVEL,
    DraftLine,
    LeadTime,
    eoq,
    feedback,
    fit_budget,
    measured_lead_time,
    order_quantity,
    reorder_point,
    round_to_pack,
)
from tests.support.simulation import make_world, simulate


def test_demand_is_classified_by_interval_and_size_variation() -> None:
    assert classify([5, 6, 5, 4, 6, 5]) is DemandClass.SMOOTH
    assert classify([1, 20, 2, 30, 1, 25]) is DemandClass.ERRATIC
    assert classify([0, 0, 5, 0, 0, 5, 0, 0, 6]) is DemandClass.INTERMITTENT
    assert classify([0, 0, 1, 0, 0, 30, 0, 0, 2]) is DemandClass.LUMPY
    assert classify([0, 0, 0]) is DemandClass.NONE


def test_sba_estimates_the_rate_of_intermittent_demand_and_tsb_fades_a_dead_item() -> None:
    every_fourth_day = [0, 0, 0, 8] * 30  # 2 units/day on average
    assert sba(every_fourth_day) == pytest.approx(2 * (1 - 0.05), rel=0.02)  # the SBA bias correction
    assert tsb(every_fourth_day) == pytest.approx(2.0, rel=0.2)  # just after a demand: a little above
    died = every_fourth_day + [0] * 60
    assert tsb(died) < 0.01 * 2 + 0.01 < sba(died), "TSB follows obsolescence, Croston/SBA does not"


def test_accuracy_reports_mae_wape_and_mase() -> None:
    result = accuracy([10, 12, 8], [10, 10, 10], [9, 11, 10, 12])
    assert result.mae == pytest.approx(4 / 3)
    assert result.wape == pytest.approx(4 / 30)
    assert result.mase == pytest.approx((4 / 3) / (5 / 3))


def test_the_forecaster_picks_a_method_per_demand_class_and_follows_a_trend() -> None:
    forecaster = StatsmodelsForecaster()
    rising = [10 + 0.5 * day + (day % 3) for day in range(60)]
    smooth = forecaster.forecast(rising, 28)
    assert smooth.method is ForecastMethod.HOLT_DAMPED and smooth.trend > 0
    assert smooth.daily > rising[-1] - 2, "a trend is carried forward, not averaged away"
    assert smooth.accuracy is not None and smooth.accuracy.wape is not None and smooth.accuracy.wape < 0.15
    sparse = forecaster.forecast([0, 0, 0, 0, 8] * 12, 28)
    assert sparse.method is ForecastMethod.SBA and 1.3 < sparse.daily < 1.7


def test_reorder_point_covers_demand_and_lead_time_variability() -> None:
    promised = reorder_point(10, 3, LeadTime(7, 0, False, 0), 0.95)
    assert promised.demand_over_lead_time == 70
    assert promised.safety_stock == math.ceil(1.6449 * math.sqrt(7 * 9))
    shaky = reorder_point(10, 3, LeadTime(7, 2, True, 5), 0.95)
    assert shaky.safety_stock == math.ceil(1.6449 * math.sqrt(7 * 9 + 100 * 4))
    assert reorder_point(10, 3, LeadTime(7, 2, True, 5), 0.99).reorder_point > shaky.reorder_point
    assert measured_lead_time([9, 11], 7) == LeadTime(10, math.sqrt(2), True, 2)
    assert measured_lead_time([9], 7) == LeadTime(7, 0, False, 1), "one receipt is not a measurement yet"


def test_order_quantities_are_whole_packs_above_the_minimum() -> None:
    assert round_to_pack(1, 12, 24) == 24
    assert round_to_pack(25, 12, 24) == 36
    assert order_quantity(position=10, rop=20, base=5, pack_size=6, min_order=0) == 18  # up to 25 -> 15 -> 3 packs
    assert math.isclose(eoq(3650, 50, 4, 0.25), math.sqrt(2 * 3650 * 50 / 1.0))


def _line(sku: str, quantity: int, cost: str, priority: float) -> DraftLine:
    return DraftLine("ACME", sku, "WH", quantity, Decimal(cost), 10, 20, priority)


def test_the_budget_cuts_the_lowest_priority_first_in_whole_packs() -> None:
    lines = [_line("KEEP", 100, "5", 9.0), _line("TRIM", 100, "5", 1.0), _line("MID", 100, "5", 4.0)]
    kept, cuts = fit_budget(lines, Decimal(1100))
    assert {ln.sku: ln.quantity for ln in kept} == {"KEEP": 100, "MID": 100, "TRIM": 20}
    assert sum(ln.amount for ln in kept) <= 1100
    assert [(c.sku, c.requested, c.kept) for c in cuts] == [("TRIM", 100, 20)]
    kept, cuts = fit_budget(lines, Decimal(600))
    assert {ln.sku: ln.quantity for ln in kept} == {"KEEP": 100, "MID": 20}, "below the minimum order: dropped"
    assert [c.sku for c in cuts] == ["TRIM", "MID"]
    assert fit_budget(lines, Decimal(10_000)) == (lines, [])


def test_stockouts_raise_the_service_level_and_overstock_lowers_it() -> None:
    raised = feedback(0.95, stockouts=2, days_of_stock=1, cover_days=14)
    assert raised is not None and raised.service_level == 0.975 and "2 stockout" in raised.reason
    assert feedback(MAX_SERVICE_LEVEL, 1, 1, 14) is None, "already at the ceiling"
    lowered = feedback(0.95, stockouts=0, days_of_stock=60, cover_days=14)
    assert lowered is not None and lowered.service_level == 0.93 and "60 days" in lowered.reason
    assert feedback(0.95, 0, 20, 14) is None


def test_the_feedback_loop_has_fewer_stockouts_than_a_static_reorder_point() -> None:
    """A year of growing demand and unreliable lead times (tests/support/simulation.py; bench prints more)."""
    world = make_world(seed=7)
    forecaster = StatsmodelsForecaster(measure_accuracy=False)
    static = simulate(world, "static", forecaster)
    loop = simulate(world, "feedback", forecaster)
    print(f"\nstatic reorder point: {static.stockout_days} stockout days, {static.lost_units} units lost, "
          f"{static.average_on_hand:.1f} units held on average")
    print(f"dynamic + feedback:   {loop.stockout_days} stockout days, {loop.lost_units} units lost, "
          f"{loop.average_on_hand:.1f} units held on average, service level -> {loop.final_service_level}")
    assert loop.stockout_days < static.stockout_days / 2
    assert loop.lost_units < static.lost_units / 2
    assert loop.service_level_changes, "the loop changed the service level, with reasons"
