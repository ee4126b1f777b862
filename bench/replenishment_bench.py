"""The replenishment feedback loop over a simulated year, three policies on the same demand and lead times.

    .venv/bin/python -m bench.replenishment_bench [--seeds 7,11,23]

Demand grows from 8 to 18 units/day with noise; the supplier promises 7 days and delivers in 5 to 13; sales
beyond what is on hand are lost. Prints, per policy, the stockout days, units lost, average units held and orders
(tests/support/simulation.py holds the model; the unit test asserts feedback < static on seed 7).
"""

from __future__ import annotations

import argparse
import statistics
import time

from tests.support.simulation import DAYS, WARMUP, make_world, simulate

from stockd.adapters.forecasting.statsmodels import StatsmodelsForecaster

POLICIES = ("static", "dynamic", "feedback")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="7,11,23")
    seeds = [int(s) for s in parser.parse_args().seeds.split(",")]
    forecaster = StatsmodelsForecaster(measure_accuracy=False)
    totals: dict[str, list[tuple[int, int, float]]] = {p: [] for p in POLICIES}
    print(f"{DAYS - WARMUP} simulated days per run after an {WARMUP}-day warm-up")
    print(f"{'seed':>4} {'policy':<9} {'stockout days':>13} {'units lost':>10} {'avg held':>9} {'orders':>6} "
          f"{'final SL':>8} {'secs':>5}")
    for seed in seeds:
        world = make_world(seed)
        for policy in POLICIES:
            started = time.perf_counter()
            out = simulate(world, policy, forecaster)
            totals[policy].append((out.stockout_days, out.lost_units, out.average_on_hand))
            print(f"{seed:>4} {policy:<9} {out.stockout_days:>13} {out.lost_units:>10} {out.average_on_hand:>9.1f} "
                  f"{out.orders:>6} {out.final_service_level:>8.4f} {time.perf_counter() - started:>5.1f}")
    for policy, rows in totals.items():
        print(f"mean {policy:<9} {statistics.fmean(r[0] for r in rows):>13.1f} "
              f"{statistics.fmean(r[1] for r in rows):>10.1f} {statistics.fmean(r[2] for r in rows):>9.1f}")


if __name__ == "__main__":
    main()
