"""Reservation throughput and latency on ONE hot SKU, on PostgreSQL.

Three levels, each at several concurrency levels, each on a fresh database:

  service    stockd's use case `reserve` through `Stockd.runner`, N asyncio tasks in this process
  http       POST /v1/reservations against a real `stockd serve` subprocess, N httpx clients
  reference  the design's reference: SELECT ... FOR UPDATE, check in Python, UPDATE, then the same
             four INSERTs stockd writes (reservation, line, movement, outbox), in SQLAlchemy Core

Every scenario ends with a correctness check: the stock row's `reserved` equals the number of
successful reservations, one reservations row per success, and reconciliation finds no drift.

    .venv/bin/python -m bench.reserve_bench --seconds 3
    .venv/bin/python bench/reserve_bench.py --levels service,reference --clients 1,32
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from stockd.adapters.db import migrate
from stockd.adapters.db.engine import async_url
from stockd.adapters.db.tables import movements, outbox, reservation_lines, reservations, stock
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.catalog import LocationKind
from stockd.domain.errors import InsufficientStockError
from stockd.domain.events import Event
from stockd.domain.movements import Drift
from stockd.domain.reservations import Line, Reservation
from stockd.domain.security import Role
from stockd.domain.transfers import TransferLine
from stockd.service_layer import catalog, commands
from stockd.service_layer import reservations as reservation_uc
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.keys import create_key
from stockd.service_layer.ports import Actor, UnitOfWork

SKU = "BENCH-HOT-1"
LOCATION = "WH-BENCH"
ACTOR = Actor(name="bench", role="admin")
TTL = timedelta(hours=1)
LEVELS = ("service", "http", "reference")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
OK, CONFLICT = "ok", "conflict"
DRAIN_GRACE_SECONDS = 60.0
SERVER_START_SECONDS = 30.0

Call = Callable[[], Awaitable[str]]


# ---------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup: float
    clients: tuple[int, ...]
    levels: tuple[str, ...]
    postgres_url: str
    pool_size: int
    stock: int


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description="Reservations/s and latency on one hot SKU (PostgreSQL).")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="unmeasured seconds before each measurement")
    parser.add_argument("--clients", default="1,32,128", help="comma-separated concurrency levels")
    parser.add_argument("--levels", default=",".join(LEVELS), help=f"comma-separated, of {', '.join(LEVELS)}")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="admin URL; bench databases are created and dropped next to it")
    parser.add_argument("--pool-size", type=int, default=20,
                        help="stockd pool_size, in this process or the server (overflow adds half again); "
                             "1.5x of it must fit in PostgreSQL's free connection slots")
    parser.add_argument("--stock", type=int, default=10_000_000, help="units on hand of the hot SKU")
    args = parser.parse_args(argv)
    clients = tuple(int(c) for c in args.clients.split(",") if c.strip())
    levels = tuple(level.strip() for level in args.levels.split(",") if level.strip())
    if not clients or min(clients) < 1:
        parser.error("--clients needs positive integers")
    if unknown := set(levels) - set(LEVELS):
        parser.error(f"unknown level(s): {', '.join(sorted(unknown))}")
    if make_url(args.postgres_url).host not in LOCAL_HOSTS:
        parser.error("--postgres-url must point at 127.0.0.1: this bench only talks to the local machine")
    if args.seconds <= 0 or args.warmup < 0:
        parser.error("--seconds must be positive and --warmup not negative")
    return Options(args.seconds, args.warmup, clients, levels, args.postgres_url, args.pool_size, args.stock)


# ---------------------------------------------------------------------------- databases


class PostgresAdmin:
    """Creates, inspects and drops the throwaway bench databases through the admin URL."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self._engine = create_async_engine(
            async_url(admin_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )

    def url_of(self, name: str) -> str:
        return make_url(self._admin_url).set(database=name).render_as_string(hide_password=False)

    async def create(self) -> str:
        name = f"stockd_bench_{uuid.uuid4().hex[:10]}"
        async with self._engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        return name

    async def drop(self, name: str) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def transaction_stats(self, name: str) -> dict[str, int]:
        """Rollbacks and deadlocks PostgreSQL counted in that database (flushed when backends exit)."""
        await asyncio.sleep(0.5)  # backends of the disposed pool or stopped server flush their stats on exit
        stmt = text("SELECT xact_rollback, deadlocks FROM pg_stat_database WHERE datname = :name")
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt, {"name": name})).one()
        return {"rollbacks": int(row.xact_rollback), "deadlocks": int(row.deadlocks)}

    async def free_connection_slots(self) -> int:
        stmt = text(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def close(self) -> None:
        await self._engine.dispose()


async def warn_if_pool_too_big(admin: PostgresAdmin, pool_size: int) -> None:
    """A pool PostgreSQL cannot serve turns into 'too many clients' errors (and starves its other users)."""
    needed = pool_size + pool_size // 2 + 2
    free = await admin.free_connection_slots()
    if needed > free:
        print(f"WARNING: up to {needed} connections needed, PostgreSQL has {free} free slots now; "
              "lower --pool-size or expect 'too many clients' errors", flush=True)


@contextlib.asynccontextmanager
async def fresh_database(admin: PostgresAdmin) -> AsyncIterator[str]:
    """A new, migrated database, dropped afterwards whatever happens."""
    name = await admin.create()
    try:
        await migrate.upgrade_async(admin.url_of(name))
        yield name
    finally:
        await admin.drop(name)


async def seed(services: Stockd, quantity: int) -> None:
    """One product, one location, `quantity` on hand: through the use cases, as tests/conftest.py does."""

    async def run(uow: UnitOfWork) -> None:
        env = services.env
        await catalog.create_product(
            uow, env, SYSTEM, commands.CreateProduct(SKU, "Hot product", Decimal("2.50"), Decimal("10.00"))
        )
        await catalog.create_location(
            uow, env, SYSTEM, commands.CreateLocation(LOCATION, "Bench warehouse", LocationKind.WAREHOUSE)
        )
        await stock_uc.receive(uow, env, SYSTEM, commands.Receive(LOCATION, (TransferLine(SKU, quantity),)))

    await services.runner.run(run)


# ---------------------------------------------------------------------------- load driver


@dataclass(frozen=True)
class Window:
    """Calls that complete inside [start, end) are measured; none start after end."""

    start: float
    end: float


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, successes completed in the window
    ok_total: int = 0  # every success, warmup and drain included: what the database must show
    conflicts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)

    def record(self, outcome: str, started: float, done: float, window: Window) -> None:
        if outcome == OK:
            self.ok_total += 1
            if window.start <= done < window.end:
                self.latencies.append(done - started)
        elif outcome == CONFLICT:
            self.conflicts += 1
        else:
            self.errors[outcome.split(":", 1)[0]] += 1
            self.first_error.setdefault(outcome.split(":", 1)[0], outcome)


