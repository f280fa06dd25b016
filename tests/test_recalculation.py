"""Tests of carbon.recalculation: the base-year recalculation policy.

Totals are worked by hand from the entries each test writes (docs/research/uncertainty.md §4).
"""

from __future__ import annotations

import pytest
from test_inventory import CTX, entry, frame

from carbon.recalculation import (
    RecalculationError,
    RecalculationPolicy,
    assess_recalculation,
    assess_restatement,
)

POLICY = RecalculationPolicy(2024, 0.05, "test")


def test_a_restatement_below_the_threshold_does_not_trigger() -> None:
    before = frame(entry("I.2.2", "1000.000", method="location"))
    after = frame(entry("I.2.2", "1040.000", method="location"))
    r = assess_recalculation(before, after, CTX, POLICY)
    # 1.000 t -> 1.040 t: +0.040 t = 4 % < 5 %
    assert (r.before_t, r.after_t, r.triggered) == (1.0, 1.04, False)
    assert r.change_share == pytest.approx(0.04)
    assert "below the threshold" in r.reasons[0]
    assert r.rows["I.2.2"]["after_t"] == 1.04


def test_a_significant_adjustment_triggers_and_says_why() -> None:
    e = frame(
        entry("I.2.2", "1000.000", method="location"),
        entry("I.2.2", "60.000", method="location", kind="adjustment"),
    )
    r = assess_restatement(e, CTX, POLICY)
    assert r.triggered and r.change_t == pytest.approx(0.06)
    assert "6.00% of the base year" in r.reasons[0] and "significant" in r.reasons[0]
    assert r.to_dict()["change_share"] == 0.06


def test_a_basic_row_that_becomes_estimated_triggers_whatever_its_size() -> None:
    before = frame(entry("I.2.2", "1000.000", method="location"))
    after = frame(
        entry("I.2.2", "1000.000", method="location"),
        entry("I.2.1", "1.000", activity="natural_gas.pipeline"),
    )
    r = assess_recalculation(before, after, CTX, POLICY)
    assert r.change_share == pytest.approx(0.001) and r.triggered
    assert any("I.2.1 changed from NE to a value" in why for why in r.reasons)


def test_no_base_year_in_the_entries_and_a_bad_threshold() -> None:
    e = frame(entry("I.2.2", "1.000", month="2023-05", method="location"))
    r = assess_restatement(e, CTX, POLICY)
    assert not r.in_period and not r.triggered
    with pytest.raises(RecalculationError, match="significance_threshold must be a share"):
        RecalculationPolicy(2024, 5.0)
