"""Dashboard sessions (signed cookies, CSRF tokens) and the trend arithmetic, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stockd.domain.trends import LedgerPoint, SkuSales, rank_movers, sales_series, stock_series
from stockd.service_layer.sessions import SessionSigner
from tests.support.clock import FakeClock

T0 = datetime(2026, 2, 16, 10, 0, tzinfo=UTC)


def signer(clock: FakeClock, secret: bytes = b"s" * 32) -> SessionSigner:
    return SessionSigner(secret, clock, timedelta(hours=8))


def test_a_session_cookie_names_its_key_until_it_expires() -> None:
    clock = FakeClock()
    cookie, session = signer(clock).issue("key1")
    assert signer(clock).verify(cookie) == session and session.key_id == "key1"
    clock.advance(hours=8, seconds=1)
    assert signer(clock).verify(cookie) is None


def test_a_tampered_or_foreign_cookie_is_refused() -> None:
    clock = FakeClock()
    cookie, _ = signer(clock).issue("key1")
    body, signature = cookie.split(".")
    forged = body.replace(body[3], "A" if body[3] != "A" else "B") + "." + signature
    assert signer(clock).verify(forged) is None
    assert signer(clock, b"x" * 32).verify(cookie) is None, "another secret, another server"
    assert signer(clock).verify("garbage") is None and signer(clock).verify(".") is None
    with pytest.raises(ValueError, match="32 bytes"):
        signer(clock, b"short")


def test_csrf_tokens_belong_to_one_session_and_logout_ends_it() -> None:
    clock = FakeClock()
    sessions = signer(clock)
    cookie, mine = sessions.issue("key1")
    _, theirs = sessions.issue("key1")
    assert sessions.check_csrf(mine, sessions.csrf_token(mine))
    assert not sessions.check_csrf(mine, sessions.csrf_token(theirs))
    assert not sessions.check_csrf(mine, None)
    sessions.end(mine)
    assert sessions.verify(cookie) is None


def point(minutes: int, location: str, kind: str, quantity: int, d_on_hand: int, on_hand: int) -> LedgerPoint:
    return LedgerPoint(location, T0 + timedelta(minutes=minutes), kind, quantity, d_on_hand, on_hand)


def test_stock_over_time_starts_from_the_level_before_the_first_movement() -> None:
    # East received 10 (0 -> 10) then shipped 3; West held 5 all along and never moved in the window.
    points = [point(0, "E", "received", 10, 10, 10), point(30, "E", "reserved", 3, 0, 10),
              point(60, "E", "shipped", 3, -3, 7)]
    series = stock_series({"E": 7, "W": 5}, points)
    assert [v for _, v in series] == [5, 15, 15, 12]
    assert stock_series({"E": 7}, []) == []


def test_sales_per_bucket_counts_only_shipments_and_keeps_quiet_buckets() -> None:
    points = [point(5, "E", "shipped", 2, -2, 8), point(70, "E", "shipped", 1, -1, 7),
              point(80, "E", "reserved", 9, 0, 7), point(200, "E", "shipped", 4, -4, 3)]
    series = sales_series(points, T0, T0 + timedelta(hours=3), timedelta(hours=1))
    assert series == [(T0, 2), (T0 + timedelta(hours=1), 1), (T0 + timedelta(hours=2), 0)]


def test_fastest_sold_most_slowest_sit_on_the_shelf() -> None:
    sales = [SkuSales("A", "a", 10, 5), SkuSales("B", "b", 0, 100), SkuSales("C", "c", 3, 50),
             SkuSales("D", "d", 0, 0)]
    ranked = rank_movers(sales, 2)
    assert [s.sku for s in ranked.fastest] == ["A", "C"]
    assert [s.sku for s in ranked.slowest] == ["B", "C"], "D has nothing on hand: not slow, just empty"