async def _outcome(call: Call) -> str:
    try:
        return await call()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"


async def _worker(call: Call, window: Window, tally: Tally) -> None:
    while (started := time.perf_counter()) < window.end:
        outcome = await _outcome(call)
        tally.record(outcome, started, time.perf_counter(), window)


async def drive(call: Call, clients: int, warmup: float, seconds: float) -> Tally:
    """`clients` concurrent loops of `call` for warmup + seconds; in-flight calls are let finish."""
    tally = Tally()
    now = time.perf_counter()
    window = Window(now + warmup, now + warmup + seconds)
    async with asyncio.timeout(warmup + seconds + DRAIN_GRACE_SECONDS):
        await asyncio.gather(*(_worker(call, window, tally) for _ in range(clients)))
    return tally


# ---------------------------------------------------------------------------- the three calls


def service_call(services: Stockd, attempts: Counter[str]) -> Call:
    """stockd's path, as the HTTP route runs it: runner.write -> reserve (retries happen in the runner)."""
    cmd = commands.Reserve(lines=(Line(SKU, LOCATION, 1),), ttl=TTL)

    def action(uow: UnitOfWork) -> Awaitable[Reservation]:
        attempts["attempts"] += 1  # the runner calls this once per attempt
        return reservation_uc.reserve(uow, services.env, ACTOR, cmd)

    def render(reservation: Reservation) -> dict[str, Any]:
        return {"id": reservation.id}

    async def call() -> str:
        attempts["calls"] += 1
        try:
            await services.runner.write(action, render, 201)
        except InsufficientStockError:
            return CONFLICT
        return OK

    return call


