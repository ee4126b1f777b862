"""The Forecaster port on statsmodels: Holt's damped-trend exponential smoothing for regular demand, the
domain's SBA / TSB recursions for intermittent demand, and the accuracy of either on a holdout.

statsmodels and numpy are imported on first use, not at import: `stockd serve` starts without loading them.
"""

from __future__ import annotations

import statistics
import warnings
from collections.abc import Sequence

from stockd.domain.forecasting import (
    Accuracy,
    DemandClass,
    DemandForecast,
    ForecastMethod,
    accuracy,
    classify,
    intermittent_forecast,
)

MIN_HOLT_DAYS = 21  # fewer days than this: simple exponential smoothing (a trend would be noise)
HOLDOUT_DAYS = 14


class StatsmodelsForecaster:
    def __init__(self, measure_accuracy: bool = True) -> None:
        self._measure_accuracy = measure_accuracy  # off: one fit instead of two (simulations, bulk runs)

    def forecast(self, history: Sequence[float], horizon: int) -> DemandForecast:
        """Classify the demand, forecast it, and measure the same method on the last HOLDOUT_DAYS."""
        values = [float(x) for x in history]
        demand_class = classify(values)
        daily, method, trend, sigma = self._fit(values, demand_class, horizon)
        return DemandForecast(daily, sigma, method, demand_class, trend, self._accuracy(values, horizon),
                              len(values))

    def _fit(
        self, values: list[float], demand_class: DemandClass, horizon: int
    ) -> tuple[float, ForecastMethod, float, float]:
        if demand_class is DemandClass.NONE:
            return 0.0, ForecastMethod.ZERO, 0.0, 0.0
        sigma = statistics.pstdev(values) if len(values) > 1 else 0.0
        if demand_class in (DemandClass.INTERMITTENT, DemandClass.LUMPY):
            daily, method = intermittent_forecast(values, demand_class)
            return daily, method, 0.0, sigma
        return self._smooth(values, horizon, sigma)

    def _smooth(self, values: list[float], horizon: int, sigma: float) -> tuple[float, ForecastMethod, float, float]:
        import numpy as np
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        series = np.asarray(values, dtype=float)
        holt = len(values) >= MIN_HOLT_DAYS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short or flat series
            model = ExponentialSmoothing(series, trend="add" if holt else None, damped_trend=holt,
                                         initialization_method="estimated")
            fit = model.fit(use_brute=False)
        path = np.clip(fit.forecast(horizon), 0.0, None)
        residual = float(np.std(fit.resid)) if len(values) > 2 else sigma
        trend = float(path[-1] - path[0]) / max(horizon - 1, 1) if horizon > 1 else 0.0
        method = ForecastMethod.HOLT_DAMPED if holt else ForecastMethod.SES
        return float(np.mean(path)), method, trend, residual

    def _accuracy(self, values: list[float], horizon: int) -> Accuracy | None:
        if not self._measure_accuracy or len(values) < HOLDOUT_DAYS * 2:
            return None
        training, actual = values[:-HOLDOUT_DAYS], values[-HOLDOUT_DAYS:]
        daily, _, _, _ = self._fit(training, classify(training), HOLDOUT_DAYS)
        return accuracy(actual, [daily] * HOLDOUT_DAYS, training)
