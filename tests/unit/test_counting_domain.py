"""The pure rules of counting and webhooks: discrepancy thresholds, ABC shares, backoff, topic patterns."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from stockd.domain.counting import AbcClass, AbcPolicy, CountOutcome, CountPolicy, classify, discrepancy_pct
from stockd.domain.errors import ValidationError
from stockd.domain.webhooks import RetryPolicy, check_pattern, type_matches


@pytest.mark.parametrize(("counted", "expected", "outcome"), [
    (100, 100, CountOutcome.MATCHED), (95, 100, CountOutcome.ADJUSTED), (105, 100, CountOutcome.ADJUSTED),
    (94, 100, CountOutcome.INVESTIGATING), (90, 100, CountOutcome.INVESTIGATING), (89, 100, CountOutcome.FROZEN),
    (0, 0, CountOutcome.MATCHED), (1, 0, CountOutcome.FROZEN), (0, 3, CountOutcome.FROZEN),
])
def test_discrepancies_take_their_path_at_exact_boundaries(counted: int, expected: int,
                                                           outcome: CountOutcome) -> None:
    assert CountPolicy().judge(counted, expected) is outcome


def test_discrepancy_percent_and_the_nothing_expected_case() -> None:
    assert discrepancy_pct(92, 100) == Decimal("8.0000")
    assert discrepancy_pct(1, 3) == Decimal("66.6667")
    assert discrepancy_pct(5, 0) is None


def test_abc_shares_and_no_sales() -> None:
    # Ranked 150, 100, 100, 50 of 400: revenue ranked before each is 0%, 37.5%, 62.5%, 87.5%.
    revenue = {"A1": Decimal(150), "B1": Decimal(100), "C1": Decimal(100), "C2": Decimal(50), "Z": Decimal(0)}
    assert classify(revenue, AbcPolicy()) == {"A1": AbcClass.A, "B1": AbcClass.B, "C1": AbcClass.C,
                                              "C2": AbcClass.C, "Z": AbcClass.C}
    wide = AbcPolicy(Decimal("0.5"), Decimal("0.3"))
    assert classify(revenue, wide)["B1"] is AbcClass.A and classify(revenue, wide)["C1"] is AbcClass.B
    assert set(classify({"X": Decimal(0)}, AbcPolicy()).values()) == {AbcClass.C}
    with pytest.raises(ValidationError):
        AbcPolicy(Decimal("0.8"), Decimal("0.3"))


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base=timedelta(seconds=5), cap=timedelta(minutes=1))
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 60]
    assert policy.delay(99) == timedelta(minutes=1)


def test_event_patterns() -> None:
    assert type_matches("alert.*", "alert.raised") and not type_matches("alert.*", "po.created")
    assert type_matches("#", "stock.reserved") and type_matches("po.created", "po.created")
    with pytest.raises(ValidationError):
        check_pattern("alert..raised")
