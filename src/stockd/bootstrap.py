"""Composition root: settings in, wired services out. The only place (with entrypoints) that reads Settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from stockd.adapters.db.engine import create_engine
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.config import Settings
from stockd.service_layer.env import Env
from stockd.service_layer.keys import Authenticator
from stockd.service_layer.ports import Clock, IdGenerator, UnitOfWork
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

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.env.new_id)

    async def close(self) -> None:
        await self.engine.dispose()


def bootstrap(settings: Settings, clock: Clock | None = None, new_id: IdGenerator | None = None) -> Stockd:
    engine = create_engine(settings.database_url, pool_size=settings.pool_size)
    env = Env(clock=clock or SystemClock(), new_id=new_id or new_uuid)

    def uow_factory() -> UnitOfWork:
        return SqlUnitOfWork(engine, env.new_id)

    runner = Runner(uow_factory, env.clock)
    return Stockd(settings, engine, env, runner, Authenticator(runner, settings.auth_cache_seconds))