def reference_call(engine: AsyncEngine, quantity: int = 1) -> Call:
    """The design's reference: lock the row, check in Python, update, write the same four rows."""

    async def call() -> str:
        async with engine.begin() as conn:
            locked = select(stock).where(stock.c.sku == SKU, stock.c.location == LOCATION).with_for_update()
            row = (await conn.execute(locked)).one()
            if row.on_hand - row.reserved - row.committed < quantity:
                return CONFLICT  # leaving the block commits nothing but the lock release
            now = datetime.now(UTC)
            await conn.execute(
                update(stock)
                .where(stock.c.sku == SKU, stock.c.location == LOCATION)
                .values(reserved=stock.c.reserved + quantity, sequence=stock.c.sequence + 1, updated_at=now)
            )
            for table, rows in _reference_rows(row._mapping, quantity, now):
                await conn.execute(insert(table), rows)
        return OK

    return call


def _reference_rows(before: Any, quantity: int, now: datetime) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The rows stockd's ledger and reservation repository write for a one-line reservation."""
    reservation_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    after = {"on_hand": before["on_hand"], "reserved": before["reserved"] + quantity,
             "committed": before["committed"], "in_transit": before["in_transit"]}
    sequence = before["sequence"] + 1
    movement = {
        "event_id": event_id, "sku": SKU, "location": LOCATION, "sequence": sequence, "kind": "reserved",
        "quantity": quantity, "d_on_hand": 0, "d_reserved": quantity, "d_committed": 0, "d_in_transit": 0,
        **after, "reason": None, "reference": reservation_id, "actor": ACTOR.name, "role": ACTOR.role,
        "request_id": None, "occurred_at": now,
    }
    data = {"kind": "reserved", "quantity": quantity, "reason": None, "reference": reservation_id, **after,
            "available": after["on_hand"] - after["reserved"] - after["committed"], "actor": ACTOR.name,
            "request_id": None}
    event = Event(id=event_id, type="stock.reserved", time=now, sku=SKU, location=LOCATION, sequence=sequence,
                  data=data)
    header = {"id": reservation_id, "order_id": None, "channel": None, "status": "active",
              "expires_at": now + TTL, "created_at": now, "updated_at": now, "actor": ACTOR.name}
    return [
        (reservations, [header]),
        (reservation_lines, [{"reservation_id": reservation_id, "sku": SKU, "location": LOCATION,
                              "quantity": quantity}]),
        (movements, [movement]),
        (outbox, [{"event_id": event_id, "type": event.type, "sku": SKU, "location": LOCATION,
                   "sequence": sequence, "payload": event.envelope(), "created_at": now, "attempts": 0}]),
    ]


def http_call(client: httpx.AsyncClient) -> Call:
    body = {"lines": [{"sku": SKU, "location": LOCATION, "quantity": 1}]}

    async def call() -> str:
        response = await client.post("/v1/reservations", json=body)
        if response.status_code == 201:
            return OK
        if response.status_code == 409:
            return CONFLICT
        return f"HTTP {response.status_code}: {response.text[:200]}"

    return call


# ---------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of a process (Linux /proc); this process when pid is None."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _log_file() -> IO[bytes]:
    return tempfile.TemporaryFile(prefix="stockd-bench-server-")  # the caller closes it


def _tail(log: IO[bytes], chars: int = 2000) -> str:
    log.seek(0)
    text = log.read().decode(errors="replace")[-chars:]
    log.seek(0, os.SEEK_END)
    return text


@dataclass
class Server:
    base_url: str
    process: asyncio.subprocess.Process
    log: IO[bytes]


