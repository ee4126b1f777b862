"""`stockd events replay`: publish past events again, for a consumer that lost its state.

Events keep their ids, so consumers that already applied them drop them (inbox); only the one that lost its
state applies them. The outbox keeps every event (published ones included), so it is the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from stockd.adapters.db.outbox import ReplayQuery, SqlEventLog
from stockd.bootstrap import Stockd

PAGE_SIZE = 500


def window(since: str, until: str | None, types: Iterable[str]) -> ReplayQuery:
    """From the command line's ISO 8601 texts; a time without a zone is UTC."""
    return ReplayQuery(_instant(since, "--since"), _instant(until, "--until") if until else None, tuple(types))


def _instant(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{option}: not an ISO 8601 date-time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def replay_events(stockd: Stockd, query: ReplayQuery, on_page: Callable[[int], None] | None = None) -> int:
    """Publish every event of the window, oldest first; returns how many."""
    log = SqlEventLog(stockd.engine)
    after_id, sent = 0, 0
    while rows := await log.page(query, after_id, PAGE_SIZE):
        await stockd.publisher.publish([row.envelope for row in rows])
        after_id, sent = rows[-1].id, sent + len(rows)
        if on_page is not None:
            on_page(len(rows))
    return sent


async def count_events(stockd: Stockd, query: ReplayQuery) -> int:
    return await SqlEventLog(stockd.engine).count(query)
