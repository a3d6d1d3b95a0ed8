from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ConflictError
from domain.llm import (
    Budget,
    BudgetLedger,
    ModelSpec,
    Usage,
    cost_of,
    estimate_messages_tokens,
    estimate_tokens,
)

PRICED = ModelSpec("openai/m", "sim", input_cost_per_token=1e-6, output_cost_per_token=2e-6)


def test_cost_uses_the_spec_prices() -> None:
    assert cost_of(Usage(1000, 500), PRICED) == pytest.approx(0.002)


def test_cost_is_unknown_without_prices() -> None:
    assert cost_of(Usage(1000, 500), ModelSpec("openai/m", "sim")) is None


def test_usage_adds_up() -> None:
    assert (Usage(1, 2) + Usage(3, 4)).total_tokens == 10


def test_token_estimate_is_a_quarter_of_the_characters_rounded_up() -> None:
    assert [estimate_tokens(t) for t in ("", "abc", "abcd", "abcde")] == [0, 1, 1, 2]


def test_message_estimate_counts_text_parts_and_overhead() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "abcd" * 10},
        {"role": "user", "content": [{"type": "text", "text": "abcd" * 5}]},
    ]
    assert estimate_messages_tokens(messages) == 3 + (4 + 10) + (4 + 5)


def test_forecast_allows_exactly_the_limit() -> None:
    budget = Budget(0.3)
    assert budget.forecast(0.1, 0.1, 0.1)
    assert not budget.forecast(0.1, 0.1, 0.11)


@given(
    limit=st.floats(0, 10),
    calls=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.booleans()), max_size=60),
)
def test_concurrent_reservations_never_overshoot_the_cap(
    limit: float, calls: list[tuple[float, float, bool]]
) -> None:
    """All calls reserve before any settles (maximal concurrency); actual <= estimate."""
    ledger = BudgetLedger(Budget(limit))
    admitted = [
        (f"c{i}", est * share)
        for i, (est, share, _) in enumerate(calls)
        if ledger.reserve(f"c{i}", est)
    ]
    assert ledger.spent + ledger.reserved <= limit + 1e-9
    for (call_id, actual), (_, _, made) in zip(admitted, calls, strict=False):
        if made:
            ledger.settle(call_id, actual)
        else:
            ledger.cancel(call_id)
        assert ledger.spent + ledger.reserved <= limit + 1e-9
    assert ledger.spent <= limit + 1e-9


def test_a_run_stops_at_its_cap() -> None:
    ledger = BudgetLedger(Budget(1.0))
    made = 0
    while ledger.reserve(f"c{made}", 0.3):
        ledger.settle(f"c{made}", 0.3)
        made += 1
    assert made == 3 and ledger.spent == pytest.approx(0.9)


def test_settling_twice_counts_once() -> None:
    ledger = BudgetLedger(Budget(1.0))
    ledger.reserve("c1", 0.2)
    assert ledger.settle("c1", 0.1) is True
    assert ledger.settle("c1", 0.1) is False
    assert ledger.spent == pytest.approx(0.1)
    assert ledger.reserved == 0.0


def test_reserving_twice_holds_once() -> None:
    ledger = BudgetLedger(Budget(1.0))
    assert ledger.reserve("c1", 0.6) and ledger.reserve("c1", 0.6)
    assert ledger.reserved == 0.6


def test_unknown_actual_cost_charges_the_estimate() -> None:
    ledger = BudgetLedger(Budget(1.0))
    ledger.reserve("c1", 0.25)
    ledger.settle("c1", None)
    assert ledger.spent == 0.25


def test_cancel_frees_the_reservation_without_charging() -> None:
    ledger = BudgetLedger(Budget(1.0))
    ledger.reserve("c1", 0.7)
    assert ledger.cancel("c1") is True
    assert (ledger.spent, ledger.reserved, ledger.remaining) == (0.0, 0.0, 1.0)


def test_reserving_a_settled_call_is_a_conflict() -> None:
    ledger = BudgetLedger(Budget(1.0))
    ledger.settle("c1", 0.1)
    with pytest.raises(ConflictError):
        ledger.reserve("c1", 0.1)
