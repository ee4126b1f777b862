"""A value read from the database at most every `ttl` seconds (per process), for consumers that must not spend a
transaction on every event to learn that it does not concern them."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from stockd.service_layer.ports import UnitOfWork
from stockd.service_layer.runner import Runner

T = TypeVar("T")


class Refreshed(Generic[T]):
    def __init__(self, runner: Runner, read: Callable[[UnitOfWork], Awaitable[T]], ttl: float) -> None:
        self._runner, self._read, self._ttl = runner, read, ttl
        self._value: T | None = None
        self._at = -math.inf

    async def get(self) -> T:
        if self._value is None or time.monotonic() - self._at >= self._ttl:
            self._value = await self._runner.run(self._read)
            self._at = time.monotonic()
        return self._value

    def forget(self) -> None:
        """Read again on the next get()."""
        self._value = None
