"""The counting, alerting and webhook policies, read from Settings (only entrypoints and bootstrap read them)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from stockd.config import Settings
from stockd.domain.counting import AbcClass, AbcPolicy, CountPolicy
from stockd.domain.webhooks import RetryPolicy
from stockd.service_layer.alerting import ExpirySpikePolicy


def _decimal(value: float) -> Decimal:
    return Decimal(str(value))


def abc_policy(s: Settings) -> AbcPolicy:
    return AbcPolicy(_decimal(s.abc_a_share), _decimal(s.abc_b_share), s.abc_window_days)


def count_policy(s: Settings) -> CountPolicy:
    intervals = {AbcClass.A: timedelta(days=s.count_interval_a_days),
                 AbcClass.B: timedelta(days=s.count_interval_b_days),
                 AbcClass.C: timedelta(days=s.count_interval_c_days)}
    return CountPolicy(intervals, _decimal(s.count_auto_adjust_pct), _decimal(s.count_freeze_pct))


def spike_policy(s: Settings) -> ExpirySpikePolicy:
    return ExpirySpikePolicy(s.expiry_spike_threshold, timedelta(seconds=s.expiry_spike_window_seconds))


def retry_policy(s: Settings) -> RetryPolicy:
    return RetryPolicy(s.webhook_max_attempts, timedelta(seconds=s.webhook_retry_base_seconds),
                       timedelta(seconds=s.webhook_retry_max_seconds))
