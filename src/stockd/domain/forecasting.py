"""Demand forecasting rules that need no library: demand classes, Croston-family recursions, accuracy.

Smooth demand is forecast by an adapter (statsmodels' exponential smoothing with a damped trend); intermittent
demand by the SBA / TSB recursions below, which statsmodels does not offer and which are a few lines each.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# Syntetos-Boylan cut-offs: average inter-demand interval and squared coefficient of variation of sizes.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


class DemandClass(StrEnum):
    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    NONE = "none"  # no demand at all in the window


class ForecastMethod(StrEnum):
    HOLT_DAMPED = "holt_damped"  # exponential smoothing, additive damped trend (statsmodels)
    SES = "ses"  # simple exponential smoothing (short regular history)
    SBA = "sba"  # Syntetos-Boylan approximation of Croston
    TSB = "tsb"  # Teunter-Syntetos-Babai: follows obsolescence
    ZERO = "zero"


@dataclass(frozen=True)
class Accuracy:
    """Forecast errors on a holdout at the end of the history (units per day)."""

    holdout_days: int
    mae: float
    wape: float | None  # sum |error| / sum actual; None when nothing was sold in the holdout
    mase: float | None  # MAE / in-sample naive MAE; None when the naive forecast is perfect


@dataclass(frozen=True)
class DemandForecast:
    """Expected demand per day over the coming horizon, its spread, how it was made and how good it was."""

    daily: float
    sigma: float  # standard deviation of one day's demand around the forecast
    method: ForecastMethod
    demand_class: DemandClass
    trend: float = 0.0  # units/day change per day, from the smoothing model
    accuracy: Accuracy | None = None
    history_days: int = 0


def classify(history: Sequence[float]) -> DemandClass:
    """Syntetos-Boylan-Croston classification by ADI (mean interval between demands) and CV^2 of demand sizes."""
    nonzero = [x for x in history if x > 0]
    if not nonzero:
        return DemandClass.NONE
    adi = len(history) / len(nonzero)
    mean = statistics.fmean(nonzero)
    cv2 = (statistics.pstdev(nonzero) / mean) ** 2 if len(nonzero) > 1 else 0.0
    if adi < ADI_CUTOFF:
        return DemandClass.SMOOTH if cv2 < CV2_CUTOFF else DemandClass.ERRATIC
    return DemandClass.INTERMITTENT if cv2 < CV2_CUTOFF else DemandClass.LUMPY


def sba(history: Sequence[float], alpha: float = 0.1) -> float:
    """Croston's method with the Syntetos-Boylan bias correction: (1 - alpha/2) * size / interval, per day."""
    size: float | None = None
    interval = 1.0
    since = 1
    for x in history:
        if x > 0:
            if size is None:
                size, interval = x, float(since)
            else:
                size += alpha * (x - size)
                interval += alpha * (since - interval)
            since = 1
        else:
            since += 1
    if size is None:
        return 0.0
    return (1 - alpha / 2) * size / interval


def tsb(history: Sequence[float], alpha: float = 0.1, beta: float = 0.1) -> float:
    """Teunter-Syntetos-Babai: smooths the probability of a demand every day, so a dying item fades out."""
    nonzero = [x for x in history if x > 0]
    if not nonzero:
        return 0.0
    probability = len(nonzero) / len(history)
    size = nonzero[0]
    for x in history:
        probability += beta * ((1.0 if x > 0 else 0.0) - probability)
        if x > 0:
            size += alpha * (x - size)
    return probability * size


def accuracy(actual: Sequence[float], predicted: Sequence[float], training: Sequence[float]) -> Accuracy:
    """MAE, WAPE and MASE (scaled by the in-sample one-step naive forecast's MAE)."""
    errors = [abs(a - p) for a, p in zip(actual, predicted, strict=True)]
    mae = statistics.fmean(errors) if errors else 0.0
    total = sum(actual)
    wape = sum(errors) / total if total > 0 else None
    naive = [abs(b - a) for a, b in itertools.pairwise(training)]
    scale = statistics.fmean(naive) if naive else 0.0
    mase = mae / scale if scale > 0 else None
    return Accuracy(len(actual), mae, wape, mase)


def intermittent_forecast(history: Sequence[float], demand_class: DemandClass) -> tuple[float, ForecastMethod]:
    """Lumpy demand (erratic sizes too) is better followed by TSB; intermittent by SBA."""
    if demand_class is DemandClass.LUMPY:
        return tsb(history), ForecastMethod.TSB
    return sba(history), ForecastMethod.SBA
