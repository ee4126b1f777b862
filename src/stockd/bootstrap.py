"""Composition root: settings in, wired services out. The only place (with entrypoints) that reads Settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from stockd.adapters.bus.in_memory import InMemoryBus
from stockd.adapters.bus.rabbitmq import RabbitPublisher
from stockd.adapters.db.engine import create_engine
from stockd.adapters.db.outbox import Doorbell, SqlOutboxRelay
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.adapters.forecasting.statsmodels import StatsmodelsForecaster
from stockd.config import Settings
from stockd.service_layer.env import Env
from stockd.service_layer.keys import Authenticator
from stockd.service_layer.ports import Clock, Forecaster, IdGenerator, InboxUnitOfWork, Publisher, UnitOfWork
from stockd.service_layer.replenishment import ReplenishmentConfig
from stockd.service_layer.runner import Runner


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass
class Stockd:
    """Everything an entrypoint needs: settings, the engine, and the use-case runner."""

    settings: Settings
    engine: AsyncEngine
    env: Env
    runner: Runner
    authenticator: Authenticator
    publisher: Publisher = field(default_factory=InMemoryBus)
    doorbell: Doorbell = field(default_factory=Doorbell)
    channel_doorbell: Doorbell = field(default_factory=Doorbell)  # rung when a channel falls behind on a SKU
    forecaster: Forecaster = field(default_factory=StatsmodelsForecaster)
    replenishment: ReplenishmentConfig = field(default_factory=ReplenishmentConfig)

    def uow(self) -> UnitOfWork:
        return self.consumer_uow()

    def consumer_uow(self) -> InboxUnitOfWork:
        """A unit of work that also has the inbox (every SQL unit of work does)."""
        return SqlUnitOfWork(self.engine, self.env.new_id, self.doorbell.ring)

    @property
    def bus(self) -> InMemoryBus | None:
        """The in-process bus, to subscribe to, when events are not going to a broker."""
        return self.publisher if isinstance(self.publisher, InMemoryBus) else None

    def relay(self) -> SqlOutboxRelay:
        return SqlOutboxRelay(self.engine, self.publisher, self.env.clock, self.settings.relay_batch_size)

    async def close(self) -> None:
        if isinstance(self.publisher, InMemoryBus | RabbitPublisher):
            await self.publisher.close()
        await self.engine.dispose()


def make_publisher(settings: Settings) -> Publisher:
    url = settings.bus_url.strip()
    if url in ("", "memory://"):
        return InMemoryBus()
    if url.startswith(("amqp://", "amqps://")):
        return RabbitPublisher(url, timeout=settings.relay_publish_timeout_seconds)
    raise ValueError(f"STOCKD_BUS_URL must be memory:// or amqp(s)://..., not {url.split(':', 1)[0]}://")


def bootstrap(
    settings: Settings, clock: Clock | None = None, new_id: IdGenerator | None = None,
    publisher: Publisher | None = None,
) -> Stockd:
    engine = create_engine(settings.database_url, pool_size=settings.pool_size)
    env = Env(clock=clock or SystemClock(), new_id=new_id or new_uuid)
    doorbell = Doorbell()

    def uow_factory() -> UnitOfWork:
        return SqlUnitOfWork(engine, env.new_id, doorbell.ring)

    runner = Runner(uow_factory, env.clock)
    return Stockd(settings, engine, env, runner, Authenticator(runner, settings.auth_cache_seconds),
                  publisher=publisher or make_publisher(settings), doorbell=doorbell,
                  replenishment=replenishment_config(settings))


def replenishment_config(settings: Settings) -> ReplenishmentConfig:
    return ReplenishmentConfig(
        lookback_days=settings.replenish_lookback_days, default_service_level=settings.default_service_level,
        default_cover_days=settings.default_cover_days,
        late_deliveries_before_switch=settings.late_deliveries_before_switch, order_cost=settings.order_cost,
        holding_rate=settings.holding_rate, feedback=settings.replenish_feedback,
    )
