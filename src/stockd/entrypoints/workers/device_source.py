"""Device events from RabbitMQ (exchange `stockd.devices`) into the same use case as the HTTP endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

from stockd.adapters.bus.rabbitmq_devices import RabbitDeviceSource
from stockd.bootstrap import Stockd
from stockd.entrypoints.device_input import parse
from stockd.service_layer import devices
from stockd.service_layer.ports import Actor


async def run_device_source(stockd: Stockd, stop: asyncio.Event) -> None:
    """Each message's events are recorded (applied, duplicate, stale, superseded or rejected) before its ack."""

    async def handle(raw_events: list[Any], source: str) -> None:
        batch = [parse(raw) for raw in raw_events]
        actor = Actor(name=source[:120], role="device")
        await stockd.runner.run(lambda uow: devices.ingest(uow, stockd.env, actor, batch))

    await RabbitDeviceSource(stockd.settings.bus_url, handle).run(stop)
