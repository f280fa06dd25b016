"""Tests of carbon.gpc: GPC reference numbers, classification of activities, totals.

The expected tables below are written out by hand from docs/research/gpc.md §1.2 (the GPC v1.1
sub-category table and "Totals to implement", confidence high), not derived from the code.
"""

from __future__ import annotations

import pytest

from carbon.activities import ACTIVITIES
from carbon.gpc import NOTATION_KEYS, REFS, TOTALS, classify, in_total

# docs/research/gpc.md §1.2: (scope, reporting level) of every row the library fills.
EXPECTED_REFS = {
    "I.1.1": (1, "basic"),  # I.{1,2,3,5,6}.1 fuel combustion: scope 1, BASIC
    "I.1.2": (2, "basic"),  # I.{1,2,3,5,6}.2 grid-supplied energy: scope 2, BASIC
    "I.1.3": (3, "basic+"),  # I.{1,2,3,5,6}.3 T&D losses: scope 3, BASIC+
    "I.2.1": (1, "basic"),
    "I.2.2": (2, "basic"),
    "I.2.3": (3, "basic+"),
    "I.4.4": (1, "territorial"),  # generation supplied to the grid: territorial only
    "II.1.1": (1, "basic"),  # II.{1..5}.1: scope 1, BASIC
    "II.1.2": (2, "basic"),  # II.{1..5}.2: scope 2, BASIC
    "III.1.2": (3, "basic"),  # III.x.2 generated inside, treated outside: scope 3, BASIC
    "III.2.2": (3, "basic"),
    "III.3.2": (3, "basic"),
    "III.4.2": (3, "basic"),
    "V.2": (1, "basic+"),  # AFOLU: scope 1, BASIC+
    "VI.1": (3, "other"),  # other scope 3: optional, in no total
}

# docs/research/gpc.md §1.2 "Totals to implement", restricted to the rows above:
#   BASIC       = I.{1-6}.1 + I.7.1 + I.8.1 + I.{1-6}.2 + II.{1-5}.1 + II.{1-5}.2
#                 + III.{1-4}.1 + III.{1-4}.2
#   BASIC+      = BASIC + I.{1-6}.3 + II.{1-4}.3 + IV.1 + IV.2 + V.1 + V.2 + V.3
#   territorial = every scope 1 row, including I.4.4 and III.x.3, + IV + V
#   scope2      = I.{1-6}.2 + II.{1-5}.2
BASIC = {"I.1.1", "I.1.2", "I.2.1", "I.2.2", "II.1.1", "II.1.2"} | {
    "III.1.2",
    "III.2.2",
    "III.3.2",
    "III.4.2",
}
EXPECTED_TOTALS = {
    "BASIC": BASIC,
    "BASIC+": BASIC | {"I.1.3", "I.2.3", "V.2"},
    "territorial": {"I.1.1", "I.2.1", "I.4.4", "II.1.1", "V.2"},
    "scope2": {"I.1.2", "I.2.2", "II.1.2"},
}


def test_refs_match_the_gpc_table() -> None:
    assert {ref: (r.scope, r.level) for ref, r in REFS.items()} == EXPECTED_REFS
    for ref, row in REFS.items():
        parts = ref.split(".")
        assert (row.ref, row.sector, row.subsector) == (ref, parts[0], ".".join(parts[:2]))
        assert row.name_en and row.name_zh


def test_totals_are_the_four_of_the_research_notes() -> None:
    assert set(TOTALS) == set(EXPECTED_TOTALS)


@pytest.mark.parametrize("total", sorted(EXPECTED_TOTALS))
@pytest.mark.parametrize("ref", sorted(EXPECTED_REFS))
def test_in_total_for_every_row(ref: str, total: str) -> None:
    assert in_total(ref, total) is (ref in EXPECTED_TOTALS[total])