async def _wait_ready(server: Server, log: IO[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=2.0) as probe:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(f"stockd serve exited with {server.process.returncode}:\n{_tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if (await probe.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"stockd serve was not ready within {SERVER_START_SECONDS:.0f} s:\n{_tail(log)}")


@contextlib.asynccontextmanager
async def stockd_server(database_url: str, pool_size: int) -> AsyncIterator[Server]:
    """`stockd serve` on a free local port (schema already migrated); terminated whatever happens."""
    port = free_port()
    env = {**os.environ, "STOCKD_POOL_SIZE": str(pool_size), "STOCKD_LOG_JSON": "true",
           "STOCKD_RATE_LIMIT_PER_SECOND": "0"}
    with _log_file() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stockd.entrypoints.cli", "serve", "--database-url", database_url,
            "--host", "127.0.0.1", "--port", str(port), "--no-migrate", "--log-level", "warning",
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=env,
        )
        server = Server(f"http://127.0.0.1:{port}", process, log)
        try:
            await _wait_ready(server, log)
            yield server
        finally:
            await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        process.kill()
        await process.wait()


# ---------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Check:
    reserved: int
    reservation_rows: int
    drift: list[Drift]
    expected: int

    @property
    def passed(self) -> bool:
        return self.reserved == self.expected == self.reservation_rows and not self.drift

    def describe(self) -> str:
        drift = "none" if not self.drift else "; ".join(map(str, self.drift))
        verdict = "OK" if self.passed else "FAILED"
        return (f"reserved={self.reserved}, reservation rows={self.reservation_rows}, "
                f"successful reservations={self.expected}, drift: {drift} -> {verdict}")


async def verify(services: Stockd, expected: int) -> Check:
    async def read(uow: UnitOfWork) -> tuple[int, list[Drift]]:
        level = await uow.stock.get(SKU, LOCATION)
        return (level.reserved if level else -1), await uow.movements.drift()

    reserved, drift = await services.runner.run(read)
    async with services.engine.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(reservations))).scalar_one()
    return Check(reserved, int(rows), drift, expected)


@dataclass
class Result:
    level: str
    clients: int
    seconds: float
    ok_per_s: float
    p50_ms: float
    p99_ms: float
    ok: int
    conflicts: int
    errors: dict[str, int]
    retries: int | None
    rollbacks: int
    deadlocks: int
    bench_cpu_pct: float
    server_cpu_pct: float | None
    check_passed: bool
    reserved: int
    drift: int


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN when there is nothing to rank."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Measured:
    tally: Tally
    wall: float
    bench_cpu: float
    server_cpu: float | None = None
    retries: int | None = None


async def measure(call: Call, clients: int, opts: Options, server_pid: int | None = None) -> Measured:
    cpu_start = cpu_seconds()
    server_start = cpu_seconds(server_pid) if server_pid is not None else None
    wall_start = time.perf_counter()
    tally = await drive(call, clients, opts.warmup, opts.seconds)
    wall = time.perf_counter() - wall_start
    server_cpu = None
    if server_pid is not None and server_start is not None:
        server_cpu = cpu_seconds(server_pid) - server_start
    return Measured(tally, wall, cpu_seconds() - cpu_start, server_cpu)


async def run_level(level: str, clients: int, services: Stockd, database_url: str, opts: Options) -> Measured:
    if level == "service":
        attempts: Counter[str] = Counter()
        measured = await measure(service_call(services, attempts), clients, opts)
        measured.retries = attempts["attempts"] - attempts["calls"]
        return measured
    if level == "reference":
        measured = await measure(reference_call(services.engine), clients, opts)
        measured.retries = 0  # no retry loop: a row lock on one row cannot deadlock
        return measured
    # A channel key, as a sales channel would call; the rate limit is off so it measures the database.
    key = await services.runner.run(
        lambda uow: create_key(uow, services.env, SYSTEM, Role.CHANNEL, "bench", channel="bench")
    )
    async with stockd_server(database_url, opts.pool_size) as server:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30.0, trust_env=False,
                                     headers={"Authorization": f"Bearer {key.token}"}) as client:
            measured = await measure(http_call(client), clients, opts, server.process.pid)
        if measured.tally.errors:
            print(f"  server log (tail):\n{_tail(server.log, 4000)}", flush=True)
        return measured


async def run_scenario(level: str, clients: int, admin: PostgresAdmin, opts: Options) -> Result:
    async with fresh_database(admin) as name:
        url = admin.url_of(name)
        # The bench's own pool only seeds and verifies at the HTTP level: the server has its own.
        pool = opts.pool_size if level != "http" else 2
        services = bootstrap(Settings(database_url=url, pool_size=pool))
        try:
            await seed(services, opts.stock)
            measured = await run_level(level, clients, services, url, opts)
            check = await verify(services, measured.tally.ok_total)
        finally:
            await services.close()
        stats = await admin.transaction_stats(name)
    print(f"  check {level:<9} x{clients:<4} {check.describe()}", flush=True)
    for kind, message in measured.tally.first_error.items():
        print(f"  first {kind}: {message}", flush=True)
    return to_result(level, clients, opts, measured, check, stats)


