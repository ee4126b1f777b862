"""Settings, read from the environment (prefix STOCKD_). Nothing connects at import."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChannelEndpointSettings(BaseModel):
    """Where a sales channel is and how to authenticate: configuration only, never stored in the database."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="Shopify: https://<shop>.myshopify.com; Amazon: the SP-API regional "
                                      "endpoint; webhook: the URL to POST to")
    token: SecretStr | None = Field(default=None, description="Shopify access token or Amazon LWA access token")
    secret: SecretStr | None = Field(default=None, description="webhook signing secret (HMAC-SHA256)")
    api_version: str = Field(default="2026-04", description="Shopify Admin API version")
    rate_per_second: float | None = Field(default=None, gt=0, description="default: Amazon 5/s, others none")
    timeout_seconds: float = Field(default=10.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STOCKD_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///./stockd.db",
        description="sqlite:///path.db (embedded default) or postgresql://user@host:5432/db",
    )
    pool_size: int = Field(default=20, ge=1, le=500)
    reservation_ttl_seconds: int = Field(default=1800, ge=1, description="default hold before expiry")
    max_reservation_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    require_idempotency_key: bool = False
    idempotency_retention_hours: int = Field(default=48, ge=1)
    auth_cache_seconds: float = Field(default=2.0, ge=0, description="how long a verified key is trusted")
    rate_limit_per_second: float = Field(default=500.0, ge=0, description="per key; 0 turns the limit off")
    rate_limit_burst: int = Field(default=1000, ge=1)
    bus_url: str = Field(
        default="memory://",
        description="memory:// (or empty): the in-process bus; amqp://user:pass@host:5672/ : RabbitMQ",
    )
    relay_batch_size: int = Field(default=200, ge=1, le=10_000, description="outbox events per publish")
    # Commits in the relay's own process wake it at once; this poll only finds other processes' events.
    relay_poll_interval_seconds: float = Field(default=0.2, gt=0, description="idle poll of the outbox")
    relay_publish_timeout_seconds: float = Field(default=5.0, gt=0, description="broker confirms wait")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: str = "info"
    log_json: bool = True
    # Dashboard sessions: set the same secret on every server process behind one address (empty: a random
    # secret per process, so sessions end when it restarts).
    session_secret: str = Field(default="", repr=False, description="at least 32 characters, or empty")
    session_hours: float = Field(default=8.0, gt=0, description="a dashboard login lasts this long")
    # Sales channels: STOCKD_CHANNEL_ENDPOINTS='{"shop": {"base_url": "https://x.myshopify.com", "token": "..."}}'
    channel_endpoints: dict[str, ChannelEndpointSettings] = Field(
        default_factory=dict, description="channel name -> base URL and credentials (JSON)")
    channel_failure_alert_after: int = Field(default=3, ge=1, description="failures before channel.sync_failed")
    channel_retry_base_seconds: float = Field(default=0.25, gt=0)
    channel_retry_max_seconds: float = Field(default=5.0, gt=0, description="backoff cap: a channel that comes "
                                             "back is caught up within this")
    channel_batch_size: int = Field(default=250, ge=1, le=250, description="SKUs per push round per channel")
    channel_poll_interval_seconds: float = Field(default=1.0, gt=0, description="finds other processes' changes")
    channel_lease_seconds: float = Field(default=120.0, gt=0, description="a pusher that died frees its rows "
                                         "after this; longer than a push round")
    # Cycle counting (docs/counting-and-alerts.md)
    abc_window_days: int = Field(default=90, ge=1, le=3650, description="revenue window of the ABC classes")
    abc_a_share: float = Field(default=0.2, gt=0, le=1, description="A: the SKUs making this top share of revenue")
    abc_b_share: float = Field(default=0.3, ge=0, le=1, description="B: the next share of revenue; C the rest")
    abc_recompute_interval_seconds: float = Field(default=86400.0, gt=0, description="scheduled ABC recompute")
    count_interval_a_days: float = Field(default=7, gt=0)
    count_interval_b_days: float = Field(default=30, gt=0)
    count_interval_c_days: float = Field(default=90, gt=0)
    count_auto_adjust_pct: float = Field(default=5.0, ge=0, description="discrepancy adjusted at once, up to")
    count_freeze_pct: float = Field(default=10.0, ge=0, description="discrepancy beyond which the row is frozen")
    schedule_tick_seconds: float = Field(default=60.0, gt=0, description="how often schedules are checked")
    # Alerts and webhooks
    expiry_spike_threshold: int = Field(default=50, ge=1, description="expired reservations per window = a spike")
    expiry_spike_window_seconds: float = Field(default=300.0, gt=0)
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    notification_cache_seconds: float = Field(
        default=1.0, ge=0, description="how stale the consumers' view of webhook subscriptions and out-of-stock "
        "alerts may be (a new subscription gets events from at most this long after it is created)")
    # Replenishment
    replenish_interval_seconds: float = Field(
        default=3600.0, ge=0, description="how often serve/worker run replenishment and the late-PO check; 0: never"
    )
    replenish_lookback_days: int = Field(default=180, ge=14, le=3650, description="days of sales history used")
    default_service_level: float = Field(default=0.95, ge=0.8, le=0.995)
    default_cover_days: int = Field(default=14, ge=1, le=365)
    late_deliveries_before_switch: int = Field(default=3, ge=1, le=100,
                                               description="late deliveries before orders go to the backup")
    order_cost: float = Field(default=50.0, ge=0, description="cost of placing one order line (EOQ)")
    holding_rate: float = Field(default=0.25, gt=0, le=5, description="yearly holding cost / unit cost (EOQ)")
    replenish_feedback: bool = Field(default=True, description="stockouts raise service levels; overstock lowers")
