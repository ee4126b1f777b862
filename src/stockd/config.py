"""Settings, read from the environment (prefix STOCKD_). Nothing connects at import."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