def to_result(level: str, clients: int, opts: Options, measured: Measured, check: Check,
              stats: dict[str, int]) -> Result:
    latencies = sorted(measured.tally.latencies)
    server_cpu = None if measured.server_cpu is None else 100 * measured.server_cpu / measured.wall
    return Result(
        level=level, clients=clients, seconds=opts.seconds,
        ok_per_s=len(latencies) / opts.seconds,
        p50_ms=1000 * percentile(latencies, 0.50), p99_ms=1000 * percentile(latencies, 0.99),
        ok=measured.tally.ok_total, conflicts=measured.tally.conflicts, errors=dict(measured.tally.errors),
        retries=measured.retries, rollbacks=stats["rollbacks"], deadlocks=stats["deadlocks"],
        bench_cpu_pct=100 * measured.bench_cpu / measured.wall, server_cpu_pct=server_cpu,
        check_passed=check.passed, reserved=check.reserved, drift=len(check.drift),
    )


# ---------------------------------------------------------------------------- report

COLUMNS = ("level", "clients", "res/s", "p50 ms", "p99 ms", "ok", "409", "errors", "retries", "rollbacks",
           "deadlocks", "cpu bench", "cpu server", "check")


NOTES = """\
res/s, p50, p99: successful reservations completed in the measured window (201 at the http level)
ok: every success incl. warmup and drain, which the stock row's `reserved` must equal (check)
retries: extra runner attempts (service); none exist for reference, unobservable for http (-)
rollbacks, deadlocks: pg_stat_database for the scenario's database (a refused or retried
  transaction rolls back; so does the server's idle expiry sweep)
cpu bench / cpu server: CPU time of this process / the stockd server over the run's wall time"""


def _cells(r: Result) -> tuple[str, ...]:
    return (
        r.level, str(r.clients), f"{r.ok_per_s:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.ok),
        str(r.conflicts), str(sum(r.errors.values())), "-" if r.retries is None else str(r.retries),
        str(r.rollbacks), str(r.deadlocks), f"{r.bench_cpu_pct:.0f}%",
        "-" if r.server_cpu_pct is None else f"{r.server_cpu_pct:.0f}%", "ok" if r.check_passed else "FAILED",
    )


def table(results: list[Result]) -> str:
    rows = [COLUMNS, *(_cells(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(row: tuple[str, ...]) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(cells))

    return "\n".join([line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])])


def summary(results: list[Result], opts: Options) -> str:
    return json.dumps({
        "bench": "reserve", "sku_count": 1, "seconds": opts.seconds, "warmup": opts.warmup,
        "pool_size": opts.pool_size, "cpus": os.cpu_count(), "results": [asdict(r) for r in results],
    })


# ---------------------------------------------------------------------------- main


async def main(opts: Options) -> int:
    # Ctrl-C and SIGTERM cancel the run, so the server and the databases are still cleaned up.
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
    admin = PostgresAdmin(opts.postgres_url)
    results: list[Result] = []
    try:
        await warn_if_pool_too_big(admin, opts.pool_size)
        for level in opts.levels:
            for clients in opts.clients:
                print(f"running {level} with {clients} client(s) for {opts.warmup:g}+{opts.seconds:g} s ...",
                      flush=True)
                results.append(await run_scenario(level, clients, admin, opts))
    finally:
        await admin.close()
    print()
    print(f"one hot SKU, quantity 1 per reservation, {opts.seconds:g} s measured per row after "
          f"{opts.warmup:g} s warmup, pool_size={opts.pool_size}, {os.cpu_count()} CPUs")
    print(table(results))
    print(NOTES)
    print(summary(results, opts))
    return 0 if all(r.check_passed for r in results) else 1


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (uvicorn[standard] brings it, and the server runs on it), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run() -> None:
    opts = parse_args()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            code = runner.run(main(opts))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; server stopped and bench databases dropped", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    run()
