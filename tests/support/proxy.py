"""A TCP proxy that adds latency, for widening the windows a fault test needs to hit (STACK.md: no Toxiproxy)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward everything, each chunk `delay` seconds late, in order, without slowing the throughput."""
    due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def later() -> None:
        while True:
            at, chunk = await due.get()
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            if not chunk:
                writer.close()
                return
            writer.write(chunk)
            await writer.drain()

    sending = asyncio.create_task(later())
    try:
        while chunk := await reader.read(65536):
            due.put_nowait((time.monotonic() + delay, chunk))
        due.put_nowait((time.monotonic() + delay, b""))
        await sending
    except (ConnectionError, asyncio.CancelledError):
        sending.cancel()
        writer.close()


@contextlib.asynccontextmanager
async def latency_proxy(host: str, port: int, delay: float) -> AsyncIterator[int]:
    """Listen on a free local port (yielded) and forward to host:port with `delay` added each way."""
    links: set[asyncio.Task[None]] = set()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        for task in (asyncio.create_task(_pipe(client_reader, server_writer, delay)),
                     asyncio.create_task(_pipe(server_reader, client_writer, delay))):
            links.add(task)
            task.add_done_callback(links.discard)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in tuple(links):
            task.cancel()
        await asyncio.gather(*links, return_exceptions=True)
        await server.wait_closed()