def test_vi1_and_i44_are_kept_out_of_basic() -> None:
    # VI.1 (tap water, 'other') is in no total; I.4.4 only in the territorial one.
    assert [in_total("VI.1", t) for t in ("BASIC", "BASIC+", "territorial", "scope2")] == [
        False,
        False,
        False,
        False,
    ]
    assert [in_total("I.4.4", t) for t in ("BASIC", "BASIC+", "territorial", "scope2")] == [
        False,
        False,
        True,
        False,
    ]


def test_unknown_total_and_ref_raise() -> None:
    with pytest.raises(KeyError, match=r"Unknown total 'NET'; known: BASIC, BASIC\+, territorial"):
        in_total("I.1.2", "NET")
    with pytest.raises(KeyError, match=r"I\.9\.9"):
        in_total("I.9.9", "BASIC")


CLASSIFY = [
    # (activity, use type, GPC row)
    ("electricity.grid", "residential", "I.1.2"),
    ("electricity.grid", "office", "I.2.2"),
    ("electricity.grid", "retail", "I.2.2"),
    ("electricity.grid", "public", "I.2.2"),
    ("electricity.grid", "lighting", "I.2.2"),
    ("electricity.grid", "public_toilet", "I.2.2"),
    ("electricity.grid", None, "I.2.2"),
    ("electricity.grid", "ebike", "II.1.2"),
    ("electricity.green_certificate", "residential", "I.1.2"),
    ("electricity.green_certificate", "office", "I.2.2"),
    ("electricity.green_certificate", "ebike", "II.1.2"),
    ("heat.purchased", "residential", "I.1.2"),
    ("heat.purchased", "office", "I.2.2"),
    ("natural_gas.combustion", "residential", "I.1.1"),
    ("natural_gas.combustion", "office", "I.2.1"),
    ("natural_gas.combustion_energy", "retail", "I.2.1"),
    ("lpg.combustion", "residential", "I.1.1"),
    ("lpg.combustion_energy", "public", "I.2.1"),
    ("diesel.combustion_energy", "office", "I.2.1"),
    ("diesel.combustion_energy", "residential", "I.1.1"),
    ("diesel.mobile", None, "II.1.1"),
    ("gasoline.mobile", None, "II.1.1"),
    ("gasoline.mobile_energy", "residential", "II.1.1"),
    ("transport.vehicle_km", None, "II.1.1"),
    ("electricity.pv_exported", "residential", "I.4.4"),
    ("waste.msw.landfill", None, "III.1.2"),
    ("waste.msw.incineration", None, "III.3.2"),
    ("waste.msw.sorted_ad_incineration", None, "III.2.2"),
    ("waste.msw.sorted_ad_recycling_incineration", None, "III.2.2"),
    ("wastewater.treatment", None, "III.4.2"),
    ("water.supply", "residential", "VI.1"),
    ("water.supply", "office", "VI.1"),
    ("removal.vegetation", None, "V.2"),  # sinks: docs/research/gpc.md §1.4
]


@pytest.mark.parametrize(("activity", "use_type", "ref"), CLASSIFY)
def test_classify(activity: str, use_type: str | None, ref: str) -> None:
    assert classify(activity, use_type) == ref
    assert ref in REFS


def test_every_catalogue_activity_has_a_row_but_self_consumed_pv() -> None:
    # Self-consumed PV is not grid-supplied: it only lowers the metered grid kWh
    # (docs/research/gpc.md §1.3), so it has no row of its own.
    covered = {a for a, _, _ in CLASSIFY}
    assert set(ACTIVITIES) - covered == {"electricity.pv_self_consumed"}
    with pytest.raises(KeyError, match=r"No GPC row for activity 'electricity\.pv_self_consumed'"):
        classify("electricity.pv_self_consumed", "residential")


def test_unknown_activity_raises() -> None:
    with pytest.raises(KeyError, match=r"No GPC row for activity 'coal\.briquettes'"):
        classify("coal.briquettes", "residential")


def test_notation_keys() -> None:
    # docs/research/gpc.md §1.5: the library stores the short codes only.
    assert set(NOTATION_KEYS) == {"NO", "IE", "NE", "C"}
    assert NOTATION_KEYS["NE"] == (
        "not estimated",
        "The emissions for this activity are not estimated",
    )
