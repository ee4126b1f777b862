"""What a channel may be shown, and when a failed push is retried: pure rules, no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stockd.domain.channels import (
    Connector,
    check_buffer,
    check_config,
    check_min_reserve,
    retry_delay,
    sellable_quantity,
)
from stockd.domain.errors import ValidationError
from stockd.domain.stock import StockLevel


def level(location: str, on_hand: int, reserved: int = 0, frozen: bool = False) -> StockLevel:
    return StockLevel("TEE", location, on_hand=on_hand, reserved=reserved, frozen=frozen)


def test_a_buffer_is_exact_decimal_so_0_7_of_10_is_7_not_6() -> None:
    assert 0.29 * 100 < 29, "the float trap this guards against: floor would give 28"
    assert sellable_quantity([level("A", 10)], Decimal("0.7"), 0) == 7
    assert sellable_quantity([level("A", 100)], Decimal("0.29"), 0) == 29


@pytest.mark.parametrize(("buffer", "available", "expected"), [
    ("0.9", 200, 180), ("0.85", 200, 170), ("0.7", 200, 140), ("0.9", 1, 0), ("1", 7, 7), ("0", 500, 0),
    ("0.85", 11, 9),
])
def test_the_channel_sees_the_floor_of_its_share(buffer: str, available: int, expected: int) -> None:
    assert sellable_quantity([level("A", available)], Decimal(buffer), 0) == expected


def test_available_is_summed_over_the_feeding_locations_before_the_buffer() -> None:
    # floor(0.9 x (5 + 5)) = 9, where floor per location would give 4 + 4 = 8
    assert sellable_quantity([level("A", 5), level("B", 5)], Decimal("0.9"), 0) == 9
    assert sellable_quantity([level("A", 10, reserved=4), level("B", 3)], Decimal("1"), 0) == 9


def test_the_minimum_reserve_is_held_back_after_the_buffer_and_never_goes_below_zero() -> None:
    assert sellable_quantity([level("A", 100)], Decimal("0.7"), 20) == 50
    assert sellable_quantity([level("A", 20)], Decimal("0.7"), 20) == 0
    assert sellable_quantity([], Decimal("0.9"), 0) == 0


def test_a_frozen_row_at_any_feeding_location_shows_zero() -> None:
    assert sellable_quantity([level("A", 100), level("B", 50, frozen=True)], Decimal("0.9"), 0) == 0


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "NaN", "Infinity"])
def test_a_buffer_outside_0_to_1_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_buffer(Decimal(bad))
    assert check_buffer(Decimal("0.85")) == Decimal("0.8500")


def test_a_negative_reserve_is_refused() -> None:
    with pytest.raises(ValidationError):
        check_min_reserve(-1)


def test_connector_settings_are_checked_per_connector() -> None:
    assert check_config(Connector.AMAZON, {"seller_id": "A1", "marketplace_id": "M"}) == {
        "seller_id": "A1", "marketplace_id": "M"}
    with pytest.raises(ValidationError, match="marketplace_id"):
        check_config(Connector.AMAZON, {"seller_id": "A1"})
    with pytest.raises(ValidationError, match="token"):
        check_config(Connector.SHOPIFY, {"token": "secret"})  # secrets never go to the database


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    delays = [retry_delay(n, 0.25, 5.0, 1.0) for n in range(1, 10)]
    assert delays[:5] == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert max(delays) == 5.0, "a channel back after a long outage is retried within the cap"
    assert retry_delay(3, 0.25, 5.0, 0.0) == 0.5, "jitter takes at most half off"
    assert retry_delay(10_000, 0.25, 5.0, 0.5) <= 5.0
