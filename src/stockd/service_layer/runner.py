"""Runs a use case in one transaction: retries lost races, replays idempotent requests."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from stockd.domain.errors import IdempotencyKeyReusedError
from stockd.service_layer.ports import Clock, StoredResponse, UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")

MAX_ATTEMPTS = 6


class StorageUnavailableError(Exception):
    """The database cannot be reached; the caller should retry later (HTTP 503)."""


class RetryableConflictError(Exception):
    """Another transaction changed what this one read; running it again gives the right answer."""


@dataclass(frozen=True)
class Idempotency:
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


class Runner:
    """The one place where use cases meet transactions."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def run(self, action: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """One transaction around `action`, committed, retried whole on a lost race. Reads go through here too:
        they may release reservations they find expired."""
        return await self._attempt(action)

    async def write(
        self,
        action: Callable[[UnitOfWork], Awaitable[T]],
        render: Callable[[T], dict[str, Any]],
        status: int,
        idempotency: Idempotency | None = None,
    ) -> Outcome:
        async def step(uow: UnitOfWork) -> Outcome:
            if idempotency is not None:
                stored = await uow.idempotency.get(idempotency.scope, idempotency.key)
                if stored is not None:
                    if stored.fingerprint != idempotency.fingerprint:
                        raise IdempotencyKeyReusedError()
                    return Outcome(stored.status, stored.body, replayed=True)
            body = render(await action(uow))
            if idempotency is not None:
                # Saved in the same transaction as the change: a concurrent twin with the same key
                # collides on the primary key, rolls back whole, and on retry finds this answer.
                stored = StoredResponse(idempotency.fingerprint, status, body)
                await uow.idempotency.save(idempotency.scope, idempotency.key, stored, self._clock.now())
            return Outcome(status, body)

        return await self._attempt(step)

    async def _attempt(self, action: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            uow = self._uow_factory()
            try:
                async with uow:
                    result = await action(uow)
                    await uow.commit()
                    return result
            except RetryableConflictError:
                if attempt == MAX_ATTEMPTS:
                    raise
            except Exception as exc:
                if uow.is_unavailable(exc):
                    raise StorageUnavailableError(str(exc)) from exc
                if not uow.is_transient(exc) or attempt == MAX_ATTEMPTS:
                    raise
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

