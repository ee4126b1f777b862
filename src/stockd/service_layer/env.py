"""What every use case gets besides its unit of work: the clock, ids and who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from stockd.service_layer.ports import Actor, Clock, IdGenerator

SYSTEM = Actor(name="stockd", role="system")


@dataclass(frozen=True)
class Env:
    clock: Clock
    new_id: IdGenerator
