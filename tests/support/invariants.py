"""The check every scenario ends with (TESTING.md): the ledger, the rows, the holds and the outbox agree."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from stockd.adapters.db.tables import movements, outbox, reservation_lines, reservations, stock
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import Stockd


async def assert_invariants(services: Stockd) -> dict[tuple[str, str], dict[str, int]]:
    """Returns the stock rows so callers can assert on them too."""
    uow = services.uow()
    assert isinstance(uow, SqlUnitOfWork)
    async with uow:
        conn = uow.connection
        assert await uow.movements.drift() == [], "the ledger does not sum to the stock rows"
        rows = {
            (r.sku, r.location): {
                "on_hand": r.on_hand,
                "reserved": r.reserved,
                "committed": r.committed,
                "in_transit": r.in_transit,
                "sequence": r.sequence,
            }
            for r in await conn.execute(select(stock))
        }
        held: dict[tuple[str, str, str], int] = defaultdict(int)
        query = select(reservations.c.status, reservation_lines).join(
            reservation_lines, reservation_lines.c.reservation_id == reservations.c.id
        )
        for line in await conn.execute(query):
            held[(line.status, line.sku, line.location)] += line.quantity
        for key, row in rows.items():
            assert row["on_hand"] - row["reserved"] - row["committed"] >= 0, f"{key} oversold: {row}"
            assert min(row.values()) >= 0, f"{key} has a negative bucket: {row}"
            assert row["reserved"] == held[("active", *key)], f"{key} reserved != active holds"
            assert row["committed"] == held[("committed", *key)], f"{key} committed != committed holds"
        moved = {r.event_id: (r.sku, r.location, r.sequence) for r in await conn.execute(select(movements))}
        events = {
            r.event_id: (r.sku, r.location, r.sequence)
            for r in await conn.execute(select(outbox).where(outbox.c.sequence.is_not(None)))
        }
        assert moved == events, "every movement must have exactly its outbox event"
        per_row: dict[tuple[str, str], list[int]] = defaultdict(list)
        for sku, loc, seq in moved.values():
            per_row[(sku, loc)].append(seq)
        for key, seqs in per_row.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{key} sequence has gaps or repeats"
            assert rows[key]["sequence"] == len(seqs)
        return rows
